// What every network job returns: the server accepted what was offered, it
// refused it, or the probe could not tell (connection refused, timeout, a
// local limitation). Judges only ever see these three, never an exception.

export type JobOutcome<T> =
  | { status: 'accepted'; value: T; elapsedMs: number }
  | { status: 'rejected'; reason: string; elapsedMs: number }
  | { status: 'error'; error: string; elapsedMs: number };

export type JobStatus = JobOutcome<unknown>['status'];

/** Where and how to connect. */
export interface ProbeTarget {
  host: string;
  port: number;
  /** SNI and the name the certificate must match; none for an IP literal. */
  serverName?: string;
}

export function accepted<T>(value: T, elapsedMs: number): JobOutcome<T> {
  return { status: 'accepted', value, elapsedMs };
}

export function rejected<T>(reason: string, elapsedMs: number): JobOutcome<T> {
  return { status: 'rejected', reason, elapsedMs };
}

export function failed<T>(error: string, elapsedMs: number): JobOutcome<T> {
  return { status: 'error', error, elapsedMs };
}

export function mapAccepted<T, U>(outcome: JobOutcome<T>, map: (value: T) => U): JobOutcome<U> {
  return outcome.status === 'accepted' ? { ...outcome, value: map(outcome.value) } : outcome;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] ?? error.name : String(error);
}

/** Milliseconds since `start` (performance.now()), rounded to 0.1 ms. */
export function since(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

/** A scan ran past its overall deadline: the jobs not started by then were not started. */
export class ScanDeadlineError extends Error {
  override readonly name = 'ScanDeadlineError';
}

/**
 * Runs at most `concurrency` tasks at once; each call waits for a free slot.
 * `deadline` (performance.now() time): a task whose turn comes later is not
 * started and rejects with ScanDeadlineError, so a server that answers every
 * handshake slowly costs one deadline, not one timeout per job.
 */
export function createLimiter(concurrency: number, deadline?: number): <T>(task: () => Promise<T>) => Promise<T> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  let running = 0;
  const waiting: (() => void)[] = [];
  // A finishing task hands its slot straight to the next waiter, so a newcomer cannot slip in between.
  const release = (): void => {
    const next = waiting.shift();
    if (next === undefined) running--;
    else next();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      if (deadline !== undefined && performance.now() > deadline) throw new ScanDeadlineError('the scan passed its deadline');
      return await task();
    } finally {
      release();
    }
  };
}
