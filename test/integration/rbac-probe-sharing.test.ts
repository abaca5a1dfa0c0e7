import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHART_DIR, helmOk } from '../../hack/chart.js';
import { createTestNetwork, type TestNetwork } from '../../hack/env/netns.js';
import { startOperatorProcess, type OperatorProcess } from '../../hack/env/operator.js';
import { ensureTools } from '../../hack/env/tools.js';
import { startNetnsNginx, type NetnsNginx } from '../../hack/tls/netns-nginx.js';
import { INTERMEDIATE_TLS } from '../../hack/tls/fixtures.js';
import { createTlsTestPki, issueServerCertificate } from '../../hack/tls/server-pki.js';
import { MEMBER_OF_LABEL } from '../../src/kube/membership.js';
import { metricSample } from '../support/alertmanager.js';
import { createPolicy, deletePolicy, getPolicy, uniqueSuffix } from '../support/certkeeper.js';
import { createServiceWithEndpoints } from '../support/endpoints.js';
import { impersonatingKubeconfigFile, testKube, waitFor } from '../support/kube.js';

// The chart's RBAC for probe sharing (operator.probeSharing), proven as
// rbac.test.ts proves the rest (which renders the chart's defaults, where
// these rules are absent): two operator processes impersonating a
// ServiceAccount that holds the chart's rules share the probes with no
// "forbidden" in their logs; without either of the two rules sharing adds,
// the API server refuses and something a user would see breaks.

const suffix = uniqueSuffix();
const RELEASE = `rbacps-${suffix}`;
const FULLNAME = `${RELEASE}-certkeeper`;
const LEASE = 'certkeeper-operator';
const ENDPOINTS = 12;
const PROBES = 'certkeeper_endpoint_probe_duration_seconds_count';
const MEMBERS = 'certkeeper_probe_sharing_members';
const LEASES_RULE = 'coordination.k8s.io/leases:list,update,delete';
const CONFIGMAPS_RULE = 'core/configmaps:list,watch,create,update,delete';

const releaseNs = `rbacps-release-${suffix}`;
const team = `rbacps-team-${suffix}`;
let dir: string;
let network: TestNetwork | undefined;
let nginx: NetnsNginx | undefined;
let clusterRules: V1PolicyRule[] = [];
let roleRules: V1PolicyRule[] = [];
let defaultClusterRules: V1PolicyRule[] = [];
let defaultRoleRules: V1PolicyRule[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

interface Rendered {
  kind?: string;
  metadata?: { name?: string };
  rules?: V1PolicyRule[];
}

async function renderRbac(helm: string, sharing: boolean): Promise<{ cluster: V1PolicyRule[]; role: V1PolicyRule[] }> {
  const out = await helmOk(helm, ['template', RELEASE, CHART_DIR, '--namespace', releaseNs, '--set', 'admissionPolicy.enabled=false', '--set', `operator.probeSharing=${sharing}`]);
  const docs = parseAllDocuments(out).map((d) => d.toJS() as Rendered | null);
  const find = (kind: string, name: string) => docs.find((d) => d?.kind === kind && d.metadata?.name === name)?.rules ?? [];
  // The inventory's read-only ClusterRole too: the operator watches its sources by default.
  return { cluster: [...find('ClusterRole', FULLNAME), ...find('ClusterRole', `${FULLNAME}-inventory-sources`)], role: find('Role', `${FULLNAME}-leader-election`) };
}

function ruleKey(r: V1PolicyRule): string {
  const group = r.apiGroups?.[0] === '' ? 'core' : (r.apiGroups?.[0] ?? '?');
  const names = r.resourceNames === undefined ? '' : `[${r.resourceNames.join(',')}]`;
  return `${group}/${(r.resources ?? []).join(',')}${names}:${r.verbs.join(',')}`;
}

const impersonatingKubeconfig = (user: string): string => impersonatingKubeconfigFile(dir, user);

beforeAll(async () => {
  const { helm } = await ensureTools();
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-rbacps-'));
  ({ cluster: clusterRules, role: roleRules } = await renderRbac(helm, true));
  ({ cluster: defaultClusterRules, role: defaultRoleRules } = await renderRbac(helm, false));
  const { core } = testKube();
  await core.createNamespace({ body: { metadata: { name: releaseNs } } });
  await core.createNamespace({ body: { metadata: { name: team, labels: { 'rbacps.certkeeper.test': suffix } } } });
  cleanups.push(() => core.deleteNamespace({ name: releaseNs }), () => core.deleteNamespace({ name: team }));
  network = await createTestNetwork({ addresses: ENDPOINTS, label: 'rbac-probe-sharing.test' });
  const pki = await createTlsTestPki();
  const leaf = await issueServerCertificate({ dnsNames: [`*.${team}.svc`], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate });
  nginx = await startNetnsNginx({ network, name: `rbacps-${suffix}`, baseDir: dir, addresses: 'any', port: 443, certificate: leaf, tls: INTERMEDIATE_TLS, readinessAddresses: [network.addresses[0] ?? ''] });
  await createServiceWithEndpoints(team, 'web', { ports: [{ name: 'https', port: 443 }], addresses: network.addresses, labels: { tier: 'rbacps' } });
}, 120_000);

afterAll(async () => {
  await nginx?.stop();
  await network?.teardown();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

interface Variant {
  operators: OperatorProcess[];
  policy: string;
  log: (op: OperatorProcess) => string;
}

/** Two operators as a ServiceAccount holding the chart's ClusterRole and `release` in the release namespace, sharing the probes of a policy's endpoints. */
async function withVariant(label: string, release: V1PolicyRule[], members: number, check: (v: Variant) => Promise<void>): Promise<void> {
  const { rbac, core } = testKube();
  const sa = `${label}-${suffix}`;
  await core.createNamespacedServiceAccount({ namespace: releaseNs, body: { metadata: { name: sa } } });
  await rbac.createClusterRole({ body: { metadata: { name: `rbacps-${sa}` }, rules: clusterRules } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name: `rbacps-${sa}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `rbacps-${sa}` }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: releaseNs }] },
  });
  cleanups.push(
    () => rbac.deleteClusterRoleBinding({ name: `rbacps-${sa}` }),
    () => rbac.deleteClusterRole({ name: `rbacps-${sa}` }),
  );
  await rbac.createNamespacedRole({ namespace: releaseNs, body: { metadata: { name: sa }, rules: release } });
  await rbac.createNamespacedRoleBinding({
    namespace: releaseNs,
    body: { metadata: { name: sa }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: releaseNs }] },
  });
  const kubeconfigPath = impersonatingKubeconfig(`system:serviceaccount:${releaseNs}:${sa}`);
  const operators: OperatorProcess[] = [];
  const policy = `rbacps-${label}-${suffix}`;
  try {
    for (let i = 0; i < 2; i++) {
      operators.push(
        await startOperatorProcess({
          kubeconfigPath,
          logFile: join(inject('envDir'), `operator-rbacps-${label}-${i}-${randomBytes(3).toString('hex')}.log`),
          leaderElect: true,
          namespace: releaseNs,
          logLevel: 'info',
          waitUntil: 'listening',
          env: { CERTKEEPER_LEASE_NAME: LEASE, CERTKEEPER_PROBE_SHARING: 'true', CERTKEEPER_PROBE_SHARING_LEASE_DURATION: '6s' },
        }),
      );
    }
    // The endpoints appear once the replicas see each other (or, without the rule to, never will): a join is no part of this.
    await until(`each replica sees ${members} member(s)`, async () => {
      const m = await metrics(operators, MEMBERS);
      return { done: m.every((x) => x === members), seen: m };
    });
    await createPolicy(policy, {
      namespaceSelector: { matchLabels: { 'rbacps.certkeeper.test': suffix } },
      trustUnmanagedEndpointSlices: true,
      endpoints: { serviceSelector: { matchLabels: { tier: 'rbacps' } }, ports: ['https'], profile: 'intermediate', interval: '1h' },
    });
    await check({ operators, policy, log: (op) => op.process.logTail(10_000).replace(/\\+"/g, '"') });
  } finally {
    await deletePolicy(policy);
    await Promise.all(operators.map((o) => o.process.stop()));
    // A variant that may not delete its member Leases leaves them behind: the next one starts clean.
    const leases = testKube().kubeconfig.makeApiClient(CoordinationV1Api);
    await leases.deleteCollectionNamespacedLease({ namespace: releaseNs, labelSelector: `${MEMBER_OF_LABEL}=${LEASE}` });
  }
}

async function metrics(ops: readonly OperatorProcess[], name: string): Promise<number[]> {
  return Promise.all(ops.map(async (o) => metricSample(await (await fetch(`${o.url}/metrics`)).text(), name) ?? 0));
}

async function policyResults(policy: string): Promise<number> {
  const e = (await getPolicy(policy)).status?.endpoints;
  return e === undefined ? 0 : e.compliant + e.violating + e.unreachable;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** Waits until `check` says done; what it saw last is in the timeout message. */
function until(description: string, check: () => Promise<{ done: boolean; seen?: unknown }>, timeoutMs = 45_000): Promise<true> {
  return waitFor(
    async ({ observe }) => {
      const r = await check();
      observe(r.seen);
      return r.done ? true : undefined;
    },
    { description, timeoutMs },
  );
}

const FORBIDDEN = /forbidden: User "[^"]*" cannot [a-z]+ resource "/i;

describe('the chart with operator.probeSharing', () => {
  it('adds exactly two rules, both in the release namespace', () => {
    expect(clusterRules).toEqual(defaultClusterRules);
    const added = roleRules.map(ruleKey).filter((k) => !defaultRoleRules.map(ruleKey).includes(k));
    expect(added.sort()).toEqual([CONFIGMAPS_RULE, LEASES_RULE].sort());
    expect(roleRules.length).toBe(defaultRoleRules.length + 2);
  });

  it('is enough: two replicas share the probes, the leader reports every endpoint, no "forbidden"', async () => {
    await withVariant('full', roleRules, 2, async ({ operators, policy, log }) => {
      await until('both replicas see two members', async () => {
        const m = await metrics(operators, MEMBERS);
        return { done: m.every((x) => x === 2), seen: m };
      });
      await until(`the policy status reports all ${ENDPOINTS}`, async () => {
        const n = await policyResults(policy);
        return { done: n === ENDPOINTS, seen: n };
      });
      await sleep(2_000);
      expect(sum(await metrics(operators, PROBES))).toBe(ENDPOINTS);
      for (const op of operators) expect(log(op)).not.toMatch(FORBIDDEN);
    });
  }, 120_000);

  it(`without ${CONFIGMAPS_RULE}: the leader never hears of the other replica's probes`, async () => {
    await withVariant('no-configmaps', roleRules.filter((r) => ruleKey(r) !== CONFIGMAPS_RULE), 2, async ({ operators, policy, log }) => {
      await until('a refusal of configmaps in a log', () => Promise.resolve({ done: operators.some((op) => /cannot (list|watch|create|update|delete) resource "configmaps"/.test(log(op))) }));
      await until('both replicas see two members and every endpoint is probed once', async () => {
        const m = await metrics(operators, MEMBERS);
        const p = await metrics(operators, PROBES);
        return { done: m.every((x) => x === 2) && sum(p) === ENDPOINTS, seen: { members: m, probes: p } };
      });
      await sleep(5_000);
      const reported = await policyResults(policy);
      expect(reported).toBeLessThan(ENDPOINTS);
    });
  }, 120_000);

  it(`without ${LEASES_RULE}: no replica sees the other, and every endpoint is probed twice`, async () => {
    await withVariant('no-leases', roleRules.filter((r) => ruleKey(r) !== LEASES_RULE), 1, async ({ operators, log }) => {
      await until('a refusal of leases in a log', () => Promise.resolve({ done: operators.some((op) => /cannot (list|update|delete) resource "leases"/.test(log(op))) }));
      await until('each replica probed every endpoint', async () => {
        const p = await metrics(operators, PROBES);
        return { done: sum(p) === 2 * ENDPOINTS, seen: p };
      });
      expect(await metrics(operators, MEMBERS)).toEqual([1, 1]);
    });
  }, 120_000);
});
