import { describe, expect, it } from 'vitest';
import type { Certificate, CertificateSpec } from '../../../src/api/certificate.js';
import { Reason } from '../../../src/api/conditions.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import { CertificateReconciler } from '../../../src/controllers/certificate/reconciler.js';
import type { IssueStep } from '../../../src/controllers/drivers/driver.js';
import { TLSPolicyReconciler, accountRetryMs } from '../../../src/controllers/tlspolicy/reconciler.js';
import { statusChanged } from '../../../src/kube/status.js';
import type { TlsSecretSummary } from '../../../src/model/secret.js';
import type { IssuerKind } from '../../../src/model/spec.js';
import { certificate, selectingAll, tlsPolicy, withCaIssuer, withGuardrails, withPolicySpec, withSelfSigned } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { seededRandom } from '../../support/pki.js';
import { factsFor, fakeDrivers, governedBy, reconcileContext, RecordingEvents, secretSummary, validSecret } from './fakes.js';

// The reconcilers' input handling over random inputs (seeded, so a failure
// reproduces): whatever the caches hold and whatever the driver answers, a
// reconcile settles to "done" or a sane requeue, only the governing driver
// issues, events follow what was written, and the same input gives the same
// outcome.

const NOW = Date.parse('2026-03-15T00:00:00Z');
const DAY = 86_400_000;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const policies: Record<IssuerKind, TLSPolicy> = {
  ca: tlsPolicy('ca', selectingAll, withCaIssuer('root'), withGuardrails({ maxDuration: '2160h' })),
  selfSigned: tlsPolicy('self', selectingAll, withSelfSigned),
  acme: tlsPolicy('le', selectingAll, withPolicySpec({ issuer: { acme: { server: 'https://acme.example/directory', privateKeySecretRef: { name: 'a' }, solvers: [{ http01: { ingress: {} } }] } } })),
};
const kindOf: Record<string, IssuerKind> = { ca: 'ca', self: 'selfSigned', le: 'acme' };

function randomSpec(r: () => number): Partial<CertificateSpec> {
  return {
    dnsNames: pick(r, [['web.example.com'], ['web.example.com'], ['a.example.com', 'b.example.com'], ['*.example.com'], []]),
    duration: pick(r, [undefined, undefined, '24h', '2160h', '9000h']),
    policyRef: pick(r, [undefined, undefined, { name: 'self' }, { name: 'le' }, { name: 'missing' }]),
    ipAddresses: pick(r, [undefined, undefined, undefined, undefined, ['10.0.0.1']]),
  };
}

interface Case {
  cert: Certificate;
  secret: TlsSecretSummary | undefined;
  step: IssueStep;
  writers: string[];
}

function randomCase(r: () => number, i: number): Case {
  const cert = certificate('web', (c) => {
    c.spec = { ...c.spec, ...randomSpec(r) };
    c.metadata.generation = pick(r, [1, 1, 2]);
    if (r() < 0.4) c.status = { failedIssuanceAttempts: pick(r, [1, 3, 8]), lastFailureTime: new Date(NOW - pick(r, [1_000, 60_000, DAY])).toISOString(), observedGeneration: 1 };
    if (r() < 0.1) c.metadata.annotations = { 'certkeeper.dev/renew-requested-at': new Date(NOW - 1000).toISOString() };
  });
  const policy = policies[kindOf[cert.spec.policyRef?.name ?? 'ca'] ?? 'ca'];
  const governed = governedBy(cert, policy, kindOf[policy.metadata.name] ?? 'ca');
  const facts = factsFor(governed, new Date(NOW - pick(r, [1, 50, 100]) * DAY), 90);
  const state = pick(r, [undefined, { state: 'invalid' as const, error: 'x', annotations: { 'certkeeper.dev/certificate-name': 'web' } }, validSecret(governed, facts), validSecret(governed, facts, { 'certkeeper.dev/spec-hash': 'old' })]);
  const secret = state === undefined ? undefined : secretSummary('default', cert.spec.secretName, state, String(i));
  const result = { revision: 2, serialNumber: '0f', notAfter: new Date(NOW + 90 * DAY), reusedKey: false, secretResourceVersion: pick(r, [undefined, 'rv-new']), facts: factsFor(governed, new Date(NOW), 90) };
  const step = pick<IssueStep>(r, [
    { kind: 'gone' },
    { kind: 'issued', result, cert },
    { kind: 'failed', message: 'refused', retryAfterMs: pick(r, [undefined, 1, 600_000]), cert },
    { kind: 'waiting', ms: pick(r, [0, 250, 10_000]), why: { reason: Reason.OrderPending, message: 'order' }, prerequisite: r() < 0.5 },
  ]);
  const writers = r() < 0.1 ? ['default/another', 'default/web'] : ['default/web'];
  return { cert, secret, step, writers };
}

/** One reconcile of a fresh reconciler over the case, and everything it did. */
async function reconcileOnce(c: Case) {
  const clock = new FakeClock(NOW);
  const writes: unknown[] = [];
  const events = new RecordingEvents();
  const fakes = fakeDrivers({ acmeFinalizer: 'x/y' });
  for (const d of fakes.all) d.steps.push(structuredClone(c.step));
  const reconciler = new CertificateReconciler({
    clock,
    certificates: { get: (key) => (key === 'default/web' ? { ok: true, certificate: structuredClone(c.cert) } : undefined) },
    policies: { list: () => Object.values(policies) },
    namespaceLabels: () => ({}),
    secrets: { get: (key) => (key === `default/${c.cert.spec.secretName}` ? c.secret : undefined) },
    secretWriters: () => c.writers,
    status: {
      write: (cert, status) => {
        writes.push(status);
        return Promise.resolve(statusChanged(cert.status, status));
      },
    },
    events,
    drivers: fakes.drivers,
  });
  const result = await reconciler.reconcile('default/web', reconcileContext());
  return { result, writes, events: events.recorded, fakes };
}

describe('CertificateReconciler over random inputs', () => {
  it('settles, issues only through the governing driver, and is deterministic, for 1,500 random inputs', async () => {
    const r = seededRandom(12);
    const seen = { issue: 0, current: 0, blocked: 0, backoff: 0 };
    for (let i = 0; i < 1500; i++) {
      const c = randomCase(r, i);
      const run = await reconcileOnce(c);
      const calls = run.fakes.ca.calls;
      if (calls.length === 0) seen.backoff++;
      else if (calls.some((x) => x.op === 'settle' && x.governed === undefined)) seen.blocked++;
      else if (run.fakes.all.some((d) => d.ops().includes('advance'))) seen.issue++;
      else seen.current++;
      if (run.result !== undefined) {
        expect(Number.isFinite(run.result.requeueAfter)).toBe(true);
        expect(run.result.requeueAfter).toBeGreaterThanOrEqual(50);
      }
      const advanced = run.fakes.all.filter((d) => d.ops().includes('advance'));
      expect(advanced.length).toBeLessThanOrEqual(1);
      for (const d of advanced) {
        const call = d.calls.find((x) => x.op === 'advance');
        expect(call?.op === 'advance' && call.request.governed.issuerKind).toBe(d.kind);
      }
      const kept = run.fakes.all.filter((d) => d.ops().includes('keepCurrent'));
      expect(kept.length).toBeLessThanOrEqual(1);
      expect(advanced.length + kept.length).toBeLessThanOrEqual(1);
      // An Issued event only from an issued step; an IssuanceFailed one only from a failed step, after its status.
      const reasons = run.events.map((e) => e.reason);
      if (reasons.includes(Reason.Issued)) expect(advanced.length === 1 && c.step.kind).toBe('issued');
      if (reasons.includes(Reason.IssuanceFailed)) expect(advanced.length === 1 && c.step.kind).toBe('failed');
      if (advanced.length === 1 && c.step.kind === 'gone') expect(run.writes).toEqual([]);
      expect(run.events.length).toBeLessThanOrEqual(run.writes.length);

      const again = await reconcileOnce(c);
      expect(JSON.stringify([again.result, again.writes, again.events])).toBe(JSON.stringify([run.result, run.writes, run.events]));
    }
    // The inputs reach every decision often enough for the properties to mean something.
    for (const count of Object.values(seen)) expect(count).toBeGreaterThan(50);
  });
});

describe('TLSPolicyReconciler over random readiness sequences', () => {
  it('requeues as a model of the per-generation backoff predicts, for 200 sequences of 30 reconciles', async () => {
    const r = seededRandom(99);
    for (let s = 0; s < 200; s++) {
      const fakes = fakeDrivers();
      const policy = tlsPolicy('le', withPolicySpec(policies.acme.spec));
      const reconciler = new TLSPolicyReconciler({
        clock: new FakeClock(NOW),
        policies: { get: () => policy },
        governedCount: () => 0,
        policiesApi: { writeStatus: () => Promise.resolve({ outcome: 'unchanged' }) },
        events: new RecordingEvents(),
        drivers: fakes.drivers,
      });
      let failures = 0;
      let generation = policy.metadata.generation ?? 0;
      for (let i = 0; i < 30; i++) {
        if (r() < 0.1) policy.metadata.generation = (policy.metadata.generation ?? 0) + 1;
        const ok = r() < 0.3;
        const backOff = r() < 0.8;
        fakes.acme.readinessAnswer = { ok, explanation: { reason: ok ? Reason.AccountRegistered : Reason.AccountRegistrationFailed, message: 'm' }, backOffWhileNotReady: backOff };
        // The model: failures count per generation, reset by success; only a driver that asks backs off.
        let expected = 300_000;
        if (backOff) {
          if (ok) failures = 0;
          else {
            failures = generation === policy.metadata.generation ? failures + 1 : 1;
            generation = policy.metadata.generation ?? 0;
            expected = accountRetryMs(failures);
          }
        }
        const result = await reconciler.reconcile('le');
        expect(result).toEqual({ requeueAfter: expected });
      }
    }
  });
});
