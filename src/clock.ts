// Time is injected everywhere decisions depend on it (renewal, backoff,
// leases, watch stalls), so tests drive a fake clock instead of sleeping.

export type TimerHandle = { readonly id: number };

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

let nextTimerId = 1;

/** Node fires a timer longer than this (about 24.8 days) after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

type RealHandle = TimerHandle & { t?: ReturnType<typeof setTimeout> };

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    // A renewal 60 days away must not fire in a millisecond: long waits are
    // chained in steps Node can represent.
    const handle: RealHandle = { id: nextTimerId++ };
    const due = Date.now() + Math.max(0, ms);
    const arm = (): void => {
      const left = due - Date.now();
      handle.t = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fn, Math.max(0, left));
    };
    arm();
    return handle;
  },
  clearTimeout(handle) {
    const t = (handle as RealHandle).t;
    if (t !== undefined) clearTimeout(t);
  },
};

/** Resolves after `ms` on the given clock; rejects with the signal's reason when aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
