import { AcmeError, describeProblem, failureKind, parseRetryAfter } from './problem.js';
import type { AcmeExchange } from './transport.js';

/**
 * Turns what acme-client threw, plus the exchanges recorded while it ran,
 * into an AcmeError: the last failed exchange decides the kind (by HTTP
 * status and problem type) and supplies the CA's words and Retry-After.
 */
export function classifyAcmeFailure(what: string, error: unknown, exchanges: readonly AcmeExchange[], now: number): AcmeError {
  if (error instanceof AcmeError) return error;
  const failed = [...exchanges].reverse().find((e) => e.status === undefined || e.status >= 400);
  const thrown = error instanceof Error ? error.message : String(error);
  if (failed === undefined) {
    // acme-client refused on its own (an unexpected answer shape): not worth retrying the same order.
    return new AcmeError('final', `${what}: ${thrown}`, {}, { cause: error });
  }
  if (failed.status === undefined) {
    return new AcmeError('transient', `${what}: ${failed.method} ${failed.url}: ${failed.error ?? thrown}`, {}, { cause: error });
  }
  const problemType = failed.problem?.type;
  const kind = failureKind(failed.status, problemType);
  const text = failed.problem !== undefined ? describeProblem(failed.problem, failed.status) : `${thrown || 'no problem document'} (HTTP ${failed.status})`;
  return new AcmeError(kind, `${what}: ${text}`, { status: failed.status, problemType, retryAfterMs: parseRetryAfter(failed.retryAfter, now) }, { cause: error });
}
