import { describe, expect, it } from 'vitest';
import { ItemExponentialRateLimiter, WorkQueue } from '../../../src/kube/workqueue.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';

function setup(rateLimiter?: ItemExponentialRateLimiter) {
  const clock = new FakeClock();
  const queue = new WorkQueue({ clock, ...(rateLimiter === undefined ? {} : { rateLimiter }) });
  return { clock, queue };
}

/** Starts a get() and reports what it resolved to: `{ key }` once settled, undefined while waiting. */
function pendingGet(queue: WorkQueue): { value: () => { key: string | undefined } | undefined } {
  let result: { key: string | undefined } | undefined;
  void queue.get().then((key) => {
    result = { key };
  });
  return { value: () => result };
}

describe('ItemExponentialRateLimiter', () => {
  it.each([
    { failures: 1, delay: 5 },
    { failures: 2, delay: 10 },
    { failures: 3, delay: 20 },
    { failures: 10, delay: 2_560 },
    { failures: 18, delay: 655_360 },
    { failures: 19, delay: 1_000_000 },
    { failures: 200, delay: 1_000_000 },
  ])('waits $delay ms after $failures failures', ({ failures, delay }) => {
    const limiter = new ItemExponentialRateLimiter();
    let last = 0;
    for (let i = 0; i < failures; i++) last = limiter.when('k');
    expect(last).toBe(delay);
    expect(limiter.numRequeues('k')).toBe(failures);
  });

  it('keeps keys independent and starts over after forget', () => {
    const limiter = new ItemExponentialRateLimiter(10, 100);
    expect([limiter.when('a'), limiter.when('a'), limiter.when('b')]).toEqual([10, 20, 10]);
    limiter.forget('a');
    expect(limiter.numRequeues('a')).toBe(0);
    expect(limiter.when('a')).toBe(10);
  });
});

describe('WorkQueue', () => {
  it('holds a queued key once however often it is added', async () => {
    const { queue } = setup();
    for (const k of ['a', 'a', 'b', 'a', 'b']) queue.add(k);
    expect(queue.len()).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
    expect(queue.len()).toBe(0);
  });

  it('never hands out a key that is being processed; re-adds it after done', async () => {
    const { queue } = setup();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.len()).toBe(0);
    const second = pendingGet(queue);
    await flushPromises();
    expect(second.value()).toBeUndefined();
    queue.done('a');
    await flushPromises();
    expect(second.value()).toEqual({ key: 'a' });
    queue.done('a');
    expect(queue.len()).toBe(0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const { queue } = setup();
    const waiting = pendingGet(queue);
    await flushPromises();
    expect(waiting.value()).toBeUndefined();
    queue.add('x');
    await flushPromises();
    expect(waiting.value()).toEqual({ key: 'x' });
  });

  it('adds after a delay, the earliest pending delay winning', async () => {
    const { clock, queue } = setup();
    queue.addAfter('a', 1_000);
    queue.addAfter('a', 500);
    queue.addAfter('a', 2_000);
    await clock.advance(499);
    expect(queue.len()).toBe(0);
    await clock.advance(1);
    expect(queue.len()).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('backs off rate-limited keys exponentially until forgotten', async () => {
    const { clock, queue } = setup(new ItemExponentialRateLimiter(100, 1_000));
    const readyAfter: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.now();
      queue.addRateLimited('k');
      while (queue.len() === 0) await clock.advance(10);
      readyAfter.push(clock.now() - start);
      expect(await queue.get()).toBe('k');
      queue.done('k');
    }
    expect(readyAfter).toEqual([100, 200, 400, 800, 1_000]);
    expect(queue.numRequeues('k')).toBe(5);
    queue.forget('k');
    expect(queue.numRequeues('k')).toBe(0);
  });

  it('shuts down: releases waiting workers, ignores new keys, drops delayed ones', async () => {
    const { clock, queue } = setup();
    const waiting = pendingGet(queue);
    queue.addAfter('later', 1_000);
    queue.shutDown();
    await flushPromises();
    expect(waiting.value()).toEqual({ key: undefined });
    queue.add('x');
    expect(queue.len()).toBe(0);
    expect(await queue.get()).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('drains: resolves only when in-flight keys are done', async () => {
    const { queue } = setup();
    queue.add('a');
    queue.add('b');
    const a = await queue.get();
    queue.shutDown();
    let drained = false;
    const draining = queue.drain().then(() => {
      drained = true;
    });
    await flushPromises();
    expect(drained).toBe(false);
    expect(queue.inFlight()).toEqual(['a']);
    queue.done(a ?? '');
    await draining;
    expect(drained).toBe(true);
    expect(queue.len()).toBe(0);
  });
});
