import type { EventsV1Event } from '@kubernetes/client-node';
import { endpointObservations } from '../../../src/alerts/endpoint-observations.js';
import { endpointMetricRows } from '../../../src/endpoints/metrics.js';
import { servedCertificates } from '../../../src/inventory/served.js';
import { recordAll } from '../../../src/kube/refs.js';
import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import type { Certificate } from '../../../src/api/certificate.js';
import type { ParsedCertificate } from '../../../src/model/certificate.js';
import { withEndpointVerification } from '../../../src/controllers/certificate/endpoint-status.js';
import type { ProbeResult } from '../../../src/endpoints/probe.js';
import type { EndpointSliceSummary, ServiceSummary } from '../../../src/endpoints/summaries.js';
import type { EndpointTarget } from '../../../src/endpoints/targets.js';
import { EndpointValidation, needsRecheck } from '../../../src/endpoints/validation.js';
import { EventRecorder } from '../../../src/kube/events.js';
import type { InformerEvents } from '../../../src/kube/informer-options.js';
import { TypedEmitter } from '../../../src/kube/typed-emitter.js';
import { certificate, tlsPolicy, withPolicySpec, withSpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { silentLog } from '../kube/fake-lister-watcher.js';
import { service, slice } from './fixtures.js';
import { MERGE_PATCH } from '../../../src/kube/raw-apis.js';

// The endpoint subsystem with fake caches, a fake prober and fake time: what
// it asks the reconcilers to do, and what it reports, when probes change.

class FakeCache<T> extends TypedEmitter<InformerEvents<T>> {
  private readonly items = new Map<string, T>();
  get(key: string): T | undefined {
    return this.items.get(key);
  }
  list(): T[] {
    return [...this.items.values()];
  }
  set(key: string, value: T): void {
    const old = this.items.get(key);
    this.items.set(key, value);
    if (old === undefined) this.emitQuietly('add', fail, key, value);
    else this.emitQuietly('update', fail, key, value, old);
  }
  remove(key: string): void {
    const old = this.items.get(key);
    if (old === undefined) return;
    this.items.delete(key);
    this.emitQuietly('delete', fail, key, old);
  }
}
const fail = (err: unknown): never => {
  throw err;
};

const CURRENT = 'c0ffee'.padEnd(64, '1');
const OLD = 'dead00'.padEnd(64, '2');

function setup(o: { served?: (t: EndpointTarget) => string | undefined; recheckMs?: number; owns?: (key: string) => boolean } = {}) {
  const clock = new FakeClock(Date.parse('2026-03-01T12:00:00Z'));
  const created: EventsV1Event[] = [];
  const events = new EventRecorder({
    clients: {
      events: {
        patchContentType: MERGE_PATCH,
        createNamespacedEvent: (p: { namespace: string; body: EventsV1Event }) => {
          created.push(p.body);
          return Promise.resolve(p.body);
        },
        patchNamespacedEvent: () => Promise.resolve({} as EventsV1Event),
      },
    },
    clock,
    log: silentLog,
  });
  const services = new FakeCache<ServiceSummary>();
  const slices = new FakeCache<EndpointSliceSummary>();
  const certificates = new FakeCache<ParsedCertificate>();
  const policies = new FakeCache<TLSPolicy>();
  const namespaces = new FakeCache<Record<string, string>>();
  namespaces.set('default', { team: 'web' });
  const probed: string[] = [];
  const certEnqueued: string[] = [];
  const policyEnqueued: string[] = [];
  let served = o.served ?? (() => CURRENT);
  const probe = (t: EndpointTarget): Promise<ProbeResult> => Promise.resolve(fakeProbe(t));
  const fakeProbe = (t: EndpointTarget): ProbeResult => {
    probed.push(t.address);
    const fp = served(t);
    const base = { probedAt: clock.now(), durationMs: 2, expected: { ...t.expected } };
    if (fp === undefined) return { ...base, reachable: false, error: 'cannot connect: ECONNREFUSED', errorReason: 'connect' };
    const judged = t.judgements.length === 0 ? {} : { grade: fp === OLD ? ('B' as const) : ('A' as const), verdicts: Object.fromEntries(t.judgements.map((j) => [j.policy, { violations: fp === OLD ? [{ id: 'protocol-not-allowed', message: 'TLSv1.0 is accepted' }] : [] }])) };
    return { ...base, reachable: true, served: { fingerprintSHA256: fp, notAfter: '2026-06-01T00:00:00.000Z', facts: { fingerprintSHA256: fp } as never }, ...judged };
  };
  const validation = new EndpointValidation({
    clock,
    log: silentLog,
    services,
    slices,
    certificates,
    policies,
    namespaces,
    enqueueCertificate: (k) => certEnqueued.push(k),
    enqueuePolicy: (n) => policyEnqueued.push(n),
    concurrency: 4,
    certificateIntervalMs: 600_000,
    recheckIntervalMs: o.recheckMs ?? 30_000,
    probe,
    random: () => 0,
    owns: o.owns,
  });
  const addWeb = (count: number) => {
    services.set('default/web', service('default', 'web', [{ name: 'https', port: 443 }]));
    slices.set('default/web-1', slice('default', 'web', [{ name: 'https', port: 443 }], Array.from({ length: count }, (_, i) => ({ addresses: [`10.250.1.${i + 2}`] })), 'web-1'));
  };
  const putCert = (fingerprint: string | undefined, extra?: (c: Certificate) => void) => {
    const c = certificate('web', withSpec({ endpoints: [{ service: 'web', port: 443 }] }), (x) => {
      x.status = fingerprint === undefined ? {} : { fingerprintSHA256: fingerprint };
      extra?.(x);
    });
    certificates.set('default/web', { ok: true, certificate: c });
    return c;
  };
  return {
    clock,
    created,
    events,
    services,
    slices,
    certificates,
    policies,
    validation,
    probed,
    certEnqueued,
    policyEnqueued,
    addWeb,
    putCert,
    setServed: (f: (t: EndpointTarget) => string | undefined) => (served = f),
  };
}

describe('EndpointValidation', () => {
  it('probes every address once, tells the Certificate reconciler, and verifies from the results', async () => {
    const h = setup();
    h.addWeb(3);
    const cert = h.putCert(CURRENT);
    h.validation.start();
    expect(h.certEnqueued).toEqual(['default/web']);
    await h.clock.advance(10);
    expect(h.probed.sort()).toEqual(['10.250.1.2', '10.250.1.3', '10.250.1.4']);
    expect(h.certEnqueued.length).toBeGreaterThan(1);
    const v = h.validation.verifyCertificate(cert, CURRENT, false);
    expect(v !== undefined && v !== 'keep' && v.condition).toMatchObject({ status: 'True', reason: Reason.CurrentCertificateServed });
    // Quiet for the next ten minutes: the interval, not a busy loop.
    h.probed.length = 0;
    await h.clock.advance(599_000);
    expect(h.probed).toEqual([]);
    await h.clock.advance(2_000);
    expect(h.probed).toHaveLength(3);
    await h.validation.stop();
  });

  it('never says True from a plan made before the Certificate listed its endpoints', async () => {
    const h = setup();
    h.addWeb(2);
    h.validation.start();
    await h.clock.advance(10);
    // Added just now: the re-plan is coalesced, the reconcile may come first.
    const cert = h.putCert(CURRENT);
    const before = h.validation.verifyCertificate(cert, CURRENT, false);
    expect(before !== undefined && before !== 'keep' && before.condition).toMatchObject({ status: 'Unknown', reason: Reason.Pending });
    expect(h.validation.verifyCertificate(cert, CURRENT, true)).toBe('keep');
    await h.clock.advance(300);
    const after = h.validation.verifyCertificate(cert, CURRENT, true);
    expect(after !== undefined && after !== 'keep' && after.condition).toMatchObject({ status: 'True', reason: Reason.CurrentCertificateServed, message: expect.stringContaining('all 2 ready addresses') as unknown });
    await h.validation.stop();
  });

  it('notifies only when an outcome changes, not on every probe', async () => {
    const h = setup();
    h.addWeb(2);
    h.putCert(CURRENT);
    h.validation.start();
    await h.clock.advance(10);
    const after = h.certEnqueued.length;
    await h.clock.advance(3 * 610_000);
    expect(h.probed.length).toBeGreaterThanOrEqual(8);
    expect(h.certEnqueued.length).toBe(after);
    await h.validation.stop();
  });

  it('after a renewal probes at once and rechecks the lagging address until it serves the new certificate', async () => {
    const lagging = new Set(['10.250.1.3']);
    let renewed = false;
    const h = setup({ served: (t) => (!renewed ? OLD : lagging.has(t.address) ? OLD : CURRENT), recheckMs: 30_000 });
    h.addWeb(3);
    h.putCert(OLD);
    h.validation.start();
    await h.clock.advance(10);
    renewed = true;
    const cert = h.putCert(CURRENT);
    // Before the re-plan the results are for the old fingerprint: keep the previous verdict.
    expect(h.validation.verifyCertificate(cert, CURRENT, true)).toBe('keep');
    h.probed.length = 0;
    await h.clock.advance(300);
    expect(h.probed.sort()).toEqual(['10.250.1.2', '10.250.1.3', '10.250.1.4']);
    const v = h.validation.verifyCertificate(cert, CURRENT, true);
    if (v === undefined || v === 'keep') throw new Error('expected a verdict');
    expect(v.condition.reason).toBe(Reason.StaleCertificate);
    expect(v.lagging.map((l) => l.address)).toEqual(['10.250.1.3']);
    const rows = endpointMetricRows(h.validation.readings()).rows;
    expect(rows.find((r) => r.address === '10.250.1.3')?.certificates).toEqual([{ name: 'web', stale: true }]);
    expect(rows.find((r) => r.address === '10.250.1.2')?.certificates).toEqual([{ name: 'web', stale: false }]);
    const alert = endpointObservations(h.validation.readings()).find((x) => x.certificate === 'web');
    expect(alert).toMatchObject({ namespace: 'default', service: 'web', port: 443, stale: true, servedFingerprintSHA256: OLD, expectedFingerprintSHA256: CURRENT });
    // Only the lagging one is looked at again after the recheck interval.
    h.probed.length = 0;
    await h.clock.advance(30_000);
    expect(h.probed).toEqual(['10.250.1.3']);
    lagging.clear();
    await h.clock.advance(30_000);
    const back = h.validation.verifyCertificate(cert, CURRENT, true);
    expect(back !== undefined && back !== 'keep' && back.condition.reason).toBe(Reason.CurrentCertificateServed);
    h.probed.length = 0;
    await h.clock.advance(60_000);
    expect(h.probed).toEqual([]);
    await h.validation.stop();
  });

  it('forgets a removed address and re-resolves when the Service goes away', async () => {
    const h = setup();
    h.addWeb(3);
    const cert = h.putCert(CURRENT);
    h.validation.start();
    await h.clock.advance(10);
    h.slices.set('default/web-1', slice('default', 'web', [{ name: 'https', port: 443 }], [{ addresses: ['10.250.1.2'] }], 'web-1'));
    await h.clock.advance(300);
    expect(h.validation.targetCount).toBe(1);
    expect(servedCertificates(h.validation.readings()).map((s) => s.address)).toEqual(['10.250.1.2']);
    const queued = h.certEnqueued.length;
    h.services.remove('default/web');
    await h.clock.advance(300);
    expect(h.certEnqueued.length).toBe(queued + 1);
    const v = h.validation.verifyCertificate(cert, CURRENT, true);
    expect(v !== undefined && v !== 'keep' && v.condition.reason).toBe(Reason.ServiceNotFound);
    expect(endpointMetricRows(h.validation.readings()).rows).toEqual([]);
    await h.validation.stop();
  });

  it('summarises a policy, and reports an address that starts violating once', async () => {
    const h = setup({ served: (t) => (t.address === '10.250.1.3' ? OLD : CURRENT) });
    h.addWeb(2);
    h.policies.set(
      'edge',
      tlsPolicy('edge', withPolicySpec({ namespaceSelector: { matchLabels: { team: 'web' } }, endpoints: { serviceSelector: {}, interval: '1h', profile: 'intermediate' } })),
    );
    h.validation.start();
    await h.clock.advance(10);
    expect(h.policyEnqueued).toContain('edge');
    expect(h.validation.policySummary('edge')).toMatchObject({ total: 2, compliant: 1, violating: 1, unreachable: 0 });
    expect(h.validation.policySummary('nope')).toBeUndefined();
    await h.clock.advance(3_600_000 * 3);
    // Three more scans found the same: the address began violating once, so it is news once.
    const news = h.validation.takePolicyViolations('edge');
    expect(news.map((n) => [n.target.address, n.target.serviceUid, n.grade, n.violations.map((v) => v.id)])).toEqual([['10.250.1.3', 'uid-web', 'B', ['protocol-not-allowed']]]);
    expect(h.validation.takePolicyViolations('edge')).toEqual([]);
    const rows = endpointMetricRows(h.validation.readings()).rows;
    expect(rows.find((r) => r.address === '10.250.1.3')?.policies).toEqual([{ name: 'edge', violations: 1, grade: 4 }]);
    expect(endpointObservations(h.validation.readings()).find((o) => o.policy === 'edge')?.violations).toEqual([{ id: 'protocol-not-allowed', message: 'TLSv1.0 is accepted' }]);
    await h.validation.stop();
  });
});

describe('EndpointValidation with probe sharing', () => {
  it('probes only what it owns, takes the others\' results as its own, and probes at once what it gains', async () => {
    let mine = (key: string) => !key.includes('@10.250.1.4#');
    const h = setup({ owns: (k) => mine(k) });
    h.addWeb(3);
    const cert = h.putCert(CURRENT);
    h.validation.start();
    await h.clock.advance(10);
    expect(h.probed.sort()).toEqual(['10.250.1.2', '10.250.1.3']);
    expect(h.validation.ownedCount).toBe(2);
    const verdict = () => {
      const v = h.validation.verifyCertificate(cert, CURRENT, false);
      return v !== undefined && v !== 'keep' ? v.condition : undefined;
    };
    expect(verdict()).toMatchObject({ status: 'Unknown' });

    const other = [...h.validation.readings()].find((r) => r.target.address === '10.250.1.2');
    const key = `default/web:443@10.250.1.4#${other?.target.serverName ?? ''}`;
    expect(h.validation.plans(key)).toBe(true);
    const remote = { ...(other?.result as NonNullable<typeof other>['result']), probedAt: h.clock.now(), since: h.clock.now() };
    const before = h.certEnqueued.length;
    expect(h.validation.wantsResult(key, remote.probedAt)).toBe(true);
    expect(h.validation.importResult(key, remote)).toBe(true);
    expect(h.certEnqueued.length).toBeGreaterThan(before);
    expect(verdict()).toMatchObject({ status: 'True', reason: Reason.CurrentCertificateServed });
    // Never for a target the plan lacks; never an older probe over a newer one.
    expect(h.validation.importResult('default/web:443@10.9.9.9#', remote)).toBe(false);
    expect(h.validation.importResult(key, { ...remote, probedAt: remote.probedAt - 1 })).toBe(false);
    expect(h.validation.importResult(key, remote)).toBe(false);
    // The leader reads a shared result only when it would be recorded.
    expect(h.validation.wantsResult(key, remote.probedAt)).toBe(false);
    expect(h.validation.wantsResult(key, remote.probedAt + 1)).toBe(true);
    expect(h.validation.wantsResult('default/web:443@10.9.9.9#', remote.probedAt + 1)).toBe(false);
    // What it publishes: its own targets only.
    expect(h.validation.ownedResults().map(([k]) => k).sort()).toEqual([...h.validation.readings()].map((r) => r.target.key).filter((k) => k !== key).sort());

    // The owner of .4 left: this replica probes it at once, the rest keeps its schedule.
    h.probed.length = 0;
    mine = () => true;
    h.validation.ownershipChanged();
    await h.clock.advance(10);
    expect(h.probed).toEqual(['10.250.1.4']);
    await h.validation.stop();
  });
});

describe('withEndpointVerification (the Certificate status and its events)', () => {
  it('adds EndpointsVerified, and warns on the Certificate and the Service once per change', async () => {
    const h = setup({ served: (t) => (t.address === '10.250.1.3' ? OLD : CURRENT) });
    h.addWeb(2);
    const cert = h.putCert(CURRENT);
    h.validation.start();
    await h.clock.advance(10);
    const now = new Date(h.clock.now());
    const first = withEndpointVerification(cert, { ...cert.status }, h.validation, now);
    expect(first.status.conditions?.find((c) => c.type === 'EndpointsVerified')).toMatchObject({ status: 'False', reason: Reason.StaleCertificate });
    expect(first.status.endpoints?.[0]).toMatchObject({ address: '10.250.1.3', current: false });
    recordAll(h.events, first.events);
    // The same verdict again, as stored: no new events.
    const stored: Certificate = { ...cert, status: first.status };
    recordAll(h.events, withEndpointVerification(stored, { ...stored.status }, h.validation, now).events);
    await h.events.flush();
    expect(h.created.map((e) => [e.type, e.reason, e.regarding?.kind])).toEqual([
      ['Warning', 'StaleCertificate', 'Certificate'],
      ['Warning', 'StaleCertificate', 'Service'],
    ]);
    expect(h.created[1]?.note).toContain('10.250.1.3:443');
    expect(h.created[1]?.note).not.toContain('10.250.1.2');

    h.setServed(() => CURRENT);
    await h.clock.advance(30_000);
    const healed = withEndpointVerification(stored, { ...stored.status }, h.validation, new Date(h.clock.now()));
    expect(healed.status.conditions?.find((c) => c.type === 'EndpointsVerified')).toMatchObject({ status: 'True', reason: Reason.CurrentCertificateServed });
    recordAll(h.events, healed.events);
    await h.events.flush();
    expect(h.created.at(-1)).toMatchObject({ type: 'Normal', reason: 'EndpointsVerified' });
    await h.validation.stop();
  });

  it('drops the condition and status.endpoints when spec.endpoints goes away', async () => {
    const h = setup();
    h.validation.start();
    const cert = certificate('web', (c) => {
      c.status = { fingerprintSHA256: CURRENT, conditions: [{ type: 'EndpointsVerified', status: 'True', reason: 'CurrentCertificateServed', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] };
    });
    const v = withEndpointVerification(cert, { ...cert.status }, h.validation, new Date(h.clock.now()));
    expect(v.status.conditions).toEqual([]);
    expect(v.status.endpoints).toBeUndefined();
    await h.validation.stop();
  });
});

describe('needsRecheck', () => {
  const t = { expected: { 'default/web': CURRENT } } as unknown as EndpointTarget;
  const r = (o: Partial<ProbeResult>): ProbeResult => ({ probedAt: 0, durationMs: 1, expected: {}, reachable: true, ...o });
  it.each([
    ['unreachable', r({ reachable: false, error: 'x' }), true],
    ['no leaf', r({}), true],
    ['a stale leaf', r({ served: { fingerprintSHA256: OLD, notAfter: '', facts: {} as never } }), true],
    ['the current leaf', r({ served: { fingerprintSHA256: CURRENT, notAfter: '', facts: {} as never } }), false],
  ])('%s: %s', (_what, result, expected) => {
    expect(needsRecheck(t, result)).toBe(expected);
  });
});
