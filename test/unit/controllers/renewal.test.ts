import { describe, expect, it } from 'vitest';
import { jitterFraction, renewalTime } from '../../../src/controllers/certificate/renewal.js';

const H = 3_600_000;
const notBefore = new Date('2026-01-01T00:00:00Z');
const after = (ms: number) => new Date(notBefore.getTime() + ms);

describe('renewalTime', () => {
  it.each([
    { name: 'default: 2/3 of the lifetime', lifetime: 90 * 24 * H, input: {}, renewAt: 60 * 24 * H, basis: 'Default' },
    { name: 'renewBefore', lifetime: 90 * 24 * H, input: { renewBeforeMs: 30 * 24 * H }, renewAt: 60 * 24 * H, basis: 'RenewBefore' },
    { name: 'renewBefore from the policy', lifetime: 90 * 24 * H, input: { renewBeforeMs: 10 * 24 * H, renewBeforeFromPolicy: true }, renewAt: 80 * 24 * H, basis: 'PolicyRenewBefore' },
    { name: 'renewBefore not shorter than the lifetime falls back', lifetime: 24 * H, input: { renewBeforeMs: 24 * H }, renewAt: 16 * H, basis: 'Default' },
    { name: 'renewBeforePercentage', lifetime: 60 * 60_000, input: { renewBeforePercentage: 25 }, renewAt: 45 * 60_000, basis: 'RenewBeforePercentage' },
    { name: 'percentage wins over renewBefore', lifetime: 100 * H, input: { renewBeforePercentage: 10, renewBeforeMs: 50 * H }, renewAt: 90 * H, basis: 'RenewBeforePercentage' },
  ])('$name', ({ lifetime, input, renewAt, basis }) => {
    const r = renewalTime({ notBefore, notAfter: after(lifetime), jitterSeed: 'uid-1', ...input });
    expect(r.basis).toBe(basis);
    const target = notBefore.getTime() + renewAt;
    expect(r.time.getTime()).toBeLessThanOrEqual(target);
    // jitter only ever earlier, bounded by 2 % of the window and 15 minutes, plus second rounding
    const window = notBefore.getTime() + lifetime - target;
    expect(target - r.time.getTime()).toBeLessThanOrEqual(Math.min(window * 0.02, 15 * 60_000) + 1000);
    expect(r.time.getTime() % 1000).toBe(0);
  });

  it('is deterministic per seed and spreads different seeds', () => {
    const at = (seed: string) => renewalTime({ notBefore, notAfter: after(90 * 24 * H), jitterSeed: seed }).time.getTime();
    expect(at('a')).toBe(at('a'));
    const distinct = new Set(Array.from({ length: 200 }, (_, i) => at(`uid-${i}`)));
    expect(distinct.size).toBeGreaterThan(150);
  });

  it('never renews before notBefore', () => {
    const r = renewalTime({ notBefore, notAfter: after(2000), jitterSeed: 'x', renewBeforePercentage: 99 });
    expect(r.time.getTime()).toBeGreaterThanOrEqual(notBefore.getTime());
  });

  it('jitterFraction stays in [0, 1)', () => {
    for (let i = 0; i < 1000; i++) {
      const f = jitterFraction(String(i));
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });
});
