import { describe, expect, it } from 'vitest';
import { nextPollDelay, POLL_FIRST_MS, POLL_MAX_MS, POLL_RETRY_AFTER_CAP_MS } from '../../../src/issuers/acme/poll.js';

// The poll schedule while the CA validates or issues: short first, doubling,
// capped; the CA's Retry-After a floor.

/** The times of the polls a schedule makes when each takes `workMs`, until `untilMs` after the request. */
function pollTimes(untilMs: number, workMs = 0, retryAfterMs?: number): number[] {
  const times: number[] = [];
  let t = 0;
  for (;;) {
    t += nextPollDelay(t, retryAfterMs);
    if (t > untilMs) return times;
    times.push(t);
    t += workMs;
  }
}

describe('ACME poll schedule', () => {
  it('looks again soon after the request, then waits as long as has passed (doubling), up to 10 s', () => {
    expect(nextPollDelay(0)).toBe(POLL_FIRST_MS);
    expect(nextPollDelay(30)).toBe(POLL_FIRST_MS);
    expect(nextPollDelay(400)).toBe(400);
    expect(nextPollDelay(3_200)).toBe(3_200);
    expect(nextPollDelay(60_000)).toBe(POLL_MAX_MS);
    expect(pollTimes(7_000)).toEqual([50, 100, 200, 400, 800, 1_600, 3_200, 6_400]);
  });

  it('polls a CA that takes 3 s a handful of times, and one that takes a minute about every 10 s', () => {
    expect(pollTimes(3_000, 20)).toHaveLength(6);
    const minute = pollTimes(60_000, 20);
    expect(minute.length).toBeLessThanOrEqual(14);
    const gaps = minute.slice(1).map((t, i) => t - (minute[i] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(POLL_MAX_MS + 20);
  });

  it('never polls before the CA’s Retry-After', () => {
    expect(nextPollDelay(0, 3_000)).toBe(3_000);
    expect(nextPollDelay(8_000, 3_000)).toBe(8_000);
    expect(nextPollDelay(0, 60_000)).toBe(60_000);
    expect(pollTimes(10_000, 0, 2_000)).toEqual([2_000, 4_000, 8_000]);
  });

  it('caps a Retry-After beyond five minutes, and ignores one that is zero, negative or not a number', () => {
    expect(nextPollDelay(0, 86_400_000)).toBe(POLL_RETRY_AFTER_CAP_MS);
    expect([nextPollDelay(0, 0), nextPollDelay(0, -5), nextPollDelay(0, Number.NaN)]).toEqual([POLL_FIRST_MS, POLL_FIRST_MS, POLL_FIRST_MS]);
    expect(nextPollDelay(Number.NaN)).toBe(POLL_FIRST_MS);
  });
});
