import type { SkippedIssuer } from '../../api/certificate.js';
import { Reason } from '../../api/conditions.js';
import type { Violation } from '../../model/violation.js';

// Pure: which of a policy's ordered issuers issues now, and what a failed
// attempt does to the issuer's health. The health of an issuer is shared by
// every Certificate of the policy (issuer-health.ts keeps it); these
// functions only read and return it, so every rule is a table-driven test.

/** How one issuer of a policy has been doing, as every Certificate of the policy sees it. Times in ms since the epoch. */
export interface IssuerHealth {
  /** Consecutive CA-side failures; 0 = healthy. */
  failures: number;
  /** No Certificate asks this issuer before then. */
  unavailableUntil?: number | undefined;
  lastFailureAt?: number | undefined;
  lastFailure?: string | undefined;
  /**
   * After unavailableUntil, one Certificate tries the issuer again while the
   * others keep using the next one; a trial whose outcome never came ends here.
   */
  trial?: { key: string; until: number } | undefined;
}

export const HEALTHY: IssuerHealth = { failures: 0 };

/** How long a trial of a recovering issuer keeps it for one Certificate (an ACME order takes several steps). */
export const TRIAL_MS = 2 * 60_000;

/** What the policy's reconciler said about an issuer (its account, its CA Secret); unknown until it has looked at this generation. */
export type IssuerReadinessView = { state: 'ready' } | { state: 'notReady'; why: { reason: string; message: string } } | { state: 'unknown' };

export interface IssuerCandidate {
  name: string;
  /** What this issuer can never issue for this Certificate (its static rules), if anything. */
  refused?: Violation | undefined;
  readiness: IssuerReadinessView;
  health: IssuerHealth;
}

export type IssuerChoice =
  /** Issue with candidates[index]; `trial`: it is recovering and this Certificate tries it for everyone. */
  | { kind: 'use'; index: number; trial: boolean; skipped: SkippedIssuer[] }
  /** candidates[index] has not been judged by the policy yet: wait for it rather than pass over a preferred issuer. */
  | { kind: 'wait'; index: number; skipped: SkippedIssuer[] }
  /** None can issue now; `retryAt` when the first of them may again (undefined: only a change of policy or spec helps). */
  | { kind: 'none'; retryAt: number | undefined; skipped: SkippedIssuer[] };

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** Whether a health lets `key` ask the issuer at `now`; the reason it does not otherwise. */
export function availability(h: IssuerHealth, now: number, key: string): { ok: true; trial: boolean } | { ok: false; until: number; message: string } {
  if (h.unavailableUntil !== undefined && h.unavailableUntil > now) {
    return { ok: false, until: h.unavailableUntil, message: `unavailable until ${iso(h.unavailableUntil)} after ${h.failures} CA-side failure${h.failures === 1 ? '' : 's'}: ${h.lastFailure ?? 'no message'}` };
  }
  if (h.failures === 0) return { ok: true, trial: false };
  if (h.trial !== undefined && h.trial.key !== key && h.trial.until > now) {
    return { ok: false, until: h.trial.until, message: `recovering: Certificate ${h.trial.key} is trying it again (last failure: ${h.lastFailure ?? 'no message'})` };
  }
  return { ok: true, trial: true };
}

/** Walks the issuers in order: the first that may issue now is used; those passed over say why. */
export function chooseIssuer(candidates: readonly IssuerCandidate[], at: { now: number; key: string }): IssuerChoice {
  const skipped: SkippedIssuer[] = [];
  let retryAt: number | undefined;
  for (const [index, c] of candidates.entries()) {
    if (c.refused !== undefined) {
      skipped.push({ name: c.name, reason: Reason.IssuerNotEligible, message: c.refused.message });
      continue;
    }
    if (c.readiness.state === 'unknown') return { kind: 'wait', index, skipped };
    if (c.readiness.state === 'notReady') {
      skipped.push({ name: c.name, reason: Reason.IssuerNotReady, message: `${c.readiness.why.reason}: ${c.readiness.why.message}` });
      continue;
    }
    const a = availability(c.health, at.now, at.key);
    if (a.ok) return { kind: 'use', index, trial: a.trial, skipped };
    skipped.push({ name: c.name, reason: Reason.IssuerUnavailable, message: a.message });
    retryAt = retryAt === undefined ? a.until : Math.min(retryAt, a.until);
  }
  return { kind: 'none', retryAt, skipped };
}

/** Who a failed attempt speaks against: the CA (fail over) or the Certificate (every CA would answer alike, or the user must act). */
export interface FailureSignal {
  side: 'issuer' | 'certificate';
  /** The CA said 429 / rateLimited. */
  rateLimited: boolean;
  retryAfterMs?: number | undefined;
  message: string;
}

export const DEFAULT_RATE_LIMIT_BUDGET_MS = 10 * 60_000;

/** How long an issuer is passed over after its n-th consecutive CA-side failure: 30 s doubling, at most 30 min. */
export function issuerBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(30_000 * 2 ** (failures - 1), 30 * 60_000);
}

export interface FailureOutcome {
  /** The issuer's health after this failure (unchanged for a failure that is not the CA's). */
  health: IssuerHealth;
  /** Whether the Certificate should move on to the next issuer now, rather than back off on this one. */
  failover: boolean;
}

/**
 * What a failed attempt does. A refusal caused by the Certificate never fails
 * over (another CA would refuse too, or the user must see it: a name a CA will
 * never issue, a CAA record, a challenge our solver could not answer). A rate
 * limit whose Retry-After fits the budget is waited out on the same issuer.
 * Anything else the CA did counts against its health, shared by all
 * Certificates of the policy, and moves on.
 */
export function afterFailure(h: IssuerHealth, f: FailureSignal, o: { now: number; rateLimitBudgetMs: number }): FailureOutcome {
  if (f.side === 'certificate') return { health: h, failover: false };
  if (f.rateLimited && f.retryAfterMs !== undefined && f.retryAfterMs <= o.rateLimitBudgetMs) return { health: h, failover: false };
  const failures = h.failures + 1;
  const until = o.now + Math.max(issuerBackoffMs(failures), f.retryAfterMs ?? 0);
  return { health: { failures, unavailableUntil: until, lastFailureAt: o.now, lastFailure: f.message.slice(0, 1000) }, failover: true };
}

/** The issuer issued: healthy again, for every Certificate. */
export function afterSuccess(): IssuerHealth {
  return HEALTHY;
}

/** `key` starts a trial of a recovering issuer (or extends its own). */
export function withTrial(h: IssuerHealth, key: string, now: number): IssuerHealth {
  return h.failures === 0 ? h : { ...h, trial: { key, until: now + TRIAL_MS } };
}
