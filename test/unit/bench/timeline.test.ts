import { describe, expect, it } from 'vitest';
import { ReadyTracker, timeline, type TrackedCertificate } from '../../../hack/bench/timeline.js';

// The bench follows the Certificates with a watch: which are Ready since when,
// and the shape of the run from those times.

function cert(name: string, ready: 'True' | 'False' | undefined): TrackedCertificate {
  return { metadata: { name }, status: ready === undefined ? {} : { conditions: [{ type: 'Issuing', status: 'True' }, { type: 'Ready', status: ready }] } };
}

describe('ReadyTracker', () => {
  it('counts each Certificate once, from the first event that shows it Ready', () => {
    const t = new ReadyTracker();
    t.observe('ADDED', cert('a', undefined), 0);
    t.observe('MODIFIED', cert('a', 'False'), 10);
    expect(t.count).toBe(0);
    t.observe('MODIFIED', cert('a', 'True'), 20);
    t.observe('MODIFIED', cert('a', 'True'), 30);
    t.observe('ADDED', cert('b', 'True'), 40);
    expect(t.count).toBe(2);
    expect(t.times()).toEqual([20, 40]);
    expect(t.lastRiseAt).toBe(40);
  });

  it('forgets a Certificate that stops being Ready or is deleted, and counts it again later', () => {
    const t = new ReadyTracker();
    t.observe('ADDED', cert('a', 'True'), 5);
    t.observe('ADDED', cert('b', 'True'), 6);
    t.observe('MODIFIED', cert('a', 'False'), 7);
    t.observe('DELETED', cert('b', 'True'), 8);
    expect(t.count).toBe(0);
    t.observe('MODIFIED', cert('a', 'True'), 9);
    expect(t.times()).toEqual([9]);
  });

  it('ignores bookmarks, errors and objects without a name', () => {
    const t = new ReadyTracker();
    t.observe('BOOKMARK', cert('a', 'True'), 1);
    t.observe('ERROR', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 2);
    t.observe('ADDED', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 3);
    expect(t.count).toBe(0);
    expect(t.lastRiseAt).toBeUndefined();
  });
});

describe('timeline', () => {
  it('is undefined without a Ready Certificate', () => {
    expect(timeline([], 0)).toBeUndefined();
  });

  it('gives nearest-rank quantiles and Ready per second relative to the origin', () => {
    // 10 Certificates Ready at 1.1 s … 2.0 s, then one at 4.5 s (origin 1000 ms).
    const times = [...Array.from({ length: 10 }, (_, i) => 2100 + i * 100), 5500];
    const t = timeline(times, 1000);
    expect(t).toEqual({ firstSeconds: 1.1, p10Seconds: 1.2, p50Seconds: 1.6, p90Seconds: 2, lastSeconds: 4.5, perSecond: [0, 9, 1, 0, 1] });
  });

  it('counts times before the origin in second 0', () => {
    expect(timeline([500, 1500], 1000)?.perSecond).toEqual([2]);
  });
});
