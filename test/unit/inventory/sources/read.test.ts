import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildInventory } from '../../../../src/inventory/build.js';
import { SourceKind, locationName } from '../../../../src/inventory/model.js';
import {
  apiServiceSource,
  configMapSource,
  crdConversionSource,
  DEFAULT_SOURCE_LIMITS,
  KEYSTORE_PASSWORD_KEY_ANNOTATION,
  pemCertificates,
  secretSource,
  webhookConfigurationSource,
} from '../../../../src/inventory/sources/read.js';
import { ThresholdResolver } from '../../../../src/inventory/thresholds.js';
import { CORRUPT_PEM } from '../../../support/inventory-fixtures.js';
import { TEST_NOW } from '../../../support/pki.js';
import { testWorld } from '../world.js';

const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
const keystores = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'keystores');

describe('inventory sources', () => {
  it('reads the caBundle of every webhook, naming each', async () => {
    const w = await testWorld();
    const source = webhookConfigurationSource(SourceKind.ValidatingWebhook, {
      metadata: { name: 'policy-engine' },
      webhooks: [
        { name: 'validate.policy.example', clientConfig: { caBundle: b64(w.ca['tls.crt']) } },
        { name: 'no-bundle.policy.example', clientConfig: {} },
        { name: 'broken.policy.example', clientConfig: { caBundle: b64(CORRUPT_PEM) } },
      ],
    });
    expect(source?.namespace).toBeUndefined();
    expect(source?.items.map((i) => [i.kind, i.key, i.certificates.length, i.error === undefined])).toEqual([
      ['validating_webhook', 'validate.policy.example', 1, true],
      ['validating_webhook', 'broken.policy.example', 0, false],
    ]);
    expect(source?.items[0]?.certificates[0]?.facts.commonName).toBe('inventory test CA');
  });

  it('reads APIService and CRD conversion caBundles, and nothing from objects without one', async () => {
    const w = await testWorld();
    expect(apiServiceSource({ metadata: { name: 'v1beta1.metrics.k8s.io' }, spec: { caBundle: b64(w.ca['tls.crt']) } })?.items[0]?.kind).toBe('api_service');
    expect(apiServiceSource({ metadata: { name: 'v1.' }, spec: {} })).toBeUndefined();
    const crd = crdConversionSource({ metadata: { name: 'widgets.example.com' }, spec: { conversion: { webhook: { clientConfig: { caBundle: b64(w.ca['tls.crt']) } } } } });
    expect(crd?.items.map((i) => [i.kind, i.key])).toEqual([['crd_conversion', 'spec.conversion.webhook']]);
  });

  it('finds PEM in ConfigMaps and Opaque Secrets, skipping keys and unrelated values', async () => {
    const w = await testWorld();
    const cm = configMapSource({ metadata: { name: 'trust', namespace: 'shop' }, data: { 'ca-bundle.crt': w.ca['tls.crt'] + w.fine.certPem, 'app.properties': 'x=1' } });
    expect(cm?.items.map((i) => [i.kind, i.key, i.certificates.length])).toEqual([['configmap', 'ca-bundle.crt', 2]]);
    const secret = secretSource({ metadata: { name: 'app', namespace: 'shop' }, type: 'Opaque', data: { 'server.pem': b64(w.fine.keyPem + w.fine.certPem), password: b64('hunter2') } });
    expect(secret?.items.map((i) => [i.kind, i.key, i.certificates.length])).toEqual([['secret_pem', 'server.pem', 1]]);
    expect(JSON.stringify(secret)).not.toContain('PRIVATE KEY');
    expect(secretSource({ metadata: { name: 'none', namespace: 'shop' }, data: { token: b64('abc') } })).toBeUndefined();
  });

  it('opens PKCS#12 with the password key the annotation names, or an empty one, and says why not', () => {
    const p12 = readFileSync(join(keystores, 'modern-aes.p12'));
    const withPassword = secretSource({
      metadata: { name: 'keystore', namespace: 'java', annotations: { [KEYSTORE_PASSWORD_KEY_ANNOTATION]: 'keystore-password' } },
      data: { 'keystore.p12': p12.toString('base64'), 'keystore-password': b64('changeit\n') },
    });
    expect(withPassword?.items.map((i) => [i.kind, i.key, i.certificates.length, i.error])).toEqual([['secret_pkcs12', 'keystore.p12', 2, undefined]]);
    expect(withPassword?.items[0]?.certificates.map((c) => c.alias)).toContain('web');
    const without = secretSource({ metadata: { name: 'keystore', namespace: 'java' }, data: { 'keystore.pfx': p12.toString('base64') } });
    expect(without?.items[0]?.error).toMatch(/wrong password/);
    const missing = secretSource({ metadata: { name: 'keystore', namespace: 'java', annotations: { [KEYSTORE_PASSWORD_KEY_ANNOTATION]: 'nope' } }, data: { 'a.p12': p12.toString('base64') } });
    expect(missing?.items[0]?.error).toMatch(/password key "nope".*missing/);
    expect(JSON.stringify([withPassword, without, missing])).not.toContain('changeit');
    const empty = secretSource({ metadata: { name: 'trust', namespace: 'java' }, data: { 'truststore.p12': readFileSync(join(keystores, 'truststore-empty-password.p12')).toString('base64') } });
    expect(empty?.items[0]?.certificates).toHaveLength(1);
  });

  it('reads JKS trust stores from Secrets and ConfigMap binaryData', () => {
    const jks = readFileSync(join(keystores, 'truststore.jks')).toString('base64');
    expect(secretSource({ metadata: { name: 'trust', namespace: 'java' }, data: { 'cacerts.jks': jks } })?.items[0]?.kind).toBe('secret_jks');
    const cm = configMapSource({ metadata: { name: 'trust', namespace: 'java' }, binaryData: { 'truststore.jks': jks } });
    expect(cm?.items.map((i) => [i.kind, i.certificates[0]?.alias])).toEqual([['configmap', 'test-ca']]);
  });

  it('is bounded: certificates per item, items per object, bytes per value', async () => {
    const w = await testWorld();
    const limits = { ...DEFAULT_SOURCE_LIMITS, maxCertificatesPerItem: 2, maxItemsPerObject: 3, maxValueBytes: 4096 };
    const parsed = pemCertificates(w.ca['tls.crt'].repeat(3), 'bundle', limits);
    expect([parsed.certificates.length, parsed.omitted]).toEqual([2, 1]);
    const data = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`ca-${i}.crt`, w.ca['tls.crt']]));
    expect(configMapSource({ metadata: { name: 'many', namespace: 'x' }, data }, limits)?.items).toHaveLength(3);
    expect(pemCertificates(w.ca['tls.crt'].padEnd(5000, '#'), 'huge', limits).error).toMatch(/at most 4096/);
  });

  it('lands in the inventory as locations of their kind, with cluster-scoped ones unnamespaced', async () => {
    const w = await testWorld();
    const inventory = buildInventory({
      now: TEST_NOW,
      secrets: [],
      certificates: [],
      thresholds: new ThresholdResolver({ policies: [], namespaceLabels: () => ({}) }),
      sources: [
        webhookConfigurationSource(SourceKind.MutatingWebhook, { metadata: { name: 'injector' }, webhooks: [{ name: 'inject.example', clientConfig: { caBundle: b64(w.expiring.certPem) } }] }),
        configMapSource({ metadata: { name: 'trust', namespace: 'shop' }, data: { 'ca.crt': w.expiring.certPem } }),
        configMapSource({ metadata: { name: 'broken', namespace: 'shop' }, data: { 'ca.crt': CORRUPT_PEM } }),
      ].filter((s) => s !== undefined),
    });
    const expiring = inventory.entries.find((e) => e.certificate?.dnsNames.includes('expiring.example.com') === true);
    expect(expiring?.locations.map(locationName)).toEqual(['mutating_webhook/injector#inject.example', 'configmap/shop/trust#ca.crt']);
    expect(expiring?.primaryProblem).toBe('expiring');
    const broken = inventory.entries.find((e) => e.id.startsWith('bundle:'));
    expect([broken?.id, broken?.primaryProblem]).toEqual(['bundle:configmap/shop/broken#ca.crt', 'unparsable']);
  });
});
