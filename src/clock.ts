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

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.max(0, ms));
    const handle = { id: nextTimerId++, t };
    return handle;
  },
  clearTimeout(handle) {
    const t = (handle as { t?: ReturnType<typeof setTimeout> }).t;
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
