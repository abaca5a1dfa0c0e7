import { describe, expect, it } from 'vitest';
import type { Certificate, CertificateStatus } from '../../../src/api/certificate.js';
import { ConditionType, Reason } from '../../../src/api/conditions.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import { renewalOf } from '../../../src/controllers/certificate/decide.js';
import { CertificateReconciler } from '../../../src/controllers/certificate/reconciler.js';
import type { IssueResult } from '../../../src/controllers/certificate/secret-writer.js';
import type { IssueStep } from '../../../src/controllers/drivers/driver.js';
import { getCondition, type Condition } from '../../../src/kube/conditions.js';
import { statusChanged } from '../../../src/kube/status.js';
import type { ParsedCertificate } from '../../../src/model/certificate.js';
import { SecretAnnotation, type IssuedFacts, type TlsSecretSummary } from '../../../src/model/secret.js';
import type { Governed } from '../../../src/model/spec.js';
import { certificate, selectingAll, tlsPolicy, withCaIssuer, withDuration, withGuardrails, withSpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { factsFor, fakeDrivers, governedBy, reconcileContext, RecordingEvents, secretSummary, validSecret } from './fakes.js';

// The Certificate reconciler with Map-backed caches, a status writer that
// records what it is asked to write (and says "changed" the way the real one
// does), recorded events and scripted issuer drivers: what it writes, whom it
// calls, and when it looks again, for each decision and each issue step.

const NOW = Date.parse('2026-03-01T00:00:00Z');
const DAY = 86_400_000;
const FINALIZER = 'test.certkeeper.dev/fake-release';
const caPolicy = tlsPolicy('ca', selectingAll, withCaIssuer('root'));

interface StatusWrite {
  cert: Certificate;
  status: CertificateStatus;
  withEndpoints: boolean;
}

function harness(policies: TLSPolicy[] = [caPolicy]) {
  const clock = new FakeClock(NOW);
  const certificates = new Map<string, ParsedCertificate>();
  const secrets = new Map<string, TlsSecretSummary>();
  const writes: StatusWrite[] = [];
  const events = new RecordingEvents();
  const fakes = fakeDrivers({ acmeFinalizer: FINALIZER });
  const reconciler = new CertificateReconciler({
    clock,
    certificates: { get: (key) => certificates.get(key) },
    policies: { list: () => policies },
    namespaceLabels: () => ({}),
    secrets: { get: (key) => secrets.get(key) },
    secretWriters: (secretKey) =>
      [...certificates.entries()]
        .filter(([key, c]) => c.ok && `${key.split('/')[0] ?? ''}/${c.certificate.spec.secretName}` === secretKey)
        .map(([key]) => key),
    status: {
      write: (cert, status, withEndpoints = true) => {
        writes.push({ cert, status, withEndpoints });
        return Promise.resolve(statusChanged(cert.status, status));
      },
    },
    events,
    drivers: fakes.drivers,
  });
  const put = (c: Certificate): Certificate => {
    certificates.set(`${c.metadata.namespace ?? 'default'}/${c.metadata.name}`, { ok: true, certificate: c });
    return c;
  };
  const putSecret = (summary: TlsSecretSummary) => secrets.set(`${summary.namespace}/${summary.name}`, summary);
  const run = (key = 'default/web') => reconciler.reconcile(key, reconcileContext());
  return { clock, certificates, secrets, writes, events, fakes, reconciler, put, putSecret, run };
}

const cond = (status: CertificateStatus | undefined, type: string): Condition | undefined => getCondition(status?.conditions as Condition[] | undefined, type);

/** A Secret the cache holds for `cert`: current for `governed` unless the facts say otherwise. */
function secretFor(cert: Certificate, governed: Governed, facts: IssuedFacts, resourceVersion = '7', annotations: Record<string, string> = {}): TlsSecretSummary {
  return secretSummary(cert.metadata.namespace ?? 'default', cert.spec.secretName, validSecret(governed, facts, annotations), resourceVersion);
}

function issueResult(governed: Governed, over: Partial<IssueResult> = {}): IssueResult {
  const facts = factsFor(governed, new Date(NOW - 60_000), 90, { serialNumber: '0b0b' });
  return { revision: 3, serialNumber: '0b0b', notAfter: facts.notAfter, reusedKey: false, secretResourceVersion: '42', facts, ...over };
}

describe('CertificateReconciler: objects it cannot or need not issue for', () => {
  it('writes InvalidSpec without endpoints for a Certificate that does not parse, and calls no driver', async () => {
    const h = harness();
    const raw = certificate('web');
    h.certificates.set('default/web', { ok: false, raw, error: 'spec.secretName: Required' });
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.writes).toHaveLength(1);
    expect(h.writes[0]?.withEndpoints).toBe(false);
    expect(cond(h.writes[0]?.status, ConditionType.Ready)).toMatchObject({ status: 'False', reason: Reason.InvalidSpec, message: 'spec.secretName: Required' });
    expect(h.fakes.all.flatMap((d) => d.calls)).toEqual([]);
  });

  it('tells every driver to forget a Certificate the cache no longer has', async () => {
    const h = harness();
    await expect(h.run('team/gone')).resolves.toBeUndefined();
    for (const d of h.fakes.all) expect(d.calls).toEqual([{ op: 'forget', key: 'team/gone' }]);
    expect(h.writes).toEqual([]);
  });

  it.each([
    ['a note', 'revoked serial 0a at https://acme.example', [{ reason: 'Revoked', note: 'revoked serial 0a at https://acme.example' }]],
    ['no note', undefined, []],
  ])('on deletion, the driver whose finalizer it carries releases it (%s)', async (_name, note, expectedEvents) => {
    const h = harness([caPolicy, tlsPolicy('le', selectingAll)]);
    h.fakes.acme.releaseNote = note;
    h.put(
      certificate('web', (c) => {
        c.metadata.deletionTimestamp = '2026-03-01T00:00:00Z';
        c.metadata.finalizers = ['other.example/keep', FINALIZER];
        c.status = { policy: 'le' };
      }),
    );
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.fakes.acme.calls).toEqual([{ op: 'release', cert: 'web', policy: 'le' }]);
    expect(h.fakes.ca.calls).toEqual([]);
    expect(h.events.recorded.map((e) => ({ reason: e.reason, note: e.note }))).toEqual(expectedEvents);
    expect(h.events.recorded.every((e) => e.type === 'Normal')).toBe(true);
    expect(h.writes).toEqual([]);
  });

  it('on deletion, a driver whose finalizer the Certificate does not carry is not asked to release', async () => {
    const h = harness();
    h.put(
      certificate('web', (c) => {
        c.metadata.deletionTimestamp = '2026-03-01T00:00:00Z';
        c.metadata.finalizers = ['other.example/keep'];
      }),
    );
    await h.run();
    expect(h.fakes.all.flatMap((d) => d.calls)).toEqual([]);
  });
});

describe('CertificateReconciler: blocked', () => {
  it.each<[string, TLSPolicy[], Certificate, string, string | undefined]>([
    ['no policy', [], certificate('web'), Reason.NoPolicy, undefined],
    ['a guardrail', [tlsPolicy('g', selectingAll, withCaIssuer('root'), withGuardrails({ maxDuration: '1h' }))], certificate('web', withDuration('2h')), Reason.DurationTooLong, 'g'],
  ])('by %s: Ready=False, a Warning, every driver settles with no governing policy', async (_name, policies, cert, reason, policy) => {
    const h = harness(policies);
    h.put(cert);
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.writes).toHaveLength(1);
    const status = h.writes[0]?.status;
    expect(h.writes[0]?.withEndpoints).toBe(true);
    expect(cond(status, ConditionType.Ready)).toMatchObject({ status: 'False', reason });
    expect(status?.policy).toBe(policy);
    expect(h.events.recorded).toEqual([expect.objectContaining({ type: 'Warning', reason, action: 'Validate', regarding: expect.objectContaining({ kind: 'Certificate', name: 'web' }) as unknown })]);
    for (const d of h.fakes.all) expect(d.calls).toEqual([{ op: 'settle', cert: 'web', governed: undefined }]);
  });

  it('records the Warning only when the status changed: a second reconcile of the same state is quiet', async () => {
    const h = harness([]);
    const cert = h.put(certificate('web'));
    await h.run();
    cert.status = h.writes[0]?.status;
    await h.clock.advance(60_000);
    await h.run();
    expect(h.writes).toHaveLength(2);
    expect(h.events.recorded.map((e) => e.reason)).toEqual([Reason.NoPolicy]);
  });

  it('the second of two Certificates naming one Secret is told SecretInUse; the first issues', async () => {
    const h = harness();
    h.put(certificate('a', withSpec({ secretName: 'shared' })));
    h.put(certificate('b', withSpec({ secretName: 'shared' })));
    h.fakes.ca.steps.push({ kind: 'waiting', ms: 1000, why: { reason: Reason.OrderPending, message: 'x' }, prerequisite: false });
    await h.run('default/b');
    expect(cond(h.writes[0]?.status, ConditionType.Ready)).toMatchObject({ reason: Reason.SecretInUse, message: expect.stringContaining('Certificate "a"') as unknown });
    await h.run('default/a');
    expect(h.fakes.ca.ops()).toEqual(['settle', 'syncFinalizer', 'advance']);
  });

  it('the Certificate the Secret names as its writer keeps it, whatever the name order', async () => {
    const h = harness();
    const a = h.put(certificate('a', withSpec({ secretName: 'shared' })));
    h.put(certificate('b', withSpec({ secretName: 'shared' })));
    h.putSecret(secretSummary('default', 'shared', { state: 'invalid', error: 'bad', annotations: { [SecretAnnotation.certificateName]: 'b' } }));
    await h.run('default/a');
    expect(cond(h.writes[0]?.status, ConditionType.Ready)).toMatchObject({ reason: Reason.SecretInUse, message: expect.stringContaining('Certificate "b"') as unknown });
    expect(h.writes[0]?.cert).toBe(a);
  });
});

describe('CertificateReconciler: a current Secret', () => {
  const cert = certificate('web');
  const governed = governedBy(cert, caPolicy, 'ca');
  const facts = factsFor(governed, new Date(NOW - 10 * DAY), 90);
  const untilRenewal = renewalOf(cert, governed.spec, facts).time.getTime() - NOW;

  it.each<[string, number | undefined, number]>([
    ['nothing sooner from the driver', undefined, untilRenewal],
    ['the driver asking sooner', 60_000, 60_000],
    ['the driver asking later than renewal', untilRenewal + DAY, untilRenewal],
    ['the driver asking for less than a second', 10, 1000],
  ])('Ready=True, finalizers synced on every driver, keepCurrent of the governing one; requeue with %s', async (_name, sooner, requeue) => {
    const h = harness();
    h.put(certificate('web'));
    h.putSecret(secretFor(cert, governed, facts, '7', { [SecretAnnotation.revision]: '4' }));
    h.fakes.ca.keepCurrentMs = sooner;
    await expect(h.run()).resolves.toEqual({ requeueAfter: requeue });
    expect(h.writes).toHaveLength(1);
    const status = h.writes[0]?.status;
    expect(cond(status, ConditionType.Ready)).toMatchObject({ status: 'True', reason: Reason.Issued });
    expect(cond(status, ConditionType.PolicyCompliant)).toMatchObject({ status: 'True' });
    expect(status).toMatchObject({ policy: 'ca', revision: 4, serialNumber: facts.serialNumber, notAfter: '2026-05-20T00:00:00Z' });
    expect(h.fakes.ca.ops()).toEqual(['syncFinalizer', 'settle', 'keepCurrent']);
    expect(h.fakes.ca.calls[2]).toMatchObject({ op: 'keepCurrent', key: 'default/web', governed: { issuerKind: 'ca', specHash: governed.specHash } });
    for (const d of [h.fakes.acme, h.fakes.selfSigned]) {
      expect(d.ops()).toEqual(['syncFinalizer', 'settle']);
      expect(d.calls[0]).toEqual({ op: 'syncFinalizer', cert: 'web', policy: 'ca' });
    }
    expect(h.events.recorded).toEqual([]);
  });
});

describe('CertificateReconciler: issuing', () => {
  it.each<[string, TlsSecretSummary | undefined, string, boolean]>([
    ['no Secret in the cache', undefined, Reason.DoesNotExist, true],
    ['an invalid Secret', secretSummary('default', 'web-tls', { state: 'invalid', error: 'not PEM', annotations: { [SecretAnnotation.certificateName]: 'web' } }), Reason.InvalidData, false],
  ])('with %s, advances the governing driver only, after syncing finalizers', async (_name, secret, reason, knownAbsent) => {
    const h = harness();
    const cert = h.put(certificate('web'));
    if (secret !== undefined) h.putSecret(secret);
    h.fakes.ca.steps.push({ kind: 'gone' });
    await h.run();
    expect(h.fakes.ca.ops()).toEqual(['syncFinalizer', 'advance']);
    const call = h.fakes.ca.calls[1];
    if (call?.op !== 'advance') throw new Error('expected advance');
    expect(call.request).toMatchObject({ key: 'default/web', cert, secretKnownAbsent: knownAbsent, now: new Date(NOW), trigger: { reason } });
    expect(call.request.secret.state).toBe(secret?.state.state ?? 'absent');
    expect(call.request.governed).toMatchObject({ issuerKind: 'ca', issuerIdentity: 'ca:root' });
    for (const d of [h.fakes.acme, h.fakes.selfSigned]) expect(d.ops()).toEqual(['syncFinalizer']);
  });

  it('gone: nothing is written, no event, no requeue', async () => {
    const h = harness();
    h.put(certificate('web'));
    h.fakes.ca.steps.push({ kind: 'gone' });
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.writes).toEqual([]);
    expect(h.events.recorded).toEqual([]);
  });

  it('issued: a Normal Issued event, Ready from what was written, requeue at renewal', async () => {
    const h = harness();
    const cert = h.put(certificate('web'));
    const governed = governedBy(cert, caPolicy, 'ca');
    const result = issueResult(governed);
    h.fakes.ca.steps.push({ kind: 'issued', result, cert });
    const renewal = renewalOf(cert, governed.spec, result.facts);
    await expect(h.run()).resolves.toEqual({ requeueAfter: renewal.time.getTime() - NOW });
    expect(h.events.recorded).toEqual([
      {
        type: 'Normal',
        regarding: expect.objectContaining({ kind: 'Certificate', name: 'web', namespace: 'default' }) as unknown,
        reason: Reason.Issued,
        note: `Issued revision 3 (serial 0b0b, expires ${result.notAfter.toISOString()}): Secret "web-tls" does not exist`,
        action: 'Issue',
      },
    ]);
    expect(h.writes).toHaveLength(1);
    expect(cond(h.writes[0]?.status, ConditionType.Ready)).toMatchObject({ status: 'True', reason: Reason.Issued });
    expect(h.writes[0]?.status).toMatchObject({ revision: 3, serialNumber: '0b0b', policy: 'ca' });
  });

  it('after issuing, waits for the Secret cache to reach the written resourceVersion before deciding again', async () => {
    const h = harness();
    const cert = h.put(certificate('web'));
    const governed = governedBy(cert, caPolicy, 'ca');
    const result = issueResult(governed);
    h.fakes.ca.steps.push({ kind: 'issued', result, cert });
    await h.run();

    // The cache has nothing yet, then an older version: wait, without asking any driver.
    await expect(h.run()).resolves.toEqual({ requeueAfter: 500 });
    h.putSecret(secretFor(cert, governed, result.facts, '41'));
    await expect(h.run()).resolves.toEqual({ requeueAfter: 500 });
    expect(h.fakes.ca.ops().filter((op) => op === 'advance')).toHaveLength(1);

    // The version written arrives: the Secret is current.
    h.putSecret(secretFor(cert, governed, result.facts, '42'));
    const next = await h.run();
    expect(next?.requeueAfter).toBeGreaterThan(500);
    expect(h.fakes.ca.ops().slice(-1)).toEqual(['keepCurrent']);
  });

  it('stops waiting for the Secret cache after 30 s and decides from what it has', async () => {
    const h = harness();
    const cert = h.put(certificate('web'));
    h.fakes.ca.steps.push({ kind: 'issued', result: issueResult(governedBy(cert, caPolicy, 'ca')), cert });
    await h.run();
    await h.clock.advance(29_000);
    await expect(h.run()).resolves.toEqual({ requeueAfter: 500 });
    await h.clock.advance(1_001);
    h.fakes.ca.steps.push({ kind: 'gone' });
    await h.run();
    expect(h.fakes.ca.ops().filter((op) => op === 'advance')).toHaveLength(2);
  });

  it('an issue without a resourceVersion sets no expectation', async () => {
    const h = harness();
    const cert = h.put(certificate('web'));
    h.fakes.ca.steps.push({ kind: 'issued', result: issueResult(governedBy(cert, caPolicy, 'ca'), { secretResourceVersion: undefined }), cert }, { kind: 'gone' });
    await h.run();
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.fakes.ca.ops().filter((op) => op === 'advance')).toHaveLength(2);
  });
});

describe('CertificateReconciler: a failed issuance', () => {
  const longAgo = '2026-02-28T00:00:00Z';

  it.each<[string, CertificateStatus | undefined, number | undefined, number, string | undefined]>([
    ['the first failure: 10 s', undefined, undefined, 10_000, undefined],
    ['the third failure: 40 s', { failedIssuanceAttempts: 2, lastFailureTime: longAgo, observedGeneration: 1 }, undefined, 40_000, undefined],
    ['a CA Retry-After shorter than the backoff', undefined, 5_000, 10_000, undefined],
    ['a CA Retry-After longer than the backoff', undefined, 120_000, 120_000, '2026-03-01T00:02:00Z'],
  ])('%s', async (_name, status, retryAfterMs, requeue, retryAfterTime) => {
    const h = harness();
    const cert = h.put(certificate('web', (c) => (c.status = status)));
    h.fakes.ca.steps.push({ kind: 'failed', message: 'CA Secret default/root does not exist', retryAfterMs, cert });
    await expect(h.run()).resolves.toEqual({ requeueAfter: requeue });
    const attempts = (status?.failedIssuanceAttempts ?? 0) + 1;
    const written = h.writes[0]?.status;
    expect(written).toMatchObject({ failedIssuanceAttempts: attempts, lastFailureTime: '2026-03-01T00:00:00Z', lastFailureMessage: 'CA Secret default/root does not exist', policy: 'ca' });
    expect(written?.retryAfterTime).toBe(retryAfterTime);
    expect(cond(written, ConditionType.Issuing)).toMatchObject({ status: 'False', reason: Reason.Backoff });
    expect(cond(written, ConditionType.Ready)).toMatchObject({ status: 'False', reason: Reason.IssuanceFailed });
    const nextAt = new Date(NOW + requeue).toISOString();
    expect(h.events.recorded).toEqual([
      expect.objectContaining({ type: 'Warning', reason: Reason.IssuanceFailed, note: `CA Secret default/root does not exist (attempt ${attempts}; next at ${nextAt})`, action: 'Issue' }),
    ]);
  });

  it.each<[string, number, string, 'True' | 'False']>([
    ['a renewal of a still valid Secret keeps Ready True', 80, Reason.Issued, 'True'],
    ['an expired Secret is not Ready', 100, Reason.IssuanceFailed, 'False'],
  ])('%s', async (_name, ageDays, readyReason, ready) => {
    const h = harness();
    const cert = h.put(certificate('web'));
    const governed = governedBy(cert, caPolicy, 'ca');
    h.putSecret(secretFor(cert, governed, factsFor(governed, new Date(NOW - ageDays * DAY), 90)));
    cert.status = { conditions: [{ type: ConditionType.Ready, status: 'True', reason: Reason.Issued, message: 'valid', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] };
    h.fakes.ca.steps.push({ kind: 'failed', message: 'boom', cert });
    await h.run();
    const advance = h.fakes.ca.calls.find((c) => c.op === 'advance');
    expect(advance?.op === 'advance' && advance.request.trigger.reason).toBe(ageDays < 90 ? Reason.Renewing : Reason.Expired);
    expect(cond(h.writes[0]?.status, ConditionType.Ready)).toMatchObject({ status: ready, reason: readyReason });
  });

  it('backs off without calling any driver while the last failure is recent', async () => {
    const h = harness();
    h.put(certificate('web', (c) => (c.status = { failedIssuanceAttempts: 2, lastFailureTime: '2026-02-28T23:59:55Z', observedGeneration: 1 })));
    await expect(h.run()).resolves.toEqual({ requeueAfter: 15_000 });
    expect(h.fakes.all.flatMap((d) => d.calls)).toEqual([]);
    expect(h.events.recorded).toEqual([]);
    expect(h.writes.map((w) => w.status)).toEqual([{ failedIssuanceAttempts: 2, lastFailureTime: '2026-02-28T23:59:55Z', observedGeneration: 1 }]);
  });
});

describe('CertificateReconciler: waiting', () => {
  const waiting = (prerequisite: boolean, ms: number): IssueStep => ({ kind: 'waiting', ms, why: { reason: Reason.AccountNotReady, message: 'waiting for TLSPolicy "ca" to register its ACME account' }, prerequisite });

  it('for a prerequisite: Issuing=False with the reason is written, and it looks again after ms', async () => {
    const h = harness();
    h.put(certificate('web', (c) => (c.metadata.generation = 3)));
    h.fakes.ca.steps.push(waiting(true, 10_000));
    await expect(h.run()).resolves.toEqual({ requeueAfter: 10_000 });
    expect(h.writes).toHaveLength(1);
    expect(h.writes[0]?.status.policy).toBe('ca');
    expect(cond(h.writes[0]?.status, ConditionType.Issuing)).toEqual({
      type: ConditionType.Issuing,
      status: 'False',
      reason: Reason.AccountNotReady,
      message: 'waiting for TLSPolicy "ca" to register its ACME account',
      lastTransitionTime: '2026-03-01T00:00:00Z',
      observedGeneration: 3,
    });
    expect(h.events.recorded).toEqual([]);
  });

  it.each([
    [250, 250],
    [0, 50],
  ])('on its own progress (%i ms): nothing is written, requeue after %i ms', async (ms, requeue) => {
    const h = harness();
    h.put(certificate('web'));
    h.fakes.ca.steps.push(waiting(false, ms));
    await expect(h.run()).resolves.toEqual({ requeueAfter: requeue });
    expect(h.writes).toEqual([]);
  });
});
