import { describe, expect, it } from 'vitest';
import { ProbeScheduler, type ScheduledTarget } from '../../../src/endpoints/scheduler.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';

// The probe loop on fake time: every wait is a timer the test moves past.

interface Call {
  key: string;
  at: number;
}

function harness(o: { concurrency?: number; recheckMs?: number; random?: () => number; probeMs?: (key: string) => number; recheck?: (key: string) => boolean } = {}) {
  const clock = new FakeClock();
  const start = clock.now();
  const calls: Call[] = [];
  let active = 0;
  let peak = 0;
  const scheduler = new ProbeScheduler<ScheduledTarget>({
    clock,
    concurrency: o.concurrency ?? 4,
    recheckIntervalMs: o.recheckMs ?? 30_000,
    ...(o.random === undefined ? {} : { random: o.random }),
    probe: (t) => {
      calls.push({ key: t.key, at: clock.now() - start });
      active++;
      peak = Math.max(peak, active);
      return new Promise((resolve) =>
        clock.setTimeout(() => {
          active--;
          resolve({ recheck: o.recheck?.(t.key) ?? false });
        }, o.probeMs?.(t.key) ?? 100),
      );
    },
  });
  const target = (key: string, intervalMs = 600_000, revision = 'r1'): ScheduledTarget => ({ key, intervalMs, revision });
  return { clock, start, calls, scheduler, target, peak: () => peak, active: () => active, callsOf: (key: string) => calls.filter((c) => c.key === key).map((c) => c.at) };
}

describe('ProbeScheduler', () => {
  it('probes new targets at once and never runs more than the concurrency limit', async () => {
    const h = harness({ concurrency: 3 });
    h.scheduler.setTargets(Array.from({ length: 20 }, (_, i) => h.target(`t${i}`)));
    h.scheduler.start();
    await flushPromises();
    expect(h.calls).toHaveLength(3);
    expect(h.scheduler.active).toBe(3);
    await h.clock.advance(1_000);
    expect(h.calls).toHaveLength(20);
    expect(h.peak()).toBe(3);
    // 20 probes of 100 ms, 3 at a time: seven rounds.
    expect(Math.max(...h.calls.map((c) => c.at))).toBe(600);
  });

  it('is idle only when nothing runs and nothing is due', async () => {
    const h = harness({ concurrency: 2 });
    expect(h.scheduler.idle).toBe(true);
    h.scheduler.setTargets(['a', 'b', 'c'].map((k) => h.target(k)));
    // Not started: due targets wait, so it is not idle.
    expect(h.scheduler.idle).toBe(false);
    h.scheduler.start();
    await flushPromises();
    expect(h.scheduler.idle).toBe(false);
    // The first two end; the third runs.
    await h.clock.advance(100);
    expect(h.calls).toHaveLength(3);
    expect(h.scheduler.idle).toBe(false);
    await h.clock.advance(100);
    expect(h.scheduler.active).toBe(0);
    expect(h.scheduler.idle).toBe(true);
    // A changed revision makes it due again.
    h.scheduler.setTargets([h.target('a', 600_000, 'r2'), h.target('b'), h.target('c')]);
    expect(h.scheduler.active).toBe(1);
    expect(h.scheduler.idle).toBe(false);
    await h.clock.advance(100);
    expect(h.scheduler.idle).toBe(true);
    // And the interval, later.
    await h.clock.advance(660_000);
    expect(h.calls.length).toBeGreaterThan(4);
  });

  it('re-probes every interval plus at most 10 % jitter', async () => {
    const draws = [0, 0.5, 0.999];
    let i = 0;
    const h = harness({ random: () => draws[i++ % draws.length] ?? 0 });
    h.scheduler.setTargets([h.target('a', 60_000)]);
    h.scheduler.start();
    await h.clock.advance(60_000 * 4);
    const at = h.callsOf('a');
    expect(at.slice(0, 4)).toEqual([0, 100 + 60_000, 100 + 60_000 + 100 + 63_000, 100 + 60_000 + 100 + 63_000 + 100 + 65_994]);
    const gaps = at.slice(1).map((t, k) => t - (at[k] ?? 0) - 100);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(60_000);
      expect(gap).toBeLessThanOrEqual(66_000);
    }
  });

  it('spreads jitter over the whole +10 % range with the real random source', async () => {
    const h = harness({ concurrency: 64, probeMs: () => 0 });
    h.scheduler.setTargets(Array.from({ length: 200 }, (_, k) => h.target(`t${k}`, 100_000)));
    h.scheduler.start();
    await h.clock.advance(111_000);
    const second = h.calls.filter((c) => c.at > 0).map((c) => c.at);
    expect(second).toHaveLength(200);
    expect(Math.min(...second)).toBeGreaterThanOrEqual(100_000);
    expect(Math.max(...second)).toBeLessThanOrEqual(110_000);
    // Not all in one instant: the point of the jitter.
    expect(new Set(second.map((t) => Math.floor(t / 1000))).size).toBeGreaterThan(5);
  });

  it('probes again at once when the revision changes (a renewal), then at the recheck interval while asked to', async () => {
    let stale = false;
    const h = harness({ recheckMs: 30_000, recheck: () => stale });
    h.scheduler.setTargets([h.target('a', 600_000, 'fp1')]);
    h.scheduler.start();
    await h.clock.advance(10_000);
    expect(h.callsOf('a')).toEqual([0]);
    stale = true;
    h.scheduler.setTargets([h.target('a', 600_000, 'fp2')]);
    await flushPromises();
    expect(h.callsOf('a')).toEqual([0, 10_000]);
    await h.clock.advance(70_000);
    expect(h.callsOf('a')).toEqual([0, 10_000, 40_100, 70_200]);
    stale = false;
    await h.clock.advance(100_000);
    // The recheck at 100,300 finds it current: back to the long interval.
    expect(h.callsOf('a')).toEqual([0, 10_000, 40_100, 70_200, 100_300]);
    expect(h.scheduler.dueAt('a')).toBeGreaterThanOrEqual(h.start + 100_400 + 600_000);
  });

  it('a revision change during a probe means one more probe right after it', async () => {
    const h = harness({ probeMs: () => 5_000 });
    h.scheduler.setTargets([h.target('a', 600_000, 'fp1')]);
    h.scheduler.start();
    await h.clock.advance(1_000);
    h.scheduler.setTargets([h.target('a', 600_000, 'fp2')]);
    await h.clock.advance(5_000);
    expect(h.callsOf('a')).toEqual([0, 5_000]);
  });

  it('stops probing a removed target, and drops its result even when it was in flight', async () => {
    const h = harness({ probeMs: () => 1_000 });
    h.scheduler.setTargets([h.target('a', 60_000), h.target('b', 60_000)]);
    h.scheduler.start();
    await h.clock.advance(500);
    h.scheduler.setTargets([h.target('b', 60_000)]);
    await h.clock.advance(300_000);
    expect(h.callsOf('a')).toEqual([0]);
    expect(h.callsOf('b').length).toBeGreaterThanOrEqual(4);
    expect(h.scheduler.size).toBe(1);
    expect(h.scheduler.dueAt('a')).toBeUndefined();
  });

  it('a slow probe holds one slot only: the others go on', async () => {
    const h = harness({ concurrency: 2, probeMs: (key) => (key === 'slow' ? 60_000 : 100) });
    h.scheduler.setTargets([h.target('slow'), ...Array.from({ length: 10 }, (_, k) => h.target(`fast${k}`))]);
    h.scheduler.start();
    await h.clock.advance(1_000);
    expect(h.calls.filter((c) => c.key.startsWith('fast'))).toHaveLength(10);
    expect(h.calls.filter((c) => c.key.startsWith('fast')).every((c) => c.at <= 900)).toBe(true);
    expect(h.active()).toBe(1);
    expect(h.peak()).toBe(2);
  });

  it('a probe that throws is rechecked, not lost', async () => {
    const clock = new FakeClock();
    const at: number[] = [];
    const errors: unknown[] = [];
    const s = new ProbeScheduler<ScheduledTarget>({
      clock,
      concurrency: 1,
      recheckIntervalMs: 5_000,
      probe: () => {
        at.push(clock.now());
        return Promise.reject(new Error('boom'));
      },
      onError: (_t, err) => errors.push(err),
    });
    s.setTargets([{ key: 'x', intervalMs: 600_000, revision: '' }]);
    s.start();
    await clock.advance(10_000);
    expect(at.map((t) => t - at[0]!)).toEqual([0, 5_000, 10_000]);
    expect(errors).toHaveLength(3);
  });

  it('stop() starts nothing more and waits for the probes in flight', async () => {
    const h = harness({ concurrency: 2, probeMs: () => 1_000 });
    h.scheduler.setTargets([h.target('a'), h.target('b'), h.target('c')]);
    h.scheduler.start();
    await flushPromises();
    let stopped = false;
    const stopping = h.scheduler.stop().then(() => (stopped = true));
    await flushPromises();
    expect(stopped).toBe(false);
    await h.clock.advance(1_000);
    await stopping;
    expect(stopped).toBe(true);
    await h.clock.advance(3_600_000);
    expect(h.calls.map((c) => c.key)).toEqual(['a', 'b']);
    expect(h.clock.pendingTimers()).toBe(0);
  });

  it('keeps one timer for any number of idle targets', async () => {
    const h = harness({ concurrency: 16, probeMs: () => 10 });
    h.scheduler.setTargets(Array.from({ length: 1_000 }, (_, k) => h.target(`t${k}`)));
    h.scheduler.start();
    await h.clock.advance(5_000);
    expect(h.calls).toHaveLength(1_000);
    expect(h.clock.pendingTimers()).toBe(1);
  });
});

describe('ProbeScheduler: a fair share per namespace', () => {
  it('lets a namespace alone use every slot, and gives each freed slot to the least busy namespace with work due', async () => {
    const h = harness({ concurrency: 8 });
    const inGroup = (group: string, i: number): ScheduledTarget => ({ ...h.target(`${group}/t${i}`), group });
    const noisy = Array.from({ length: 100 }, (_, i) => inGroup('noisy', i));
    // A tenant with 100 addresses, alone: all 8 slots.
    h.scheduler.setTargets(noisy);
    h.scheduler.start();
    await flushPromises();
    expect(h.scheduler.active).toBe(8);
    // Another namespace's 4 targets arrive behind noisy's 92 waiting ones: the next freed slots go to it first.
    h.scheduler.setTargets([...noisy, ...Array.from({ length: 4 }, (_, i) => inGroup('quiet', i))]);
    await h.clock.advance(100);
    const quiet = h.calls.filter((c) => c.key.startsWith('quiet/'));
    expect(quiet.map((c) => c.at)).toEqual([100, 100, 100, 100]);
    expect(h.peak()).toBe(8);
    await h.clock.advance(2_000);
    expect(h.calls.filter((c) => c.key.startsWith('noisy/'))).toHaveLength(100);
  });

  it('without groups behaves as one queue, in due order', async () => {
    const h = harness({ concurrency: 1 });
    h.scheduler.setTargets([h.target('a'), h.target('b'), h.target('c')]);
    h.scheduler.start();
    await h.clock.advance(1_000);
    expect(h.calls.map((c) => c.key)).toEqual(['a', 'b', 'c']);
  });
});
