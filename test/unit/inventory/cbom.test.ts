import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { beforeAll, describe, expect, it } from 'vitest';
import { groupsSeen, inventoryCbom } from '../../../src/inventory/cbom.js';
import type { EndpointReading } from '../../../src/endpoints/results.js';
import { buildInventory } from '../../../src/inventory/build.js';
import { secretSource } from '../../../src/inventory/sources/read.js';
import { ThresholdResolver } from '../../../src/inventory/thresholds.js';
import type { Inventory } from '../../../src/inventory/model.js';
import { CORRUPT_PEM } from '../../support/inventory-fixtures.js';
import { TEST_NOW, makeTestCa } from '../../support/pki.js';
import { secretOf, summary, testWorld } from './world.js';

// The CBOM is checked against CycloneDX's own 1.6 JSON schema (shipped with
// the library, strict: no unknown properties), not against our idea of it.

let inventory: Inventory;
beforeAll(async () => {
  const w = await testWorld();
  const rsa = await makeTestCa({ algorithm: 'RSA', size: 2048, commonName: 'rsa CA', slot: 120 });
  const p12 = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'keystores', 'truststore-empty-password.p12'));
  inventory = buildInventory({
    now: TEST_NOW,
    secrets: [secretOf(w.fine, { namespace: 'shop', name: 'web-tls' }), summary({ namespace: 'shop', name: 'broken', crt: CORRUPT_PEM, key: w.fine.keyPem }), summary({ namespace: 'shop', name: 'rsa', crt: rsa['tls.crt'], key: rsa['tls.key'] })],
    certificates: [],
    thresholds: new ThresholdResolver({ policies: [], namespaceLabels: () => ({}) }),
    sources: [secretSource({ metadata: { name: 'java', namespace: 'shop' }, data: { 'truststore.p12': p12.toString('base64') } })].filter((s) => s !== undefined),
  });
}, 60_000);

const cryptoOf = (bom: Record<string, unknown>, ref: string): Record<string, unknown> | undefined =>
  (bom.components as { 'bom-ref': string; cryptoProperties?: Record<string, unknown> }[]).find((c) => c['bom-ref'] === ref)?.cryptoProperties;

describe('inventoryCbom', () => {
  it('validates against the CycloneDX 1.6 JSON schema (strict)', async () => {
    const bom = inventoryCbom(inventory, { now: TEST_NOW, version: '0.1.0' });
    expect(bom.specVersion).toBe('1.6');
    const error: unknown = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(JSON.stringify(bom));
    expect(error).toBeNull();
  });

  it('the validator catches a document that is wrong (so the check above can fail)', async () => {
    const bom = inventoryCbom(inventory, { now: TEST_NOW, version: '0.1.0' });
    const [first] = bom.components as Record<string, unknown>[];
    if (first !== undefined) first.cryptoProperties = { assetType: 'certificate', certificateProperties: { notValidAfter: 'soon' } };
    const error: unknown = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(JSON.stringify(bom));
    expect(error).not.toBeNull();
  });

  it('holds each certificate, its public key and algorithms, linked by dependencies', () => {
    const bom = inventoryCbom(inventory, { now: TEST_NOW, version: '0.1.0' });
    const certs = (bom.components as { 'bom-ref': string; name: string }[]).filter((c) => c['bom-ref'].startsWith('certificate:'));
    // web-tls's leaf, the RSA CA, and the trust store's CA; the corrupt Secret has none.
    expect(certs.map((c) => c.name).sort()).toEqual(['Keystore Test CA', 'fine', 'rsa CA']);
    const rsa = certs.find((c) => c.name === 'rsa CA');
    const props = cryptoOf(bom, rsa?.['bom-ref'] ?? '') as { certificateProperties: { signatureAlgorithmRef: string; subjectPublicKeyRef: string; notValidAfter: string } };
    expect(props.certificateProperties.signatureAlgorithmRef).toBe('algorithm:SHA256-RSA');
    const key = cryptoOf(bom, props.certificateProperties.subjectPublicKeyRef) as { relatedCryptoMaterialProperties: { type: string; size: number; algorithmRef: string } };
    expect(key.relatedCryptoMaterialProperties).toMatchObject({ type: 'public-key', size: 2048, algorithmRef: 'algorithm:RSA-2048' });
    expect(cryptoOf(bom, 'algorithm:RSA-2048')).toMatchObject({ assetType: 'algorithm', algorithmProperties: { primitive: 'pke', classicalSecurityLevel: 112, nistQuantumSecurityLevel: 0 }, oid: '1.2.840.113549.1.1.1' });
    expect(cryptoOf(bom, 'algorithm:ECDSA-P256')).toMatchObject({ algorithmProperties: { primitive: 'signature', curve: 'secp256r1', classicalSecurityLevel: 128 } });
    const deps = bom.dependencies as { ref: string; dependsOn?: string[] }[];
    expect(deps.find((d) => d.ref === rsa?.['bom-ref'])?.dependsOn?.sort()).toEqual(['algorithm:SHA256-RSA', props.certificateProperties.subjectPublicKeyRef].sort());
    expect(JSON.stringify(bom)).not.toContain('PRIVATE KEY');
  });

  it('lists the TLS versions endpoints accepted as protocol components, and still validates', async () => {
    const bom = inventoryCbom(inventory, { now: TEST_NOW, version: '0.1.0', protocols: [{ version: 'TLSv1.3', endpoints: ['shop/web:443@10.0.0.1'] }, { version: 'TLSv1.2', endpoints: ['shop/web:443@10.0.0.1'] }] });
    expect(cryptoOf(bom, 'protocol:TLSv1.3')).toEqual({ assetType: 'protocol', protocolProperties: { type: 'tls', version: '1.3' } });
    const error: unknown = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(JSON.stringify(bom));
    expect(error).toBeNull();
  });

  it('lists the key exchange groups endpoints chose as algorithms: ML-KEM hybrids as KEMs with their NIST level, the rest as key agreement', async () => {
    const groups = [
      { name: 'X25519MLKEM768', endpoints: ['shop/web:443@10.0.0.1'] },
      { name: 'SecP384r1MLKEM1024', endpoints: ['shop/api:443@10.0.0.2'] },
      { name: 'x25519', endpoints: ['shop/old:443@10.0.0.3'] },
    ];
    const bom = inventoryCbom(inventory, { now: TEST_NOW, version: '0.1.0', groups });
    expect(cryptoOf(bom, 'group:X25519MLKEM768')).toMatchObject({ assetType: 'algorithm', algorithmProperties: { primitive: 'kem', parameterSetIdentifier: '768', nistQuantumSecurityLevel: 3 } });
    expect(cryptoOf(bom, 'group:SecP384r1MLKEM1024')).toMatchObject({ algorithmProperties: { primitive: 'kem', nistQuantumSecurityLevel: 5 } });
    expect(cryptoOf(bom, 'group:x25519')).toMatchObject({ algorithmProperties: { primitive: 'key-agree', nistQuantumSecurityLevel: 0 } });
    const component = (bom.components as { 'bom-ref'?: string; properties?: { name: string; value: string }[] }[]).find((c) => c['bom-ref'] === 'group:X25519MLKEM768');
    expect(component?.properties).toEqual([{ name: 'certkeeper:endpoint', value: 'shop/web:443@10.0.0.1' }]);
    const error: unknown = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(JSON.stringify(bom));
    expect(error).toBeNull();
  });

  it('reads the groups from the operator\'s readings: the browser offer\'s choice, once per endpoint, none without a full TLS 1.3 scan', () => {
    const reading = (address: string, browserChoice?: string) =>
      ({
        target: { namespace: 'shop', service: 'web', port: 443, address },
        result: { postQuantum: browserChoice === undefined ? undefined : { readiness: 'ready', browserChoice } },
      }) as unknown as EndpointReading;
    expect(groupsSeen([reading('10.0.0.1', 'X25519MLKEM768'), reading('10.0.0.2', 'X25519MLKEM768'), reading('10.0.0.3', 'x25519'), reading('10.0.0.4')])).toEqual([
      { name: 'X25519MLKEM768', endpoints: ['shop/web:443@10.0.0.1', 'shop/web:443@10.0.0.2'] },
      { name: 'x25519', endpoints: ['shop/web:443@10.0.0.3'] },
    ]);
  });
});
