import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DiscoveryV1Api, PatchStrategy, setHeaderOptions, type V1ClusterRole, type V1PolicyRule } from '@kubernetes/client-node';
import { CHART_DIR, helmOk, runHelm } from '../../hack/chart.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { ensureTools } from '../../hack/env/tools.js';
import { API_VERSION, GROUP, VERSION } from '../../src/api/meta.js';
import type { CertificateSpec } from '../../src/api/certificate.js';
import { apiErrorMessage, statusCodeOf } from '../../src/kube/errors.js';
import { SecretAnnotation } from '../../src/model/secret.js';
import { makeTestCa } from '../support/pki.js';
import { condition, createCaSecret, deletePolicy, getCertificate, startTestOperator, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { createServiceWithEndpoints } from '../support/endpoints.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';

// Tenants are hostile. Each test plays one: a user with the built-in `admin`
// ClusterRole bound in its own namespace only (what a platform team gives an
// app team), and shows the refusal, what the tenant sees, and that nothing
// was issued. The chart is installed with Helm (its admission policy and the
// ClusterRoles that add Certificates to admin/edit/view); the bare API server
// here has no controller-manager, so the aggregation it would do for the
// built-in roles is done once below, the same way (union of labelled roles).

const suffix = uniqueSuffix();
const release = `tenancy-${suffix}`;
const paramLabel = { 'certkeeper.dev/tenancy-test': suffix };
const teamLabel = `tenancy-${suffix}/team`;
const tenantA = `tenant-a-${suffix}`;
const policyA = `team-a-${suffix}`;
const policyB = `team-b-${suffix}`;
const caA = `tenancy-ca-a-${suffix}`;
const caB = `tenancy-ca-b-${suffix}`;

let helm: string;
let releaseNs: string;
let teamA: string;
let operator: OperatorProcess;
const cleanups: (() => Promise<void>)[] = [];

const kubeconfig = () => inject('kubeconfigPath');
const asTenant = () => testKube({ user: tenantA });
const asAdmin = () => testKube();

/** What kube-controller-manager's clusterrole-aggregation controller does: the built-in role's rules become the union of the labelled roles'. */
async function aggregateBuiltInRole(name: 'admin' | 'edit' | 'view'): Promise<void> {
  const rbac = asAdmin().rbac;
  const parts = await rbac.listClusterRole({ labelSelector: `rbac.authorization.k8s.io/aggregate-to-${name}=true` });
  const rules: V1PolicyRule[] = parts.items.flatMap((r: V1ClusterRole) => r.rules ?? []);
  const role = await rbac.readClusterRole({ name });
  await rbac.replaceClusterRole({ name, body: { ...role, rules } });
}

async function policy(name: string, team: string, spec: Record<string, unknown>): Promise<void> {
  await asAdmin().customObjects.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'tlspolicies',
    body: { apiVersion: API_VERSION, kind: 'TLSPolicy', metadata: { name, labels: paramLabel }, spec: { namespaceSelector: { matchLabels: { [teamLabel]: team } }, ...spec } },
  });
}

/** Creates a Certificate as the tenant: the API server's answer, refusal included. */
async function tenantCreates(name: string, spec: CertificateSpec): Promise<{ created: boolean; status?: number | undefined; message: string }> {
  try {
    await asTenant().customObjects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'certificates',
      namespace: teamA,
      body: { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name, namespace: teamA }, spec },
    });
    return { created: true, message: '' };
  } catch (err) {
    return { created: false, status: statusCodeOf(err), message: apiErrorMessage(err) };
  }
}

/** The Secret's resourceVersion as the tenant reads it, or 'absent'. */
async function tenantReadsSecret(name: string): Promise<string> {
  try {
    const s = await asTenant().core.readNamespacedSecret({ namespace: teamA, name });
    return s.metadata?.resourceVersion ?? '';
  } catch (err) {
    if (statusCodeOf(err) === 404) return 'absent';
    throw err;
  }
}

beforeAll(async () => {
  ({ helm } = await ensureTools());
  const rel = await createTestNamespace('tenancy-release');
  releaseNs = rel.name;
  cleanups.push(rel.cleanup);
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-tenancy-'));
  const values = join(dir, 'values.yaml');
  await writeFile(values, JSON.stringify({ admissionPolicy: { policySelector: { matchLabels: paramLabel } } }));
  await helmOk(helm, ['install', release, CHART_DIR, '--namespace', releaseNs, '-f', values, '--kubeconfig', kubeconfig()]);
  await rm(dir, { recursive: true, force: true });
  // view is part of edit, edit of admin: aggregated in that order, as the controller converges to.
  for (const role of ['view', 'edit', 'admin'] as const) await aggregateBuiltInRole(role);

  const a = await createTestNamespace('team-a');
  const b = await createTestNamespace('team-b');
  cleanups.push(a.cleanup, b.cleanup);
  teamA = a.name;
  const label = (ns: string, team: string) =>
    asAdmin().core.patchNamespace({ name: ns, body: { metadata: { labels: { [teamLabel]: team } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  await label(a.name, 'a');
  await label(b.name, 'b');
  // The tenant: the built-in admin role in team-a, nothing anywhere else.
  await asAdmin().rbac.createNamespacedRoleBinding({
    namespace: teamA,
    body: { metadata: { name: 'tenant-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: tenantA }] },
  });

  await createCaSecret(caA);
  await createCaSecret(caB);
  await policy(policyA, 'a', {
    issuer: { ca: { secretName: caA } },
    certificates: { allowedDomains: ['**.a.example'], allowedURIs: [`spiffe://td/ns/${teamA}/**`] },
  });
  await policy(policyB, 'b', { issuer: { ca: { secretName: caB } }, certificates: { allowedDomains: ['**.b.example'] } });
  operator = await startTestOperator('tenancy');

  // The admission policy loads asynchronously: wait until it refuses what team-a's policy forbids.
  await waitFor(
    async ({ observe }) => {
      const r = await tenantCreates(`gate-${uniqueSuffix()}`, { secretName: 'gate-tls', dnsNames: ['x.elsewhere.example'] });
      observe(r);
      return r.status === 403 && r.message.includes(policyA) ? r : undefined;
    },
    { description: 'the admission policy to judge team-a by its TLSPolicy', timeoutMs: 30_000, intervalMs: 250 },
  );
}, 300_000);

afterAll(async () => {
  await operator?.process.stop();
  if (releaseNs !== undefined) await runHelm(helm, ['uninstall', release, '--namespace', releaseNs, '--kubeconfig', kubeconfig()]);
  for (const p of [policyA, policyB]) await deletePolicy(p);
  for (const c of cleanups) await c();
});

describe('a tenant with admin in its own namespace', () => {
  it('cannot use another team\'s policy: refused exactly as for a policy that does not exist, nothing issued', async () => {
    const theirs = await tenantCreates('borrow', { secretName: 'borrow-tls', dnsNames: ['shop.b.example'], policyRef: { name: policyB } });
    const nobodys = await tenantCreates('invent', { secretName: 'invent-tls', dnsNames: ['shop.b.example'], policyRef: { name: `nobody-${suffix}` } });
    // Admission judges neither (no policy that selects team-a is named): both are stored, then refused by the operator.
    expect([theirs.created, nobodys.created]).toEqual([true, true]);
    const borrow = await waitForCondition(teamA, 'borrow', { status: 'False', reason: 'PolicyNotFound' });
    const invent = await waitForCondition(teamA, 'invent', { status: 'False', reason: 'PolicyNotFound' });
    const seen = (c: typeof borrow, name: string) => condition(c, 'Ready')?.message.replace(name, 'NAME');
    expect(seen(borrow, policyB)).toBe(seen(invent, `nobody-${suffix}`));
    expect(condition(borrow, 'Ready')?.message).toContain(`no TLSPolicy of that name governs namespace "${teamA}"`);
    expect(await tenantReadsSecret('borrow-tls')).toBe('absent');
    expect(borrow.status?.policy).toBeUndefined();
  });

  it('is refused at admission an identity its policy never granted: a CA, another team\'s SPIFFE ID, an IP, code signing', async () => {
    const cases: [string, CertificateSpec, string][] = [
      ['a CA', { secretName: 'ca-tls', dnsNames: ['ca.a.example'], isCA: true }, 'does not allow CA certificates'],
      ['another team\'s SPIFFE ID', { secretName: 'spiffe-tls', dnsNames: ['web.a.example'], uris: ['spiffe://td/ns/team-b/sa/api'] }, 'does not allow uris "spiffe://td/ns/team-b/sa/api"'],
      ['an IP', { secretName: 'ip-tls', dnsNames: ['web.a.example'], ipAddresses: ['10.96.0.1'] }, 'does not allow ipAddresses "10.96.0.1"'],
      ['code signing', { secretName: 'sign-tls', dnsNames: ['web.a.example'], usages: ['digital signature', 'code signing'] }, 'does not allow the usages "code signing"'],
    ];
    for (const [what, spec, message] of cases) {
      const r = await tenantCreates(`deny-${what.replace(/[^a-z]+/gi, '-').toLowerCase()}`, spec);
      expect({ what, created: r.created, status: r.status }).toEqual({ what, created: false, status: 403 });
      expect(r.message, what).toContain(`TLSPolicy "${policyA}" ${message}`);
      expect(await tenantReadsSecret(spec.secretName)).toBe('absent');
    }
    // What the policy grants goes through, and is issued by team-a's CA.
    const ok = await tenantCreates('own-spiffe', { secretName: 'own-spiffe-tls', dnsNames: ['web.a.example'], uris: [`spiffe://td/ns/${teamA}/sa/web`] });
    expect(ok.created).toBe(true);
    const ready = await waitForCondition(teamA, 'own-spiffe', { status: 'True' });
    expect(ready.status?.policy).toBe(policyA);
  });

  it('cannot take over a Secret that was not written for its Certificate, until the Secret is annotated for it', async () => {
    const leaf = await makeTestCa({ notBefore: new Date(Date.now() - 3_600_000), slot: 7 });
    await asAdmin().core.createNamespacedSecret({
      namespace: teamA,
      body: {
        metadata: { name: 'legacy-tls', annotations: { 'cert-manager.io/certificate-name': 'legacy' } },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from(leaf['tls.crt']).toString('base64'), 'tls.key': Buffer.from(leaf['tls.key']).toString('base64') },
      },
    });
    const before = await tenantReadsSecret('legacy-tls');
    expect((await tenantCreates('hijack', { secretName: 'legacy-tls', dnsNames: ['legacy.a.example'] })).created).toBe(true);
    const refused = await waitForCondition(teamA, 'hijack', { status: 'False', reason: 'SecretNotOwned' });
    expect(condition(refused, 'Ready')?.message).toContain(`${SecretAnnotation.certificateName}=hijack`);
    expect(await tenantReadsSecret('legacy-tls')).toBe(before);
    // Whoever owns the Secret opts in by annotating it: then it is issued into it.
    await asTenant().core.patchNamespacedSecret(
      { namespace: teamA, name: 'legacy-tls', body: { metadata: { annotations: { [SecretAnnotation.certificateName]: 'hijack' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const issued = await waitForCondition(teamA, 'hijack', { status: 'True' });
    expect(issued.status?.issuedSerialNumbers).toHaveLength(1);
  });

  it('cannot write a Certificate\'s status (where issued serials and renewals are recorded)', async () => {
    expect((await tenantCreates('status-owner', { secretName: 'status-owner-tls', dnsNames: ['s.a.example'] })).created).toBe(true);
    await waitForCondition(teamA, 'status-owner', { status: 'True' });
    const err = await asTenant()
      .customObjects.patchNamespacedCustomObjectStatus(
        { group: GROUP, version: VERSION, plural: 'certificates', namespace: teamA, name: 'status-owner', body: { status: { issuedSerialNumbers: ['01'] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(statusCodeOf(err)).toBe(403);
    expect((await getCertificate(teamA, 'status-owner')).status?.issuedSerialNumbers).not.toEqual(['01']);
  });

  it('cannot make the operator probe an address the cluster does not vouch for', async () => {
    // The built-in admin role does not let it write EndpointSlices at all (since CVE-2021-25740)...
    const own = await asTenant()
      .kubeconfig.makeApiClient(DiscoveryV1Api)
      .createNamespacedEndpointSlice({
        namespace: teamA,
        body: { metadata: { name: 'api-server', labels: { 'kubernetes.io/service-name': 'sneaky' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }], ports: [{ name: 'https', port: 443 }] },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(statusCodeOf(own)).toBe(403);
    // ...and a hand-written one someone else made (pointing at the API server's ClusterIP) is not probed for it.
    await createServiceWithEndpoints(teamA, 'sneaky', { ports: [{ name: 'https', port: 443 }], addresses: ['10.0.0.1'] });
    expect((await tenantCreates('sneaky', { secretName: 'sneaky-tls', dnsNames: ['sneaky.a.example'], endpoints: [{ service: 'sneaky', port: 443 }] })).created).toBe(true);
    const verdict = await waitForCondition(teamA, 'sneaky', { type: 'EndpointsVerified', status: 'False', reason: 'NoReadyEndpoints' });
    expect(condition(verdict, 'EndpointsVerified')?.message).toContain('1 ready address is not probed: their EndpointSlices were written by hand');
    expect(verdict.status?.endpoints).toBeUndefined();
  });
});
