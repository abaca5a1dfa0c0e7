// What went wrong talking to an ACME server, in the terms the Certificate
// controller acts on: retry the same order later (transient, rateLimited) or
// give the order up (final). The message is the CA's own problem document
// text, so the condition a user reads says what the CA said.

export type AcmeFailureKind =
  /** Network trouble, 5xx, an exhausted badNonce retry: the order survives, try again after a backoff. */
  | 'transient'
  /** 429 or a rateLimited problem: wait at least the CA's Retry-After. */
  | 'rateLimited'
  /** The CA refused for good (invalid order or authorization, 4xx problem): start over with a new order. */
  | 'final';

export interface AcmeProblemDocument {
  type?: string | undefined;
  detail?: string | undefined;
  status?: number | undefined;
  subproblems?: { type?: string; detail?: string; identifier?: { type?: string; value?: string } }[] | undefined;
}

export class AcmeError extends Error {
  override readonly name = 'AcmeError';

  constructor(
    readonly kind: AcmeFailureKind,
    message: string,
    readonly details: {
      /** HTTP status of the failed response; absent for network errors. */
      status?: number | undefined;
      /** RFC 8555 problem type, e.g. urn:ietf:params:acme:error:rateLimited. */
      problemType?: string | undefined;
      /** The CA's Retry-After, in ms from when it answered. */
      retryAfterMs?: number | undefined;
    } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const PROBLEM_PREFIX = 'urn:ietf:params:acme:error:';

/** "detail (type, HTTP status)", with subproblems: what a condition message shows. */
export function describeProblem(problem: AcmeProblemDocument, httpStatus?: number): string {
  const type = problem.type?.startsWith(PROBLEM_PREFIX) ? problem.type.slice(PROBLEM_PREFIX.length) : problem.type;
  const status = problem.status ?? httpStatus;
  const tags = [type, status === undefined ? undefined : `HTTP ${status}`].filter((t): t is string => t !== undefined && t !== '');
  const detail = (problem.detail ?? '').trim() || 'no detail given';
  const sub = (problem.subproblems ?? [])
    .map((s) => `${s.identifier?.value ?? '?'}: ${(s.detail ?? s.type ?? '').trim()}`)
    .filter((s) => s.length > 3);
  return `${detail}${tags.length > 0 ? ` (${tags.join(', ')})` : ''}${sub.length > 0 ? `; ${sub.join('; ')}` : ''}`;
}

export function isProblemDocument(value: unknown): value is AcmeProblemDocument {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' || typeof v.detail === 'string';
}

/** How a failed HTTP exchange with the CA is treated. */
export function failureKind(httpStatus: number | undefined, problemType: string | undefined): AcmeFailureKind {
  if (httpStatus === undefined) return 'transient';
  if (httpStatus === 429 || problemType === `${PROBLEM_PREFIX}rateLimited`) return 'rateLimited';
  if (httpStatus >= 500) return 'transient';
  if (problemType === `${PROBLEM_PREFIX}badNonce`) return 'transient';
  return 'final';
}

/**
 * Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP date. Milliseconds
 * from `now`, or undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  const at = /^\d+$/.test(text) ? now + Number(text) * 1000 : Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  // A CA may ask for anything; past a day it is a mistake or hostile, and a
  // larger delay overflows the timers and dates it would be written into.
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, at - now));
}

/** The longest wait a CA's Retry-After can impose. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * Problem types that say the CA, or our account with it, cannot serve anyone
 * right now: another CA may well issue. Every other refusal is about the
 * Certificate (names, CAA, CSR, a challenge our solver did not pass) or not
 * understood, and is not a reason to go to another CA.
 */
const ISSUER_SIDE_PROBLEMS: ReadonlySet<string> = new Set(
  ['serverInternal', 'userActionRequired', 'externalAccountRequired', 'accountDoesNotExist', 'badNonce', 'rateLimited'].map((t) => `${PROBLEM_PREFIX}${t}`),
);

/** Whether a failure is the CA's (unreachable, 5xx, rate-limited, a refused account) or the Certificate's. */
export function acmeFailureSide(e: Pick<AcmeError, 'kind' | 'details'>): 'issuer' | 'certificate' {
  if (e.kind === 'transient' || e.kind === 'rateLimited') return 'issuer';
  const type = e.details.problemType;
  if (type !== undefined && ISSUER_SIDE_PROBLEMS.has(type)) return 'issuer';
  if (type === undefined && e.details.status !== undefined && e.details.status >= 500) return 'issuer';
  return 'certificate';
}
