import { describe, expect, it } from 'vitest';
import { imbalanceOf, summarizeRounds, type ScaleOutRound, type SharedRun } from '../../../hack/bench/scale-out.js';

describe('imbalanceOf (scale-out bench)', () => {
  it('is the busiest process over the mean', () => {
    expect(imbalanceOf([20, 20, 20])).toBe(1);
    expect(imbalanceOf([24, 21, 21])).toBe(1.091);
    expect(imbalanceOf([10, 30])).toBe(1.5);
  });
  it('is 1 when there is nothing to compare', () => {
    expect(imbalanceOf([42])).toBe(1);
    expect(imbalanceOf([0, 0, 0])).toBe(1);
  });
});

describe('summarizeRounds (scale-out bench)', () => {
  const run = (leaderWeight: number, wallRatio: number, imbalance: number, cpuRatio = 1, userCpuRatio = 1) => ({ leaderWeight, wallRatio, imbalance, cpuRatio, userCpuRatio }) as unknown as SharedRun;
  it('groups the shared runs by their place in --leader-weight and takes medians over the rounds', () => {
    const rounds = [
      { shared: [run(0.85, 0.38, 1.05, 1.1, 1.02), run(1, 0.42, 1.16, 1.2, 1.01)] },
      { shared: [run(0.85, 0.42, 1.04, 1.05, 0.99), run(1, 0.36, 1.06, 1.0, 0.98)] },
      { shared: [run(0.85, 0.4, 1.07, 1.2, 1.0), run(1, 0.38, 1.05, 1.1, 1.03)] },
    ] as unknown as ScaleOutRound[];
    expect(summarizeRounds(rounds)).toEqual([
      { leaderWeight: 0.85, wallRatios: [0.38, 0.42, 0.4], medianWallRatio: 0.4, medianImbalance: 1.05, cpuRatios: [1.1, 1.05, 1.2], medianCpuRatio: 1.1, userCpuRatios: [1.02, 0.99, 1.0], medianUserCpuRatio: 1.0 },
      { leaderWeight: 1, wallRatios: [0.42, 0.36, 0.38], medianWallRatio: 0.38, medianImbalance: 1.06, cpuRatios: [1.2, 1.0, 1.1], medianCpuRatio: 1.1, userCpuRatios: [1.01, 0.98, 1.03], medianUserCpuRatio: 1.01 },
    ]);
  });
  it('takes the mean of the middle two of an even count, and has nothing for no rounds', () => {
    const rounds = [{ shared: [run(1, 0.36, 1.1)] }, { shared: [run(1, 0.4, 1.2)] }] as unknown as ScaleOutRound[];
    expect(summarizeRounds(rounds)[0]).toMatchObject({ medianWallRatio: 0.38, medianImbalance: 1.15 });
    expect(summarizeRounds([])).toEqual([]);
  });
});
