// The API server says "not now" with 429 (and 503) and a Retry-After: right
// after it starts ("storage is (re)initializing"), under priority-and-fairness
// limits, during an etcd leader change. client-go waits and repeats such a
// request up to ten times; so do we, for every one-shot call (the CLI, status
// patches, Secret writes), a bounded number of times. Everything else throws
// at once, as before. Informers have their own backoff and do not come here.

import { realClock, type Clock } from '../clock.js';
import { retryingClient } from './retrying-client.js';
import { retryAfterMs, statusCodeOf } from './errors.js';

export interface BackPressureOptions {
  clock?: Clock;
  /** Calls in all, the first included. */
  attempts?: number;
  /** A Retry-After longer than this is cut to it; without one, 1 s doubling up to it. */
  maxDelayMs?: number;
}

const DEFAULTS = { attempts: 6, maxDelayMs: 10_000 };

/** How long to wait before repeating a call that failed with `err`, or undefined when it must not be repeated. */
export function backPressureDelay(err: unknown, attempt: number, maxDelayMs: number): number | undefined {
  const code = statusCodeOf(err);
  if (code !== 429 && code !== 503) return undefined;
  const asked = retryAfterMs(err);
  // A 503 without Retry-After is a real outage, not back-pressure: let the caller see it.
  if (asked === undefined && code === 503) return undefined;
  return Math.min(asked ?? 1000 * 2 ** (attempt - 1), maxDelayMs);
}

/** The client with each method repeated while the API server pushes back. */
export function retryOnBackPressure<T extends object>(client: T, options: BackPressureOptions = {}): T {
  const attempts = options.attempts ?? DEFAULTS.attempts;
  const maxDelayMs = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  return retryingClient(client, (err, attempt) => (attempt < attempts ? backPressureDelay(err, attempt, maxDelayMs) : undefined), options.clock ?? realClock);
}
