/**
 * Certificates outside TLS Secrets, and who uses them, against the real API
 * server: a webhook's caBundle, a PKCS#12 keystore and a PEM file in Opaque
 * Secrets, a trust bundle in an opted-in ConfigMap (and one not opted in),
 * a Pod and an Ingress using them. Each must show in /inventory with its
 * kind and consumers, in /metrics, and in `certkeeper inventory --consumers`,
 * which reads the cluster itself.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { AdmissionregistrationV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { REPO_ROOT } from '../../hack/env/tools.js';
import type { InventoryJson } from '../../src/inventory/json.js';
import { KEYSTORE_PASSWORD_KEY_ANNOTATION } from '../../src/inventory/sources/read.js';
import { metricSample } from '../support/alertmanager.js';
import { startTestOperator, uniqueSuffix } from '../support/certkeeper.js';
import { signedLeaf, type Leaf } from '../support/inventory-fixtures.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';
import { installStandInCrds, standInCrd } from '../support/stand-in-crds.js';
import { DAY_MS, makeTestCa, type TestCa } from '../support/pki.js';

const run = promisify(execFile);
const GATEWAY_CRD = standInCrd('gateway.networking.k8s.io', 'Gateway', { 'api-approved.kubernetes.io': 'unapproved, certkeeper test stand-in' });
const BUNDLE_LABEL = 'certkeeper.dev/inventory-sources-test';
const suffix = uniqueSuffix();
const webhookName = `inventory-${suffix}.certkeeper.dev`;
const p12 = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'keystores', 'modern-aes.p12'));

let operator: OperatorProcess;
let ns: string;
let ca: TestCa;
let expiring: Leaf;

beforeAll(async () => {
  ca = await makeTestCa({ commonName: 'sources it CA', notBefore: new Date(Date.now() - DAY_MS), durationMs: 400 * DAY_MS, slot: 310 });
  expiring = await signedLeaf(ca, { commonName: 'webhook-ca', dnsNames: ['webhook.sources.example'], notBefore: new Date(Date.now() - 80 * DAY_MS), durationMs: 90 * DAY_MS, slot: 311 });
  // A stand-in Gateway API CRD, so Gateways can be consumers here (the operator only reads them).
  await installStandInCrds([GATEWAY_CRD], 'Gateway CRD');
  operator = await startTestOperator('inventory-sources', { env: { CERTKEEPER_INVENTORY_CONFIGMAP_SELECTOR: `${BUNDLE_LABEL}=yes`, CERTKEEPER_INVENTORY_CONSUMERS: 'pods,ingresses,gateways' } });
  const kube = testKube();
  ns = (await createTestNamespace('sources')).name;
  await kube.core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'java-keystore', annotations: { [KEYSTORE_PASSWORD_KEY_ANNOTATION]: 'password' } }, type: 'Opaque', data: { 'keystore.p12': p12.toString('base64'), password: Buffer.from('changeit').toString('base64') } },
  });
  await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'app-pem' }, type: 'Opaque', stringData: { 'server.pem': expiring.certPem + expiring.keyPem } } });
  await kube.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'trust', labels: { [BUNDLE_LABEL]: 'yes' } }, data: { 'ca-bundle.crt': ca['tls.crt'] } } });
  await kube.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'not-opted-in' }, data: { 'ca.crt': ca['tls.crt'] } } });
  await kube.kubeconfig.makeApiClient(AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: {
      metadata: { name: webhookName },
      // Intercepts a group nobody uses, and is ignored when down: harmless to the other tests on this API server.
      webhooks: [
        {
          name: webhookName,
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          failurePolicy: 'Ignore',
          clientConfig: { url: 'https://127.0.0.1:1/never', caBundle: Buffer.from(expiring.certPem).toString('base64') },
          rules: [{ apiGroups: ['sources-test.certkeeper.dev'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['nothing'] }],
        },
      ],
    },
  });
  // No controller-manager makes the default ServiceAccount here; a Pod object needs one (no kubelet runs it: the reference is what counts).
  await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'default' } } });
  await kube.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: 'java-app' },
      spec: {
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'app', envFrom: [{ configMapRef: { name: 'trust' } }] }],
        volumes: [{ name: 'keystore', projected: { sources: [{ secret: { name: 'java-keystore' } }] } }],
      },
    },
  });
  await kube.kubeconfig.makeApiClient(NetworkingV1Api).createNamespacedIngress({
    namespace: ns,
    body: { metadata: { name: 'front' }, spec: { tls: [{ secretName: 'app-pem' }], defaultBackend: { service: { name: 'front', port: { number: 443 } } } } },
  });
  // A Gateway in a namespace of its own, serving the Secret across namespaces.
  const gateways = (await createTestNamespace('sources-gw')).name;
  await kube.customObjects.createNamespacedCustomObject({
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    namespace: gateways,
    plural: 'gateways',
    body: {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'public' },
      spec: { gatewayClassName: 'none', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ kind: 'Secret', name: 'app-pem', namespace: ns }] } }] },
    },
  });
}, 120_000);

afterAll(async () => {
  await operator?.process.stop();
  await testKube()
    .kubeconfig.makeApiClient(AdmissionregistrationV1Api)
    .deleteMutatingWebhookConfiguration({ name: webhookName })
    .catch(() => undefined);
  await testKube().apiextensions.deleteCustomResourceDefinition({ name: GATEWAY_CRD.metadata.name }).catch(() => undefined);
});

/** "kind/namespace/name#key <- consumers" for every bundle location in the JSON. */
function bundleLocations(json: InventoryJson): string[] {
  return json.entries.flatMap((e) =>
    e.locations.flatMap((l) => (l.type === 'bundle' ? [`${l.kind}/${l.namespace ?? ''}/${l.name}#${l.key} <- ${(l.consumers?.consumers ?? []).map((c) => `${c.kind}/${c.name}:${c.via}`).join(',')}`] : [])),
  );
}

const EXPECTED = () => [
  `secret_pkcs12/${ns}/java-keystore#keystore.p12 <- Pod/java-app:projected`,
  `secret_pem/${ns}/app-pem#server.pem <- Gateway/public:certificateRef,Ingress/front:tls`,
  `configmap/${ns}/trust#ca-bundle.crt <- Pod/java-app:env`,
  `mutating_webhook//${webhookName}#${webhookName} <- `,
];

describe('inventory sources and consumers', () => {
  it('/inventory lists each source with its kind and who uses it, and leaves out ConfigMaps not opted in', async () => {
    const json = await waitFor(
      async ({ observe }) => {
        const all = (await (await fetch(`${operator.url}/inventory`)).json()) as InventoryJson;
        const found = bundleLocations(all);
        observe(found.filter((f) => f.includes(ns) || f.includes(webhookName)));
        return EXPECTED().every((e) => found.includes(e)) ? all : undefined;
      },
      { description: 'every source with its consumers in /inventory', timeoutMs: 30_000 },
    );
    expect(bundleLocations(json).some((l) => l.includes('not-opted-in'))).toBe(false);
    // The keystore's two certificates, the leaf with its friendlyName; no trace of the password or a key.
    const keystore = json.entries.filter((e) => e.locations.some((l) => l.type === 'bundle' && l.name === 'java-keystore'));
    expect(keystore.map((e) => e.commonName).sort()).toEqual(['Keystore Test CA', 'ec.keystore.example']);
    const text = JSON.stringify(json);
    expect(text).not.toContain('changeit');
    expect(text).not.toContain('PRIVATE KEY');
    // The webhook's CA expires in 10 days: expiring.
    expect(json.entries.find((e) => e.locations.some((l) => l.type === 'bundle' && l.name === webhookName))?.primaryProblem).toBe('expiring');
  });

  it('/metrics has the earliest expiry of each source location, labelled with its kind', async () => {
    const metrics = await (await fetch(`${operator.url}/metrics`)).text();
    const webhook = metricSample(metrics, 'certkeeper_source_certificate_expiration_timestamp_seconds', { kind: 'mutating_webhook', name: webhookName, key: webhookName });
    expect(webhook).toBeCloseTo((Date.now() + 10 * DAY_MS) / 1000, -3);
    expect(metricSample(metrics, 'certkeeper_source_certificate_expiration_timestamp_seconds', { kind: 'secret_pkcs12', namespace: ns, name: 'java-keystore', key: 'keystore.p12' })).toBeGreaterThan(Date.now() / 1000);
    expect(metricSample(metrics, 'certkeeper_namespace_expiry_alert_threshold_seconds', { namespace: ns, severity: 'warning' })).toBe(21 * 86_400);
  });

  it('certkeeper inventory --consumers reads the same from the cluster, as JSON and as a table', async () => {
    const args = ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts'), 'inventory', '--consumers', '--configmap-selector', `${BUNDLE_LABEL}=yes`, '--kubeconfig', inject('kubeconfigPath')];
    const json = JSON.parse((await run(process.execPath, [...args, '-o', 'json'], { cwd: REPO_ROOT, timeout: 60_000 })).stdout) as InventoryJson;
    expect(bundleLocations(json)).toEqual(expect.arrayContaining(EXPECTED()));
    const table = (await run(process.execPath, [...args, '-n', ns], { cwd: REPO_ROOT, timeout: 60_000 })).stdout;
    expect(table).toContain('USED BY');
    expect(table).toMatch(/secret_pem [^\n]*app-pem \(server\.pem\)\s+Gateway [^\n]*\/public, Ingress [^\n]*\/front/);
  });

  it('certkeeper inventory -o cyclonedx writes a CBOM the CycloneDX 1.6 schema accepts, with the sources\u2019 certificates in it', async () => {
    const args = ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts'), 'inventory', '-n', ns, '-o', 'cyclonedx', '--kubeconfig', inject('kubeconfigPath')];
    const text = (await run(process.execPath, args, { cwd: REPO_ROOT, timeout: 60_000 })).stdout;
    const error: unknown = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(text);
    expect(error).toBeNull();
    const bom = JSON.parse(text) as { components: { name: string; 'bom-ref': string; properties?: { name: string; value: string }[] }[] };
    const keystoreLeaf = bom.components.find((c) => c.name === 'ec.keystore.example');
    expect(keystoreLeaf?.properties).toEqual(expect.arrayContaining([{ name: 'certkeeper:location', value: `secret_pkcs12/${ns}/java-keystore#keystore.p12` }]));
  });
});
