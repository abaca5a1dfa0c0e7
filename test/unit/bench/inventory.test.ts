import { describe, expect, it } from 'vitest';
import { syncMedians, type SyncRun } from '../../../hack/bench/inventory.js';

const run = (nodeFlags: string, cpu: number | undefined, seconds: number, peak: number): SyncRun => ({ nodeFlags, cpuSecondsUntilSynced: cpu, inventorySyncedSeconds: seconds, peakRssMB: peak });

describe('the inventory bench: medians of repeated operator starts', () => {
  it('groups runs by node flags, in the order each variant first ran, and takes each figure on its own', () => {
    const medians = syncMedians([run("image's", 1.71, 1.8, 127), run('none', 1.34, 1.42, 177), run("image's", 1.47, 1.5, 115), run('none', 1.32, 1.33, 151), run("image's", 1.41, 1.45, 123)]);
    expect(medians).toEqual([
      { nodeFlags: "image's", cpuSecondsUntilSynced: 1.47, inventorySyncedSeconds: 1.5, peakRssMB: 123, runs: 3 },
      // Two runs: the lower of the two, not an average no run measured.
      { nodeFlags: 'none', cpuSecondsUntilSynced: 1.32, inventorySyncedSeconds: 1.33, peakRssMB: 151, runs: 2 },
    ]);
  });

  it('a run whose CPU could not be read leaves that figure unknown rather than zero', () => {
    const [only] = syncMedians([run('none', undefined, 2, 100)]);
    expect(only?.cpuSecondsUntilSynced).toBeNaN();
  });
});
