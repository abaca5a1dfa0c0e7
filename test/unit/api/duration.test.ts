import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, parseDuration } from '../../../src/api/duration.js';

describe('parseDuration', () => {
  it.each([
    ['2160h', 2160 * 3_600_000],
    ['90m', 90 * 60_000],
    ['1h30m', 90 * 60_000],
    ['45s', 45_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    ['1h0m0s', 3_600_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', 'h', '-1h', '1d', '1 h', '1hh', 'abc'])('refuses %j with a hint', (text) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(/e\.g\. "2160h"/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [90_500, '1m30.5s'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const ms of [1000, 61_000, 3_600_000 * 24 * 90, 1_234_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
