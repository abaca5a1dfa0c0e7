import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, realClock } from '../../src/clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('realClock.setTimeout', () => {
  it('waits the whole time for delays beyond what a Node timer can hold', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    realClock.setTimeout(fired, 60 * 24 * 3_600_000); // 60 days, a typical renewal
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(60 * 24 * 3_600_000 - MAX_TIMER_MS - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('can be cancelled in any step of a long wait', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const handle = realClock.setTimeout(fired, 3 * MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 5);
    realClock.clearTimeout(handle);
    vi.advanceTimersByTime(3 * MAX_TIMER_MS);
    expect(fired).not.toHaveBeenCalled();
  });

  it('fires short timers as usual', () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    realClock.setTimeout(fired, 50);
    vi.advanceTimersByTime(50);
    expect(fired).toHaveBeenCalledTimes(1);
  });
});
