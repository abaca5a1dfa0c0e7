import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNetwork, type TestNetwork } from '../../hack/env/netns.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { startNetnsNginx, type NetnsNginx } from '../../hack/tls/netns-nginx.js';
import { INTERMEDIATE_TLS } from '../../hack/tls/fixtures.js';
import { createTlsTestPki, issueServerCertificate } from '../../hack/tls/server-pki.js';
import { OPERATOR_NAMESPACE } from '../../hack/env/operator.js';
import { metricSample } from '../support/alertmanager.js';
import { createPolicy, deletePolicy, getPolicy, startTestOperator, uniqueSuffix } from '../support/certkeeper.js';
import { createServiceWithEndpoints } from '../support/endpoints.js';
import { testKube, waitFor } from '../support/kube.js';
import { RESULTS_OF_LABEL, sharedResultsName } from '../../src/endpoints/sharing.js';
import { memberLeaseName, PROBE_WEIGHT_ANNOTATION } from '../../src/kube/membership.js';
import { isNotFound } from '../../src/kube/errors.js';

// Probe sharing (--probe-sharing) with three operator processes, leader
// election on: every endpoint is probed by exactly one of them (the leader
// with the smaller weight it wrote on its member Lease), the leader's policy
// status shows every endpoint, and the share of a replica killed without
// warning is probed by the others within a member lease duration.
// The endpoints: one nginx in a network namespace on every address, behind
// selector-less Services with hand-written EndpointSlices (trusted by the policy).

const SERVICES = 4;
const PER_SERVICE = 6;
const ENDPOINTS = SERVICES * PER_SERVICE;
const MEMBER_LEASE_SECONDS = 6;
const LEADER_WEIGHT = '0.7';
const HTTPS = { name: 'https', port: 443 };
const PROBES = 'certkeeper_endpoint_probe_duration_seconds_count';

const suffix = uniqueSuffix();
const group = `sharing-${suffix}`;
const ns = `sharing-${suffix}`;
const policy = `sharing-${suffix}`;
let network: TestNetwork;
let dir: string;
let nginx: NetnsNginx | undefined;
const operators: OperatorProcess[] = [];

beforeAll(async () => {
  network = await createTestNetwork({ addresses: ENDPOINTS, label: 'probe-sharing.test' });
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-sharing-'));
  const pki = await createTlsTestPki();
  const leaf = await issueServerCertificate({ dnsNames: [`*.${ns}.svc`], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate });
  nginx = await startNetnsNginx({ network, name: `sharing-${suffix}`, baseDir: dir, addresses: 'any', port: 443, certificate: leaf, tls: INTERMEDIATE_TLS, readinessAddresses: [network.addresses[0] ?? ''] });
  await testKube().core.createNamespace({ body: { metadata: { name: ns, labels: { 'sharing.certkeeper.test': suffix } } } });
  for (let s = 0; s < SERVICES; s++) {
    await createServiceWithEndpoints(ns, `svc-${s}`, { ports: [HTTPS], addresses: network.addresses.slice(s * PER_SERVICE, (s + 1) * PER_SERVICE), labels: { tier: 'shared' } });
  }
  const env = {
    CERTKEEPER_PROBE_SHARING: 'true',
    CERTKEEPER_PROBE_SHARING_LEASE_DURATION: `${MEMBER_LEASE_SECONDS}s`,
    CERTKEEPER_LEASE_NAME: group,
    CERTKEEPER_PROBE_SHARING_LEADER_WEIGHT: LEADER_WEIGHT,
  };
  for (let i = 0; i < 3; i++) operators.push(await startTestOperator(`sharing-${i}`, { leaderElect: true, identity: `${group}-${i}`, env }));
}, 180_000);

afterAll(async () => {
  await deletePolicy(policy);
  await Promise.all(operators.map((o) => o.process.stop()));
  await nginx?.stop();
  await network?.teardown();
  await testKube().core.deleteNamespace({ name: ns }).catch(() => undefined);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function metric(op: OperatorProcess, name: string): Promise<number> {
  return metricSample(await (await fetch(`${op.url}/metrics`)).text(), name) ?? 0;
}

async function probeCounts(ops: readonly OperatorProcess[]): Promise<number[]> {
  return Promise.all(ops.map((o) => metric(o, PROBES)));
}

/** Waits until `check` holds, observing what it saw. */
function until(description: string, timeoutMs: number, check: () => Promise<unknown>, holds: (seen: unknown) => boolean = Boolean): Promise<true> {
  return waitFor(
    async ({ observe }) => {
      const seen = await check();
      observe(seen);
      return holds(seen) ? true : undefined;
    },
    { description, timeoutMs },
  );
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

async function policyResults(): Promise<{ total: number; results: number }> {
  const e = (await getPolicy(policy)).status?.endpoints;
  return { total: e?.total ?? 0, results: e === undefined ? 0 : e.compliant + e.violating + e.unreachable };
}

describe('probe sharing across three operator processes', () => {
  it('probes each endpoint once, on one replica; the leader reports them all; a killed replica\'s share is taken over within a lease duration', async () => {
    // Every replica sees the three members.
    await until('three members seen by each replica', 30_000, () => Promise.all(operators.map((o) => metric(o, 'certkeeper_probe_sharing_members'))), (m) => (m as number[]).every((x) => x === 3));

    await createPolicy(policy, {
      namespaceSelector: { matchLabels: { 'sharing.certkeeper.test': suffix } },
      trustUnmanagedEndpointSlices: true,
      endpoints: { serviceSelector: { matchLabels: { tier: 'shared' } }, ports: ['https'], profile: 'intermediate', interval: '1h' },
    });
    await until(`the policy status reports all ${ENDPOINTS} endpoints`, 60_000, policyResults, (r) => {
      const { total, results } = r as { total: number; results: number };
      return total === ENDPOINTS && results === ENDPOINTS;
    });

    await until('every endpoint probed', 30_000, () => probeCounts(operators), (c) => sum(c as number[]) >= ENDPOINTS);
    // Quiet for a while: with an interval of an hour, no endpoint is probed twice.
    await sleep(3_000);
    const counts = await probeCounts(operators);
    console.log(`probe sharing: per-replica probes ${counts.join(' + ')} = ${sum(counts)} for ${ENDPOINTS} endpoints`);
    expect(sum(counts)).toBe(ENDPOINTS);
    for (const c of counts) expect(c).toBeGreaterThan(0);
    const owned = await Promise.all(operators.map((o) => metric(o, 'certkeeper_probe_sharing_owned_targets')));
    expect(owned).toEqual(counts);

    // The leader's read model (metrics, alerts, inventory) holds every endpoint, the others' included; the others export none.
    const lease0 = await testKube().kubeconfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: group, namespace: OPERATOR_NAMESPACE });
    const graded = await Promise.all(
      operators.map(async (o) => {
        const res = await fetch(`${o.url}/metrics`);
        expect(res.status).toBe(200);
        return { leader: o.identity === lease0.spec?.holderIdentity, series: (await res.text()).split('\n').filter((l) => l.startsWith(`certkeeper_endpoint_grade{`) && l.includes(`policy="${policy}"`)).length };
      }),
    );
    expect(graded.filter((g) => g.leader).map((g) => g.series)).toEqual([ENDPOINTS]);
    expect(graded.filter((g) => !g.leader).map((g) => g.series)).toEqual([0, 0]);

    // The leader asked for its smaller share on its member Lease; the others for a full one (no annotation).
    const coordination = testKube().kubeconfig.makeApiClient(CoordinationV1Api);
    for (const o of operators) {
      const leads = o.identity === lease0.spec?.holderIdentity;
      const member = await coordination.readNamespacedLease({ name: memberLeaseName(group, o.identity), namespace: OPERATOR_NAMESPACE });
      expect(member.metadata?.annotations?.[PROBE_WEIGHT_ANNOTATION]).toBe(leads ? LEADER_WEIGHT : undefined);
      expect(await metric(o, 'certkeeper_probe_sharing_weight')).toBe(leads ? Number(LEADER_WEIGHT) : 1);
    }

    // Kill a replica that does not lead: no goodbye, its member Lease simply stops being renewed.
    const lease = await testKube().kubeconfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: group, namespace: OPERATOR_NAMESPACE });
    const leaderIndex = operators.findIndex((o) => o.identity === lease.spec?.holderIdentity);
    expect(leaderIndex).toBeGreaterThanOrEqual(0);
    const victimIndex = (leaderIndex + 1) % 3;
    const victim = operators[victimIndex] as OperatorProcess;
    const survivors = operators.filter((_, i) => i !== victimIndex);
    const before = await probeCounts(survivors);
    const killedAt = performance.now();
    victim.process.killNow();
    await until("the killed replica's share probed by the others", (MEMBER_LEASE_SECONDS + 10) * 1000, () => probeCounts(survivors), (c) => sum(c as number[]) - sum(before) >= (counts[victimIndex] ?? 0));
    const takeoverSeconds = (performance.now() - killedAt) / 1000;
    await sleep(2_000);
    const after = await probeCounts(survivors);
    console.log(`probe sharing: after killing ${victim.identity} (${counts[victimIndex]} targets), the others probed ${sum(after) - sum(before)} more within ${takeoverSeconds.toFixed(1)} s (member lease ${MEMBER_LEASE_SECONDS} s)`);
    // Exactly the departed share moved: nothing the survivors already owned was probed again.
    expect(sum(after) - sum(before)).toBe(counts[victimIndex]);
    const r = await policyResults();
    expect(r).toEqual({ total: ENDPOINTS, results: ENDPOINTS });
    // The killed replica left its results ConfigMap behind; the leader deletes it once the replica has been gone a lease duration.
    const victimResults = sharedResultsName(memberLeaseName(group, victim.identity));
    await until(`the leader deletes ${victimResults}`, MEMBER_LEASE_SECONDS * 3 * 1000, async () => {
      try {
        await testKube().core.readNamespacedConfigMap({ name: victimResults, namespace: OPERATOR_NAMESPACE });
        return false;
      } catch (err) {
        if (isNotFound(err)) return true;
        throw err;
      }
    });
    const left = await testKube().core.listNamespacedConfigMap({ namespace: OPERATOR_NAMESPACE, labelSelector: `${RESULTS_OF_LABEL}=${group}` });
    expect(left.items.map((c) => c.metadata?.name).sort()).toEqual(survivors.map((o) => sharedResultsName(memberLeaseName(group, o.identity))).sort());
  }, 240_000);
});
