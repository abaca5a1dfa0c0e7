import { setTimeout as sleep } from 'node:timers/promises';

// The one poll-until loop of hack/ and of the tests' helpers: the environment's
// readiness waits, the demo's and the bench's waits on the operator, and the
// integration tests' waitFor all ask "again, until it holds or time is up",
// and all owe a person the same answer when it never holds: what was awaited,
// what was seen last, and the last error.

export interface PollContext {
  /** Records what the probe saw this time; the last one is in the timeout message. */
  observe: (value: unknown) => void;
  /** 1 on the first call. */
  attempt: number;
}

/** Time as the loop sees it: injectable, so the loop itself is tested without waiting. */
export interface PollTimer {
  now(): number;
  sleep(ms: number, signal: AbortSignal | undefined): Promise<void>;
}

export const realPollTimer: PollTimer = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

export interface PollOptions {
  /** What is awaited, for the messages ("Certificate shop/web Ready=True"). */
  description: string;
  timeoutMs: number;
  /** Pause between attempts; default 100 ms. */
  intervalMs?: number;
  /** Ends the wait early with the signal's reason (Ctrl-C). */
  signal?: AbortSignal;
  /**
   * Asked before every attempt: an Error ends the wait at once with it (a
   * process the wait depends on has died, so waiting longer cannot help).
   */
  giveUpIf?: () => Error | undefined;
  timer?: PollTimer;
}

/** The wait ran out of time; the message says what was awaited and what was seen. */
export class PollTimeoutError extends Error {
  override name = 'PollTimeoutError';

  constructor(
    readonly description: string,
    readonly timeoutMs: number,
    readonly attempts: number,
    /** What the probe passed to `observe` last; undefined when it never did. */
    readonly lastSeen: unknown,
    readonly lastError: unknown,
  ) {
    super(
      [
        `timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${description}`,
        `last seen: ${lastSeen === undefined ? '(nothing observed)' : show(lastSeen)}`,
        ...(lastError === undefined ? [] : [`last error: ${show(lastError)}`]),
      ].join('; '),
    );
  }
}

/** A value for a message: errors by their message, the rest as JSON. */
export function show(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Calls `probe` until it returns something other than undefined, and returns
 * that. A throwing probe counts as "not yet" (its error is kept for the
 * message). Throws PollTimeoutError after `timeoutMs`, the abort reason when
 * `signal` fires, and `giveUpIf`'s error as soon as it returns one.
 */
export async function pollUntil<T>(
  probe: (context: PollContext) => T | undefined | Promise<T | undefined>,
  options: PollOptions,
): Promise<Exclude<T, undefined>> {
  const timer = options.timer ?? realPollTimer;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = timer.now() + options.timeoutMs;
  let lastSeen: unknown = undefined;
  let lastError: unknown = undefined;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const reason = options.giveUpIf?.();
    if (reason !== undefined) throw reason;
    const context: PollContext = {
      attempt,
      observe: (value) => {
        lastSeen = value;
      },
    };
    try {
      const value = await probe(context);
      if (value !== undefined) return value as Exclude<T, undefined>;
    } catch (error) {
      lastError = error;
    }
    if (timer.now() >= deadline) throw new PollTimeoutError(options.description, options.timeoutMs, attempt, lastSeen, lastError);
    await timer.sleep(intervalMs, options.signal);
  }
}
