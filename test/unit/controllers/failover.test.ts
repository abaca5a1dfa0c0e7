import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import {
  afterFailure,
  availability,
  chooseIssuer,
  HEALTHY,
  issuerBackoffMs,
  TRIAL_MS,
  withTrial,
  type FailureSignal,
  type IssuerCandidate,
  type IssuerHealth,
} from '../../../src/controllers/certificate/failover.js';
import { acmeFailureSide, AcmeError, type AcmeFailureKind } from '../../../src/issuers/acme/problem.js';

const now = Date.parse('2026-03-01T00:00:00Z');
const key = 'default/web';
const down = (ms: number, failures = 1): IssuerHealth => ({ failures, unavailableUntil: now + ms, lastFailureAt: now - 1, lastFailure: 'connect ECONNREFUSED' });
const recovering: IssuerHealth = { failures: 2, unavailableUntil: now - 1, lastFailure: 'HTTP 503' };
const candidate = (name: string, over: Partial<IssuerCandidate> = {}): IssuerCandidate => ({ name, readiness: { state: 'ready' }, health: HEALTHY, ...over });

describe('availability', () => {
  it.each<[string, IssuerHealth, string, ReturnType<typeof availability>['ok'], boolean | undefined]>([
    ['healthy', HEALTHY, key, true, false],
    ['down', down(60_000), key, false, undefined],
    ['down until exactly now (over)', down(0), key, true, true],
    ['recovering, no trial yet', recovering, key, true, true],
    ['recovering, trial held by this Certificate', withTrial(recovering, key, now), key, true, true],
    ['recovering, trial held by another', withTrial(recovering, 'default/other', now), key, false, undefined],
    ['recovering, another trial timed out', withTrial(recovering, 'default/other', now - TRIAL_MS - 1), key, true, true],
  ])('%s', (_name, h, k, ok, trial) => {
    const a = availability(h, now, k);
    expect(a.ok).toBe(ok);
    if (a.ok) expect(a.trial).toBe(trial);
    else expect(a.until).toBeGreaterThan(now);
  });

  it('says why and until when an issuer is passed over', () => {
    const a = availability(down(90_000, 3), now, key);
    expect(a).toEqual({ ok: false, until: now + 90_000, message: 'unavailable until 2026-03-01T00:01:30Z after 3 CA-side failures: connect ECONNREFUSED' });
  });
});

describe('chooseIssuer', () => {
  const ineligible = { reason: Reason.NoSolver, message: 'no solver for db.internal' };
  it.each<[string, IssuerCandidate[], { kind: string; index?: number; trial?: boolean; skipped: string[]; retryAt?: number | undefined }]>([
    ['the first when all are healthy', [candidate('a'), candidate('b')], { kind: 'use', index: 0, trial: false, skipped: [] }],
    ['the next when the first is down', [candidate('a', { health: down(30_000) }), candidate('b')], { kind: 'use', index: 1, trial: false, skipped: ['a:IssuerUnavailable'] }],
    [
      'the next when the first can never issue this Certificate',
      [candidate('a', { refused: ineligible }), candidate('ca')],
      { kind: 'use', index: 1, trial: false, skipped: ['a:IssuerNotEligible'] },
    ],
    [
      'the next when the first is not ready (its account was refused)',
      [candidate('a', { readiness: { state: 'notReady', why: { reason: Reason.AccountRegistrationFailed, message: 'connect ECONNREFUSED' } } }), candidate('b')],
      { kind: 'use', index: 1, trial: false, skipped: ['a:IssuerNotReady'] },
    ],
    ['waits for a preferred issuer the policy has not judged yet', [candidate('a', { readiness: { state: 'unknown' } }), candidate('b')], { kind: 'wait', index: 0, skipped: [] }],
    [
      'waits for the second when the first is down and the second not judged',
      [candidate('a', { health: down(30_000) }), candidate('b', { readiness: { state: 'unknown' } }), candidate('c')],
      { kind: 'wait', index: 1, skipped: ['a:IssuerUnavailable'] },
    ],
    ['the first again once its time is over (a trial)', [candidate('a', { health: recovering }), candidate('b')], { kind: 'use', index: 0, trial: true, skipped: [] }],
    [
      'the next while another Certificate tries the first',
      [candidate('a', { health: withTrial(recovering, 'default/other', now) }), candidate('b')],
      { kind: 'use', index: 1, trial: false, skipped: ['a:IssuerUnavailable'] },
    ],
    [
      'none when all are down: retry when the first may be tried',
      [candidate('a', { health: down(90_000) }), candidate('b', { health: down(30_000) })],
      { kind: 'none', skipped: ['a:IssuerUnavailable', 'b:IssuerUnavailable'], retryAt: now + 30_000 },
    ],
    [
      'none without a time when none is ready or eligible',
      [candidate('a', { refused: ineligible }), candidate('b', { readiness: { state: 'notReady', why: { reason: Reason.CASecretNotFound, message: 'gone' } } })],
      { kind: 'none', skipped: ['a:IssuerNotEligible', 'b:IssuerNotReady'], retryAt: undefined },
    ],
    ['the last resort when both ACME CAs are down', [candidate('le', { health: down(1000) }), candidate('zerossl', { health: down(2000) }), candidate('internal')], { kind: 'use', index: 2, trial: false, skipped: ['le:IssuerUnavailable', 'zerossl:IssuerUnavailable'] }],
  ])('%s', (_name, candidates, want) => {
    const c = chooseIssuer(candidates, { now, key });
    expect({ ...c, skipped: c.skipped.map((s) => `${s.name}:${s.reason}`) }).toEqual(want);
  });
});

describe('afterFailure', () => {
  const budget = { now, rateLimitBudgetMs: 10 * 60_000 };
  const signal = (over: Partial<FailureSignal>): FailureSignal => ({ side: 'issuer', rateLimited: false, message: 'HTTP 503', ...over });

  it.each<[string, IssuerHealth, FailureSignal, { failover: boolean; failures: number; untilMs?: number }]>([
    ['a refusal caused by the Certificate does not fail over, nor count against the CA', HEALTHY, signal({ side: 'certificate' }), { failover: false, failures: 0 }],
    ['a CA-side failure fails over and passes the issuer over for 30 s', HEALTHY, signal({}), { failover: true, failures: 1, untilMs: 30_000 }],
    ['a second one in a row: 60 s', down(0, 1), signal({}), { failover: true, failures: 2, untilMs: 60_000 }],
    ['a rate limit inside the budget is waited out on the same issuer', HEALTHY, signal({ rateLimited: true, retryAfterMs: 5 * 60_000 }), { failover: false, failures: 0 }],
    ['a rate limit past the budget fails over until its Retry-After', HEALTHY, signal({ rateLimited: true, retryAfterMs: 3_600_000 }), { failover: true, failures: 1, untilMs: 3_600_000 }],
    ['a rate limit without Retry-After fails over', HEALTHY, signal({ rateLimited: true }), { failover: true, failures: 1, untilMs: 30_000 }],
    ['a 5xx with a short Retry-After: the backoff is longer', HEALTHY, signal({ retryAfterMs: 1000 }), { failover: true, failures: 1, untilMs: 30_000 }],
  ])('%s', (_name, h, f, want) => {
    const o = afterFailure(h, f, budget);
    expect(o.failover).toBe(want.failover);
    expect(o.health.failures).toBe(want.failures);
    if (want.untilMs !== undefined) expect(o.health.unavailableUntil).toBe(now + want.untilMs);
    if (!want.failover) expect(o.health).toBe(h);
  });

  it('a failed trial ends the trial and doubles the wait', () => {
    const o = afterFailure(withTrial(recovering, key, now), signal({}), budget);
    expect(o.health).toEqual({ failures: 3, unavailableUntil: now + 120_000, lastFailureAt: now, lastFailure: 'HTTP 503' });
  });

  it('backs off 30 s doubling to at most 30 min', () => {
    expect([0, 1, 2, 3, 6, 7, 20].map(issuerBackoffMs)).toEqual([0, 30_000, 60_000, 120_000, 960_000, 1_800_000, 1_800_000]);
  });

  it('a trial is only taken on a recovering issuer', () => {
    expect(withTrial(HEALTHY, key, now)).toBe(HEALTHY);
    expect(withTrial(recovering, key, now).trial).toEqual({ key, until: now + TRIAL_MS });
  });
});

describe('acmeFailureSide', () => {
  const p = (t: string) => `urn:ietf:params:acme:error:${t}`;
  it.each<[AcmeFailureKind, number | undefined, string | undefined, 'issuer' | 'certificate']>([
    ['transient', undefined, undefined, 'issuer'], // unreachable
    ['transient', 503, undefined, 'issuer'],
    ['transient', 500, p('serverInternal'), 'issuer'],
    ['rateLimited', 429, p('rateLimited'), 'issuer'],
    ['final', 403, p('userActionRequired'), 'issuer'],
    ['final', 400, p('accountDoesNotExist'), 'issuer'],
    ['final', 403, p('externalAccountRequired'), 'issuer'],
    ['final', 400, p('rejectedIdentifier'), 'certificate'],
    ['final', 400, p('unsupportedIdentifier'), 'certificate'],
    ['final', 403, p('caa'), 'certificate'],
    ['final', 400, p('badCSR'), 'certificate'],
    ['final', 400, p('malformed'), 'certificate'],
    ['final', 403, p('unauthorized'), 'certificate'],
    ['final', 400, p('connection'), 'certificate'],
    ['final', 400, p('dns'), 'certificate'],
    ['final', 400, p('incorrectResponse'), 'certificate'],
    ['final', 400, 'urn:example:unknown', 'certificate'],
    ['final', undefined, undefined, 'certificate'], // the client refused on its own, a self-check timed out, DNS update refused
  ])('%s HTTP %s %s: %s', (kind, status, problemType, side) => {
    expect(acmeFailureSide(new AcmeError(kind, 'x', { status, problemType }))).toBe(side);
  });
});
