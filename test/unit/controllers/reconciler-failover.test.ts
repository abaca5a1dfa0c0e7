import { describe, expect, it } from 'vitest';
import type { Certificate, CertificateStatus } from '../../../src/api/certificate.js';
import { ConditionType, Reason } from '../../../src/api/conditions.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import { IssuerHealthRegistry } from '../../../src/controllers/certificate/issuer-health.js';
import { CertificateReconciler } from '../../../src/controllers/certificate/reconciler.js';
import { getCondition, type Condition } from '../../../src/kube/conditions.js';
import { statusChanged } from '../../../src/kube/status.js';
import type { ParsedCertificate } from '../../../src/model/certificate.js';
import type { Governed } from '../../../src/model/spec.js';
import { certificate, selectingAll, tlsPolicy, withPolicySpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { factsFor, fakeDrivers, reconcileContext, RecordingEvents } from './fakes.js';

// The Certificate reconciler with a policy listing two CA issuers (one fake
// driver answers both): a CA-side failure of the first fails over to the
// second in the same reconcile and passes the first over for every other
// Certificate; a failure caused by the Certificate does not fail over.

const NOW = Date.parse('2026-03-01T00:00:00Z');
const policy: TLSPolicy = tlsPolicy(
  'p',
  selectingAll,
  withPolicySpec({ issuers: [{ name: 'first', ca: { secretName: 'first-ca' } }, { name: 'second', ca: { secretName: 'second-ca' } }] }),
);
policy.status = {
  observedGeneration: 1,
  issuers: ['first', 'second'].map((name) => ({ name, kind: 'ca' as const, ready: true, reason: 'IssuerReady', message: 'ok' })),
};

function harness() {
  const clock = new FakeClock(NOW);
  const certificates = new Map<string, ParsedCertificate>();
  const writes: { cert: Certificate; status: CertificateStatus }[] = [];
  const events = new RecordingEvents();
  const fakes = fakeDrivers();
  const changed: string[] = [];
  const health = new IssuerHealthRegistry({ onChange: (name) => changed.push(name) });
  const reconciler = new CertificateReconciler({
    clock,
    certificates: { get: (key) => certificates.get(key) },
    policies: { list: () => [policy] },
    namespaceLabels: () => ({}),
    secrets: { get: () => undefined },
    secretWriters: () => [],
    status: {
      write: (cert, status) => {
        writes.push({ cert, status });
        return Promise.resolve(statusChanged(cert.status, status));
      },
    },
    events,
    drivers: fakes.drivers,
    health,
  });
  const put = (name: string) => {
    const c = certificate(name);
    certificates.set(`default/${name}`, { ok: true, certificate: c });
    return c;
  };
  return { clock, writes, events, fakes, health, changed, reconciler, put, run: (name: string) => reconciler.reconcile(`default/${name}`, reconcileContext()) };
}

const issued = (g: Governed, cert: Certificate) => {
  const facts = factsFor(g, new Date(NOW - 60_000), 90);
  return { kind: 'issued' as const, cert, result: { revision: 1, serialNumber: facts.serialNumber, notAfter: facts.notAfter, reusedKey: false, secretResourceVersion: '1', facts } };
};
const advanced = (h: ReturnType<typeof harness>) => h.fakes.ca.calls.flatMap((c) => (c.op === 'advance' ? [(c.request).governed.issuerName] : []));
const cond = (s: CertificateStatus | undefined, type: string) => getCondition(s?.conditions as Condition[] | undefined, type);

describe('CertificateReconciler with spec.issuers', () => {
  it('fails over to the next issuer in the same reconcile on a CA-side failure, and says so', async () => {
    const h = harness();
    const web = h.put('web');
    h.fakes.ca.steps.push({ kind: 'failed', message: 'CA Secret certkeeper/first-ca does not exist', cert: web, side: 'issuer' });
    // The second step is scripted lazily: it needs the Governed the reconciler passes.
    const advance = h.fakes.ca.advance.bind(h.fakes.ca);
    h.fakes.ca.advance = (r) => {
      if (h.fakes.ca.steps.length === 0) h.fakes.ca.steps.push(issued(r.governed, r.cert));
      return advance(r);
    };
    await h.run('web');
    expect(advanced(h)).toEqual(['first', 'second']);
    const last = h.writes.at(-1)?.status;
    expect(last?.issuer).toBe('second');
    expect(last?.skippedIssuers).toEqual([{ name: 'first', reason: Reason.IssuerUnavailable, message: 'CA Secret certkeeper/first-ca does not exist' }]);
    expect(last?.failedIssuanceAttempts).toBeUndefined();
    expect(cond(last, ConditionType.Ready)).toMatchObject({ status: 'True', reason: Reason.Issued, message: expect.stringContaining('issued by fallback issuer "second"') as string });
    expect(h.events.recorded.map((e) => e.reason)).toEqual([Reason.IssuerFailover, Reason.IssuedByFallback, Reason.Issued]);
    expect(h.health.current('p', 'first')).toMatchObject({ failures: 1, unavailableUntil: NOW + 30_000 });
    expect(h.changed).toEqual(['p']);

    // Another Certificate does not ask the failing issuer at all while it is passed over.
    const api = h.put('api');
    h.fakes.ca.calls.length = 0;
    h.fakes.ca.advance = (r) => advance(r);
    h.fakes.ca.steps.push(issued({ ...(await firstGoverned()), issuerName: 'second' }, api));
    await h.run('api');
    expect(advanced(h)).toEqual(['second']);
    expect(h.writes.at(-1)?.status.skippedIssuers?.[0]).toMatchObject({ name: 'first', reason: Reason.IssuerUnavailable });

    // Once its time is over, the next issuance tries it again, and a success makes it healthy for all.
    await h.clock.advance(31_000);
    const db = h.put('db');
    h.fakes.ca.calls.length = 0;
    h.fakes.ca.steps.push(issued(await firstGoverned(), db));
    await h.run('db');
    expect(advanced(h)).toEqual(['first']);
    expect(h.health.current('p', 'first')).toEqual({ failures: 0 });
    expect(h.writes.at(-1)?.status).toMatchObject({ issuer: 'first' });
    expect(h.writes.at(-1)?.status.skippedIssuers).toBeUndefined();
  });

  it('does not fail over on a failure caused by the Certificate: it backs off as before', async () => {
    const h = harness();
    const web = h.put('web');
    h.fakes.ca.steps.push({ kind: 'failed', message: 'the CA cannot sign Ed25519 keys', cert: web, side: 'certificate' });
    const result = await h.run('web');
    expect(advanced(h)).toEqual(['first']);
    expect(h.writes.at(-1)?.status).toMatchObject({ failedIssuanceAttempts: 1, lastFailureMessage: 'the CA cannot sign Ed25519 keys' });
    expect(h.writes.at(-1)?.status.issuer).toBeUndefined();
    expect(result).toEqual({ requeueAfter: 10_000 });
    expect(h.health.current('p', 'first')).toEqual({ failures: 0 });
    expect(h.events.recorded.map((e) => e.reason)).toEqual([Reason.IssuanceFailed]);
  });

  it('when every issuer fails on the CA side: counts the attempt, then waits for the first to be tried again', async () => {
    const h = harness();
    const web = h.put('web');
    h.fakes.ca.steps.push({ kind: 'failed', message: 'first down', cert: web, side: 'issuer' }, { kind: 'failed', message: 'second down', cert: web, side: 'issuer' });
    await h.run('web');
    expect(advanced(h)).toEqual(['first', 'second']);
    expect(h.writes.at(-1)?.status).toMatchObject({ failedIssuanceAttempts: 1, lastFailureMessage: 'second down' });

    // Past the Certificate's own backoff, both issuers are still passed over: no CA is asked.
    await h.clock.advance(11_000);
    const c = h.put('web');
    c.status = { ...h.writes.at(-1)?.status, failedIssuanceAttempts: 0 };
    h.fakes.ca.calls.length = 0;
    const result = await h.run('web');
    expect(advanced(h)).toEqual([]);
    expect(cond(h.writes.at(-1)?.status, ConditionType.Issuing)).toMatchObject({ status: 'False', reason: Reason.NoIssuerAvailable });
    expect(result).toEqual({ requeueAfter: 19_000 });
  });
});

async function firstGoverned(): Promise<Governed> {
  const { decide } = await import('../../../src/controllers/certificate/decide.js');
  const d = decide({ certificate: certificate('x'), namespaceLabels: {}, policies: [policy], secret: { state: 'absent' }, now: new Date(NOW) });
  if (d.kind !== 'issue') throw new Error(d.kind);
  return d.governed;
}
