import type { Clock, TimerHandle } from '../../src/clock.js';

interface PendingTimer {
  handle: TimerHandle;
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that moves only when told. `advance` fires due timers in order and
 * lets promise callbacks settle between them, so async code driven by timers
 * (backoff, lease renewal, stall watchdogs) runs to completion in a test.
 */
export class FakeClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private seq = 0;

  constructor(start = Date.parse('2026-01-01T00:00:00Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = { id: ++this.seq };
    this.timers.push({ handle, due: this.current + Math.max(0, ms), seq: this.seq, fn });
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.handle.id !== handle.id);
  }

  pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      const next = this.timers[0];
      if (next === undefined || next.due > target) break;
      this.timers.shift();
      this.current = next.due;
      next.fn();
      await flushPromises();
    }
    this.current = target;
    await flushPromises();
  }
}

/** Lets queued promise reactions and immediate callbacks run. */
export async function flushPromises(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
