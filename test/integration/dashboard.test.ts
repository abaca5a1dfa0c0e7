/**
 * The chart's Grafana dashboard, query by query, against a real Prometheus
 * (Debian's) scraping a real operator: every panel's PromQL must be accepted
 * and return series carrying the labels its legend names. The operator has
 * something to show for each panel: a CA-issued Certificate whose endpoint (a
 * "pod" in a network namespace) serves another certificate (stale) and is
 * graded by a TLSPolicy, an ACME Certificate from the environment's Pebble
 * (issuance and ACME requests), an unmanaged TLS Secret and a PEM file in an
 * Opaque Secret.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestNetwork, type TestNetwork } from '../../hack/env/netns.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { promQuery, startPrometheus, type PromSeries, type RunningPrometheus } from '../../hack/env/prometheus.js';
import { REPO_ROOT } from '../../hack/env/tools.js';
import { INTERMEDIATE_TLS } from '../../hack/tls/fixtures.js';
import { startNetnsNginx, type NetnsNginx } from '../../hack/tls/netns-nginx.js';
import { createTlsTestPki, issueServerCertificate } from '../../hack/tls/server-pki.js';
import { acmeIssuer, sharedPebbleOperatorOptions, startAcmeOperator } from '../support/acme.js';
import { createCaSecret, createCertificate, createPolicy, deletePolicy, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { createServiceWithEndpoints } from '../support/endpoints.js';
import { signedLeaf, tlsSecret } from '../support/inventory-fixtures.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';
import { DAY_MS, makeTestCa } from '../support/pki.js';

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
}
interface Panel {
  title: string;
  targets: Target[];
}

const suffix = uniqueSuffix();
const policies: string[] = [];
let operator: OperatorProcess;
let prometheus: RunningPrometheus;
let network: TestNetwork;
let nginx: NetnsNginx;
let dir: string;
let ns: string;
let panels: Panel[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-dashboard-'));
  panels = (JSON.parse(await readFile(join(REPO_ROOT, 'charts', 'certkeeper', 'dashboards', 'certkeeper.json'), 'utf8')) as { panels: Panel[] }).panels;
  operator = await startAcmeOperator('dashboard', sharedPebbleOperatorOptions());
  ns = (await createTestNamespace('dashboard')).name;

  // A CA policy that also grades every Service of the namespace, and a Certificate listing the Service as its endpoint.
  const caSecret = `dashboard-ca-${suffix}`;
  await createCaSecret(caSecret);
  const ca = `dashboard-ca-${suffix}`;
  policies.push(ca);
  await createPolicy(ca, { issuer: { ca: { secretName: caSecret } }, trustUnmanagedEndpointSlices: true, endpoints: { serviceSelector: {}, interval: '1m', profile: 'intermediate' } });
  await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: [`web.${ns}.svc`], policyRef: { name: ca }, endpoints: [{ service: 'web', port: 443 }] });
  // The "pod" serves a certificate of its own, not web-tls's: a stale endpoint, and graded like any.
  network = await createTestNetwork({ addresses: 1, label: 'dashboard.test' });
  const served = await issueServerCertificate({ dnsNames: [`web.${ns}.svc`], key: 'ECDSA-256', issuer: (await createTlsTestPki()).ecdsaIntermediate });
  nginx = await startNetnsNginx({ network, name: `dashboard-${suffix}`, baseDir: dir, addresses: network.addresses, port: 443, certificate: served, tls: INTERMEDIATE_TLS });
  await createServiceWithEndpoints(ns, 'web', { ports: [{ name: 'https', port: 443 }], addresses: network.addresses });

  // An ACME Certificate from the environment's Pebble: issuances and requests to a CA.
  const acme = `dashboard-acme-${suffix}`;
  policies.push(acme);
  await createPolicy(acme, { issuer: { acme: acmeIssuer(inject('acme').directoryUrl) } });
  await createCertificate(ns, 'public', { secretName: 'public-tls', dnsNames: [`public-${suffix}.dashboard.test`], policyRef: { name: acme } });

  // Certificates nobody renews: a TLS Secret and a PEM file in an Opaque Secret.
  const other = await makeTestCa({ commonName: 'dashboard other CA', notBefore: new Date(Date.now() - DAY_MS), slot: 320 });
  const leaf = await signedLeaf(other, { commonName: 'legacy', dnsNames: ['legacy.dashboard.test'], notBefore: new Date(Date.now() - DAY_MS), durationMs: 30 * DAY_MS, slot: 321 });
  await testKube().core.createNamespacedSecret({ namespace: ns, body: tlsSecret({ namespace: ns, name: 'legacy-tls', crt: leaf.certPem, key: leaf.keyPem }) });
  await testKube().core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'bundle' }, type: 'Opaque', stringData: { 'ca.pem': other['tls.crt'] } } });

  await waitForCondition(ns, 'web', { status: 'True' });
  await waitForCondition(ns, 'public', { status: 'True' }, 60_000);
  await waitForCondition(ns, 'web', { type: 'EndpointsVerified', status: 'False', reason: 'StaleCertificate' }, 60_000);

  prometheus = await startPrometheus({ dir, jobs: { certkeeper: [new URL(operator.url).host] } });
}, 300_000);

afterAll(async () => {
  await prometheus?.stop();
  await operator?.process.stop();
  await nginx?.stop();
  await network?.teardown();
  for (const p of policies) await deletePolicy(p);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The labels a legend names ("{{namespace}}/{{name}}" -> namespace, name). */
function legendLabels(legend: string | undefined): string[] {
  return [...(legend ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] ?? '').filter((l) => l !== '');
}

/** Which of this test's objects a target's series must include (by a label value), where the query is per object. */
function mine(series: PromSeries[]): PromSeries[] {
  return series.filter((s) => s.metric.namespace === ns || s.metric.kind !== undefined || s.metric.problem !== undefined || s.metric.action !== undefined);
}

describe('the Grafana dashboard', () => {
  it('has the panels the chart promises', () => {
    expect(panels.map((p) => p.title)).toEqual([
      'Certificates by problem',
      'Expiry timeline: time left per Certificate',
      'Soonest expiring: unmanaged Secrets and other sources',
      'Renewal failures',
      'Issuance rate',
      'Endpoint grades',
      'Stale endpoints',
      'Post-quantum key exchange',
    ]);
  });

  it('every query returns series with the labels its legend shows, from a real Prometheus scraping the operator', async () => {
    const results: string[] = [];
    for (const panel of panels) {
      for (const target of panel.targets) {
        const expr = target.expr.replaceAll('$job', 'certkeeper');
        const wanted = legendLabels(target.legendFormat);
        const series = await waitFor(
          async ({ observe }) => {
            const found = mine(await promQuery(prometheus.url, expr));
            observe(found.map((s) => s.metric));
            return found.length > 0 && found.every((s) => wanted.every((l) => s.metric[l] !== undefined)) ? found : undefined;
          },
          { description: `"${panel.title}" ${target.refId}: ${expr} to return series labelled ${wanted.join(', ')}`, timeoutMs: 60_000 },
        );
        results.push(`${panel.title} ${target.refId}: ${series.length} series`);
      }
    }
    expect(results).toHaveLength(panels.reduce((n, p) => n + p.targets.length, 0));
  });

  it('shows this test’s objects for what they are', async () => {
    const q = (expr: string): Promise<PromSeries[]> => promQuery(prometheus.url, expr.replaceAll('$job', 'certkeeper'));
    const target = (title: string, refId = 'A'): string => panels.find((p) => p.title === title)?.targets.find((t) => t.refId === refId)?.expr ?? '';
    const stale = (await q(target('Stale endpoints'))).filter((s) => s.metric.namespace === ns);
    expect(stale.map((s) => [s.metric.service, s.metric.port, s.metric.certificate, s.value[1]])).toEqual([['web', '443', 'web', '1']]);
    const grades = (await q(target('Endpoint grades'))).filter((s) => s.metric.namespace === ns);
    expect(grades.map((s) => [s.metric.service, s.metric.policy])).toEqual([['web', `dashboard-ca-${suffix}`]]);
    const timeline = (await q(target('Expiry timeline: time left per Certificate'))).filter((s) => s.metric.namespace === ns);
    expect(timeline.map((s) => s.metric.name).sort()).toEqual(['public', 'web']);
    const others = (await q(target('Soonest expiring: unmanaged Secrets and other sources', 'B'))).filter((s) => s.metric.namespace === ns);
    expect(others.map((s) => [s.metric.kind, s.metric.name, s.metric.key])).toEqual([['secret_pem', 'bundle', 'ca.pem']]);
    const acme = await q(target('Issuance rate', 'B'));
    expect(acme.map((s) => s.metric.action)).toEqual(expect.arrayContaining(['order', 'finalize', 'certificate']));
  });
});

describe('/inventory?format=cyclonedx', () => {
  it('is a CBOM the CycloneDX 1.6 schema accepts, with the TLS versions the scanned endpoint accepted and the group it chose', async () => {
    const text = await (await fetch(`${operator.url}/inventory?format=cyclonedx`)).text();
    const error: unknown = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(text);
    expect(error).toBeNull();
    const bom = JSON.parse(text) as { components: { 'bom-ref': string; properties?: { name: string; value: string }[]; cryptoProperties?: unknown }[] };
    const tls12 = bom.components.find((c) => c['bom-ref'] === 'protocol:TLSv1.2');
    expect(tls12?.cryptoProperties).toEqual({ assetType: 'protocol', protocolProperties: { type: 'tls', version: '1.2' } });
    expect(tls12?.properties).toEqual(expect.arrayContaining([{ name: 'certkeeper:endpoint', value: `${ns}/web:443@${network.addresses[0] ?? ''}` }]));
    expect(bom.components.some((c) => c['bom-ref'] === 'protocol:TLSv1.0')).toBe(false);
    // And the group it chose for a browser's offer: Debian's nginx (OpenSSL 3.0) has no ML-KEM, so a classical one.
    const groups = bom.components.filter((c) => c['bom-ref'].startsWith('group:'));
    expect(groups).toHaveLength(1);
    expect(groups[0]?.cryptoProperties).toMatchObject({ assetType: 'algorithm', algorithmProperties: { primitive: 'key-agree', nistQuantumSecurityLevel: 0 } });
    expect(groups[0]?.properties).toEqual(expect.arrayContaining([{ name: 'certkeeper:endpoint', value: `${ns}/web:443@${network.addresses[0] ?? ''}` }]));
  });
});
