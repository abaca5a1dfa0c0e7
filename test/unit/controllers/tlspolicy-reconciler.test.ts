import { describe, expect, it } from 'vitest';
import { ConditionType, Reason } from '../../../src/api/conditions.js';
import type { PolicyEndpointsStatus, TLSPolicy, TLSPolicyStatus } from '../../../src/api/tlspolicy.js';
import type { KubeObject } from '../../../src/kube/lister-watcher.js';
import { TLSPolicyReconciler, accountRetryMs } from '../../../src/controllers/tlspolicy/reconciler.js';
import type { PolicyViolationNews } from '../../../src/endpoints/validation.js';
import type { EndpointTarget } from '../../../src/endpoints/targets.js';
import { getCondition, type Condition } from '../../../src/kube/conditions.js';
import { statusChanged } from '../../../src/kube/status.js';
import { tlsPolicy, withCaIssuer, withPolicySpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { fakeDrivers, RecordingEvents } from './fakes.js';

// The TLSPolicy reconciler with a Map of policies, a status client that
// records writes (and says "written" only for a real change, as the real one
// does), scripted driver readiness and a fake endpoint verifier.

const RECHECK = 5 * 60_000;
const acmeSpec = withPolicySpec({ issuer: { acme: { server: 'https://acme.example/directory', privateKeySecretRef: { name: 'acct' }, solvers: [] } } });

function harness() {
  const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'));
  const policies = new Map<string, TLSPolicy>();
  const writes: { policy: TLSPolicy; status: TLSPolicyStatus }[] = [];
  const events = new RecordingEvents();
  const fakes = fakeDrivers();
  const summaries = new Map<string, PolicyEndpointsStatus>();
  const news = new Map<string, PolicyViolationNews[]>();
  const taken: string[] = [];
  const observed: KubeObject[] = [];
  const reconciler = new TLSPolicyReconciler({
    clock,
    policies: { get: (key) => policies.get(key), observe: (served) => observed.push(served) },
    governedCount: (name) => (name === 'ca' ? 3 : 0),
    policiesApi: {
      writeStatus: (policy, next) => {
        writes.push({ policy, status: next });
        const served = { ...policy, status: next, metadata: { ...policy.metadata, resourceVersion: String(writes.length + 100) } };
        return Promise.resolve(statusChanged(policy.status, next) ? { outcome: 'written', object: served, served } : { outcome: 'unchanged' });
      },
    },
    events,
    drivers: fakes.drivers,
    endpoints: {
      policySummary: (name) => summaries.get(name),
      takePolicyViolations: (name) => {
        taken.push(name);
        const list = news.get(name) ?? [];
        news.delete(name);
        return list;
      },
    },
  });
  const put = (p: TLSPolicy) => {
    policies.set(p.metadata.name, p);
    return p;
  };
  return { clock, policies, writes, observed, events, fakes, summaries, news, taken, reconciler, put, run: (key: string) => reconciler.reconcile(key) };
}

const ready = (status: TLSPolicyStatus | undefined): Condition | undefined => getCondition(status?.conditions as Condition[] | undefined, ConditionType.Ready);

describe('TLSPolicyReconciler', () => {
  it('does nothing for a policy that is gone or being deleted', async () => {
    const h = harness();
    h.put(tlsPolicy('ca', withCaIssuer('root'), (p) => (p.metadata.deletionTimestamp = '2026-03-01T00:00:00Z')));
    await expect(h.run('missing')).resolves.toBeUndefined();
    await expect(h.run('ca')).resolves.toBeUndefined();
    expect(h.writes).toEqual([]);
    expect(h.fakes.ca.calls).toEqual([]);
    expect(h.taken).toEqual([]);
  });

  it('hands the policy cache the answer of the server to a status write (read-your-writes), nothing when unchanged', async () => {
    const h = harness();
    const policy = h.put(tlsPolicy('ca', withCaIssuer('root')));
    h.fakes.ca.readinessAnswer = { ok: true, explanation: { reason: Reason.IssuerReady, message: 'ok' } };
    await h.run('ca');
    expect(h.observed.map((o) => o.metadata?.resourceVersion)).toEqual(['101']);
    h.put({ ...policy, status: h.writes[0]?.status });
    await h.run('ca');
    expect(h.observed).toHaveLength(1);
  });

  it('a ready issuer: Ready=True from the driver, issuerKind, the governed count, no event, recheck in 5 min', async () => {
    const h = harness();
    h.put(tlsPolicy('ca', withCaIssuer('root'), (p) => (p.metadata.generation = 4)));
    h.fakes.ca.readinessAnswer = { ok: true, explanation: { reason: Reason.IssuerReady, message: 'CA Secret "root" is valid until 2027-01-01' } };
    await expect(h.run('ca')).resolves.toEqual({ requeueAfter: RECHECK });
    expect(h.fakes.ca.calls).toEqual([{ op: 'readiness', policy: 'ca' }]);
    expect(h.writes).toHaveLength(1);
    expect(h.writes[0]?.status).toMatchObject({ issuerKind: 'ca', certificates: 3, observedGeneration: 4 });
    expect(ready(h.writes[0]?.status)).toEqual({
      type: ConditionType.Ready,
      status: 'True',
      reason: Reason.IssuerReady,
      message: 'CA Secret "root" is valid until 2027-01-01',
      observedGeneration: 4,
      lastTransitionTime: '2026-03-01T00:00:00Z',
    });
    expect(h.events.recorded).toEqual([]);
  });

  it('an issuer that is not ready: Ready=False and one Warning on the policy, only while the status changes', async () => {
    const h = harness();
    const policy = h.put(tlsPolicy('ca', withCaIssuer('root')));
    h.fakes.ca.readinessAnswer = { ok: false, explanation: { reason: Reason.CASecretNotFound, message: 'CA Secret certkeeper/root does not exist' } };
    await expect(h.run('ca')).resolves.toEqual({ requeueAfter: RECHECK });
    expect(ready(h.writes[0]?.status)).toMatchObject({ status: 'False', reason: Reason.CASecretNotFound });
    expect(h.events.recorded).toEqual([
      {
        type: 'Warning',
        regarding: expect.objectContaining({ kind: 'TLSPolicy', name: 'ca' }) as unknown,
        reason: Reason.CASecretNotFound,
        note: 'CA Secret certkeeper/root does not exist',
        action: 'Validate',
      },
    ]);

    policy.status = h.writes[0]?.status;
    await h.run('ca');
    expect(h.writes).toHaveLength(2);
    expect(h.events.recorded).toHaveLength(1);
  });

  it('a policy without an issuer is Ready (ValidationOnly), issuerKind none, and asks no driver', async () => {
    const h = harness();
    h.put(tlsPolicy('audit'));
    await expect(h.run('audit')).resolves.toEqual({ requeueAfter: RECHECK });
    expect(h.writes[0]?.status.issuerKind).toBe('none');
    expect(ready(h.writes[0]?.status)).toMatchObject({ status: 'True', reason: Reason.ValidationOnly });
    expect(h.fakes.all.flatMap((d) => d.calls)).toEqual([]);
  });

  it('status.acme is what the driver says, else what the policy had', async () => {
    const h = harness();
    const kept = { accountURI: 'https://acme.example/acct/1', server: 'https://acme.example/directory' };
    h.put(tlsPolicy('le', acmeSpec, (p) => (p.status = { acme: kept })));
    h.fakes.acme.readinessAnswer = { ok: true, explanation: { reason: Reason.AccountRegistered, message: 'ok' } };
    await h.run('le');
    expect(h.writes[0]?.status.acme).toEqual(kept);
    const fresh = { accountURI: 'https://acme.example/acct/2', server: 'https://acme.example/directory', accountKeyThumbprint: 'tp' };
    h.fakes.acme.readinessAnswer = { ok: true, explanation: { reason: Reason.AccountRegistered, message: 'ok' }, acme: fresh };
    await h.run('le');
    expect(h.writes[1]?.status).toMatchObject({ acme: fresh, issuerKind: 'acme' });
  });

  it('puts the endpoint summary in status, and drops it when there is none', async () => {
    const h = harness();
    const summary: PolicyEndpointsStatus = { total: 4, compliant: 3, violating: 1, unreachable: 0, worst: [] };
    h.summaries.set('audit', summary);
    h.put(tlsPolicy('audit', (p) => (p.status = { endpoints: { total: 9, compliant: 9, violating: 0, unreachable: 0, worst: [] } })));
    await h.run('audit');
    expect(h.writes[0]?.status.endpoints).toEqual(summary);
    h.summaries.delete('audit');
    await h.run('audit');
    expect(h.writes[1]?.status.endpoints).toBeUndefined();
  });
});

describe('TLSPolicyReconciler backoff while an issuer that asks for it is not ready', () => {
  it.each([
    [0, 10_000],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [6, 320_000],
    [7, 600_000],
    [20, 600_000],
  ])('accountRetryMs(%i) = %i', (failures, ms) => {
    expect(accountRetryMs(failures)).toBe(ms);
  });

  it('grows 10 s doubling to 10 min, resets once ready, and starts again for a new generation', async () => {
    const h = harness();
    const policy = h.put(tlsPolicy('le', acmeSpec));
    const notReady = { ok: false, explanation: { reason: Reason.AccountRegistrationFailed, message: 'the CA refused' }, backOffWhileNotReady: true };
    h.fakes.acme.readinessAnswer = notReady;
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) delays.push((await h.run('le'))?.requeueAfter ?? -1);
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000]);

    policy.metadata.generation = 2;
    expect(await h.run('le')).toEqual({ requeueAfter: 10_000 });
    expect(await h.run('le')).toEqual({ requeueAfter: 20_000 });

    h.fakes.acme.readinessAnswer = { ok: true, explanation: { reason: Reason.AccountRegistered, message: 'ok' }, backOffWhileNotReady: true };
    expect(await h.run('le')).toEqual({ requeueAfter: RECHECK });
    h.fakes.acme.readinessAnswer = notReady;
    expect(await h.run('le')).toEqual({ requeueAfter: 10_000 });
  });

  it('counts per policy', async () => {
    const h = harness();
    h.put(tlsPolicy('a', acmeSpec));
    h.put(tlsPolicy('b', acmeSpec));
    h.fakes.acme.readinessAnswer = { ok: false, explanation: { reason: Reason.AccountRegistrationFailed, message: 'no' }, backOffWhileNotReady: true };
    expect(await h.run('a')).toEqual({ requeueAfter: 10_000 });
    expect(await h.run('a')).toEqual({ requeueAfter: 20_000 });
    expect(await h.run('b')).toEqual({ requeueAfter: 10_000 });
  });
});

describe('TLSPolicyReconciler: addresses that began violating the policy', () => {
  const target = (address: string, over: Partial<EndpointTarget> = {}): EndpointTarget => ({
    key: `shop/web:443@${address}#`,
    namespace: 'shop',
    service: 'web',
    serviceUid: 'svc-uid',
    port: 443,
    portName: 'https',
    address,
    targetPort: 8443,
    serverName: undefined,
    certificates: [],
    expected: {},
    trustSecrets: [],
    judgements: [],
    intervalMs: 60_000,
    ...over,
  });
  const violations = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `v${i + 1}`, message: `problem ${i + 1}` }));

  it('become one Warning per address on its Service, naming address, profile, grade and at most five violations', async () => {
    const h = harness();
    h.put(tlsPolicy('audit', (p) => (p.status = {})));
    h.news.set('audit', [
      { target: target('10.0.0.1'), profile: 'intermediate', grade: 'C', violations: violations(2) },
      { target: target('10.0.0.2', { service: 'api', serviceUid: undefined, port: 8443, targetPort: 9443 }), profile: 'modern', grade: undefined, violations: violations(7) },
    ]);
    await h.run('audit');
    expect(h.taken).toEqual(['audit']);
    expect(h.events.recorded).toEqual([
      {
        type: 'Warning',
        regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web', uid: 'svc-uid' },
        reason: Reason.TLSPolicyViolation,
        note: '10.0.0.1:8443 (port 443) violates TLSPolicy "audit" (intermediate, grade C): v1: problem 1; v2: problem 2',
        action: 'Probe',
      },
      {
        type: 'Warning',
        regarding: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'api' },
        reason: Reason.TLSPolicyViolation,
        note: '10.0.0.2:9443 (port 8443) violates TLSPolicy "audit" (modern, grade F): v1: problem 1; v2: problem 2; v3: problem 3; v4: problem 4; v5: problem 5; and 2 more',
        action: 'Probe',
      },
    ]);
  });

  it('are announced even when the status did not change', async () => {
    const h = harness();
    const policy = h.put(tlsPolicy('audit'));
    await h.run('audit');
    policy.status = h.writes[0]?.status;
    h.news.set('audit', [{ target: target('10.0.0.1'), profile: 'old', grade: 'B', violations: violations(1) }]);
    await h.run('audit');
    expect(h.events.recorded.map((e) => e.reason)).toEqual([Reason.TLSPolicyViolation]);
  });
});
