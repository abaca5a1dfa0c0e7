import { describe, expect, it } from 'vitest';
import { Informer, type InformerOptions, type InformerState } from '../../../src/kube/informer.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';
import { FakeListerWatcher, gone, obj, serverError, silentLog, type TestObject } from './fake-lister-watcher.js';

type Recorded = { event: 'add' | 'update' | 'delete'; key: string; rv?: string; oldRv?: string };

function setup(options: Partial<InformerOptions<TestObject, TestObject>> = {}) {
  const clock = new FakeClock();
  const lw = new FakeListerWatcher<TestObject>(() => clock.now());
  const informer = new Informer<TestObject>({
    name: 'things',
    listerWatcher: lw,
    clock,
    log: silentLog,
    backoff: { random: () => 0.5 }, // no jitter: exact delays
    ...options,
  });
  const events: Recorded[] = [];
  informer.on('add', (key, o) => {
    events.push({ event: 'add', key, rv: o.metadata.resourceVersion });
  });
  informer.on('update', (key, o, old) => {
    events.push({ event: 'update', key, rv: o.metadata.resourceVersion, oldRv: old.metadata.resourceVersion });
  });
  informer.on('delete', (key) => {
    events.push({ event: 'delete', key });
  });
  const states: InformerState[] = [];
  informer.on('stateChange', (next) => {
    states.push(next);
  });
  const errors: Error[] = [];
  informer.on('error', (err) => {
    errors.push(err);
  });
  return { clock, lw, informer, events, states, errors };
}

describe('Informer', () => {
  it('lists all pages, fills the cache, syncs once, then watches from the list resourceVersion', async () => {
    const { clock, lw, informer, events } = setup({ pageSize: 2, labelSelector: 'app=web', fieldSelector: 'type=kubernetes.io/tls' });
    lw.objects = ['a', 'b', 'c', 'd', 'e'].map((n) => obj(n, '1'));
    let synced = 0;
    informer.on('synced', () => {
      synced++;
    });
    informer.start();
    await informer.waitForSync();
    await flushPromises();

    expect(lw.listCalls).toEqual([
      { limit: 2, labelSelector: 'app=web', fieldSelector: 'type=kubernetes.io/tls' },
      { limit: 2, labelSelector: 'app=web', fieldSelector: 'type=kubernetes.io/tls', continue: '2' },
      { limit: 2, labelSelector: 'app=web', fieldSelector: 'type=kubernetes.io/tls', continue: '4' },
    ]);
    expect(events.map((e) => `${e.event}:${e.key}`)).toEqual(['a', 'b', 'c', 'd', 'e'].map((n) => `add:default/${n}`));
    expect(informer.hasSynced()).toBe(true);
    expect(synced).toBe(1);
    expect(informer.keys().sort()).toEqual(['default/a', 'default/b', 'default/c', 'default/d', 'default/e']);
    expect(informer.state).toBe('watching');
    expect(lw.watchCalls[0]?.request).toEqual({
      resourceVersion: '100',
      timeoutSeconds: 300,
      allowWatchBookmarks: true,
      labelSelector: 'app=web',
      fieldSelector: 'type=kubernetes.io/tls',
    });
    await informer.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('applies watch events to handlers and cache, and resumes from the last bookmark after a clean close', async () => {
    const { lw, informer, events, states } = setup();
    lw.objects = [obj('a', '1')];
    informer.start();
    await informer.waitForSync();
    await flushPromises();

    lw.stream().push(
      { type: 'ADDED', object: obj('b', '101') },
      { type: 'MODIFIED', object: obj('a', '102') },
      { type: 'DELETED', object: obj('b', '103') },
      { type: 'BOOKMARK', resourceVersion: '150' },
    );
    await flushPromises();
    expect(events.slice(1)).toEqual([
      { event: 'add', key: 'default/b', rv: '101' },
      { event: 'update', key: 'default/a', rv: '102', oldRv: '1' },
      { event: 'delete', key: 'default/b' },
    ]);
    expect(informer.get('default/a')?.metadata.resourceVersion).toBe('102');
    expect(informer.get('default/b')).toBeUndefined();

    lw.stream().end();
    await flushPromises();
    expect(lw.watchCalls.map((c) => c.request.resourceVersion)).toEqual(['100', '150']);
    expect(lw.listCalls).toHaveLength(1);
    expect(states).not.toContain('backoff');
    await informer.stop();
  });

  it('reads our own write ahead of its watch echo; handlers still see every change in order', async () => {
    const { lw, informer, events } = setup();
    lw.objects = [obj('a', '1'), obj('b', '1')];
    informer.start();
    await informer.waitForSync();
    await flushPromises();
    events.length = 0;

    // The server answered our write with version 103; the watch has not delivered 102 (someone else's) yet.
    informer.observe(obj('a', '103', 'default', 'ours'));
    expect(informer.get('default/a')?.data).toBe('ours');
    expect(informer.list().map((o) => o.metadata.resourceVersion)).toEqual(['103', '1']);
    expect(events).toEqual([]);

    lw.stream().push({ type: 'MODIFIED', object: obj('a', '102', 'default', 'theirs') });
    await flushPromises();
    // Handlers are told of 102 (old → new as the watch says), readers still see the newer write.
    expect(events).toEqual([{ event: 'update', key: 'default/a', rv: '102', oldRv: '1' }]);
    expect(informer.get('default/a')?.data).toBe('ours');

    lw.stream().push({ type: 'MODIFIED', object: obj('a', '103', 'default', 'echo') });
    await flushPromises();
    expect(events.at(-1)).toEqual({ event: 'update', key: 'default/a', rv: '103', oldRv: '102' });
    expect(informer.get('default/a')?.data).toBe('echo');
    await informer.stop();
  });

  it('does not read back a write to an object the watch then deletes, or one it never had', async () => {
    const { lw, informer } = setup();
    lw.objects = [obj('a', '1')];
    informer.start();
    await informer.waitForSync();
    await flushPromises();

    informer.observe(obj('new', '5'));
    expect(informer.get('default/new')).toBeUndefined();
    informer.observe(obj('a', '5'));
    lw.stream().push({ type: 'DELETED', object: obj('a', '4') });
    await flushPromises();
    expect(informer.get('default/a')).toBeUndefined();
    expect(informer.list()).toEqual([]);
    await informer.stop();
  });

  it.each([
    { how: 'an ERROR event with code 410', expire: (lw: FakeListerWatcher<TestObject>) => lw.stream().push({ type: 'ERROR', status: { code: 410, reason: 'Expired' } }) },
    { how: 'an HTTP 410 on the watch', expire: (lw: FakeListerWatcher<TestObject>) => lw.stream().fail(gone()) },
  ])('relists after $how, synthesising deletes and updates from the diff', async ({ expire }) => {
    const { lw, informer, events, states } = setup();
    lw.objects = [obj('a', '1'), obj('b', '1'), obj('c', '1')];
    informer.start();
    await informer.waitForSync();
    await flushPromises();
    events.length = 0;

    lw.objects = [obj('a', '1'), obj('b', '7'), obj('d', '7')];
    lw.collectionResourceVersion = '200';
    expire(lw);
    await flushPromises();

    expect(lw.listCalls).toHaveLength(2);
    expect(events).toEqual([
      { event: 'update', key: 'default/b', rv: '7', oldRv: '1' },
      { event: 'add', key: 'default/d', rv: '7' },
      { event: 'delete', key: 'default/c' },
    ]);
    expect(informer.keys().sort()).toEqual(['default/a', 'default/b', 'default/d']);
    expect(lw.watchCalls.at(-1)?.request.resourceVersion).toBe('200');
    expect(states).not.toContain('backoff');
    await informer.stop();
  });

  it('restarts a paginated list whose continue token expired', async () => {
    const { lw, informer, states } = setup({ pageSize: 2 });
    lw.objects = ['a', 'b', 'c'].map((n) => obj(n, '1'));
    let expired = false;
    lw.onList = (req) => {
      if (req.continue !== undefined && !expired) {
        expired = true;
        throw gone();
      }
    };
    informer.start();
    await informer.waitForSync();
    expect(lw.listCalls.map((c) => c.continue)).toEqual([undefined, '2', undefined, '2']);
    expect(informer.size).toBe(3);
    expect(states).not.toContain('backoff');
    await informer.stop();
  });

  it('backs off exponentially on watch errors, bounded by the maximum', async () => {
    const { clock, lw, informer, errors } = setup({ backoff: { initialMs: 200, maxMs: 5_000, random: () => 0.5 } });
    for (let i = 0; i < 8; i++) lw.watchErrors.push(serverError());
    informer.start();
    await informer.waitForSync();
    await clock.advance(60_000);

    const times = lw.watchCalls.map((c) => c.at);
    const delays = times.slice(1).map((t, i) => t - (times[i] ?? 0));
    expect(delays).toEqual([200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(errors).toHaveLength(8);
    expect(errors[0]?.message).toContain('watch failed');
    expect(informer.state).toBe('watching');
    await informer.stop();
  });

  it('keeps jittered backoff delays within ±20 % and under the cap', async () => {
    for (const r of [0, 0.999]) {
      const { clock, lw, informer } = setup({ backoff: { initialMs: 1_000, maxMs: 4_000, random: () => r } });
      for (let i = 0; i < 4; i++) lw.watchErrors.push(serverError());
      informer.start();
      await informer.waitForSync();
      await clock.advance(30_000);
      const times = lw.watchCalls.map((c) => c.at);
      const delays = times.slice(1).map((t, i) => t - (times[i] ?? 0));
      const nominal = [1_000, 2_000, 4_000, 4_000];
      delays.forEach((d, i) => {
        const n = nominal[i] ?? 0;
        expect(d).toBeGreaterThanOrEqual(n * 0.8);
        expect(d).toBeLessThanOrEqual(Math.min(n * 1.2, 4_000));
      });
      await informer.stop();
    }
  });

  it('resets the backoff after a watch stayed healthy', async () => {
    const { clock, lw, informer } = setup({ healthyAfterMs: 60_000 });
    lw.watchErrors.push(serverError(), serverError(), serverError());
    informer.start();
    await informer.waitForSync();
    await clock.advance(200 + 400 + 800);
    expect(lw.watchCalls).toHaveLength(4);
    await clock.advance(61_000);
    lw.stream().fail(serverError());
    await clock.advance(199);
    expect(lw.watchCalls).toHaveLength(4);
    await clock.advance(1);
    expect(lw.watchCalls).toHaveLength(5);
    await informer.stop();
  });

  it('replaces a stalled watch once nothing arrived for the watch timeout plus margin', async () => {
    const { clock, lw, informer, errors } = setup({ watchTimeoutSeconds: 10, stallMarginMs: 5_000 });
    informer.start();
    await informer.waitForSync();
    await flushPromises();
    const first = lw.stream();

    await clock.advance(14_000);
    first.push({ type: 'BOOKMARK', resourceVersion: '120' }); // resets the watchdog
    await clock.advance(14_999);
    expect(first.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(first.signal.aborted).toBe(true);
    expect(first.closed).toBe(true);
    expect(errors.at(-1)?.message).toContain('watch silent for 15000 ms');

    await clock.advance(200); // one backoff step
    expect(lw.watchCalls).toHaveLength(2);
    expect(lw.watchCalls[1]?.request.resourceVersion).toBe('120');
    expect(lw.listCalls).toHaveLength(1);
    await informer.stop();
  });

  it('updates the cache only after every handler succeeded, and retries failed ones at the next relist', async () => {
    const { lw, informer, errors } = setup();
    lw.objects = [obj('a', '1')];
    let failB = true;
    informer.on('add', (key) => {
      if (key === 'default/b' && failB) throw new Error('queue full');
    });
    informer.start();
    await informer.waitForSync();
    await flushPromises();

    lw.stream().push({ type: 'ADDED', object: obj('b', '101') });
    await flushPromises();
    expect(informer.get('default/b')).toBeUndefined();
    expect(errors.map((e) => e.message)).toEqual(['informer things: add handler failed for default/b: queue full']);

    failB = false;
    lw.objects = [obj('a', '1'), obj('b', '101')];
    lw.stream().push({ type: 'ERROR', status: { code: 410 } });
    await flushPromises();
    expect(informer.get('default/b')?.metadata.resourceVersion).toBe('101');
    await informer.stop();
  });

  it('shows handlers the new object in the cache, as work they enqueue will read it', async () => {
    const { lw, informer } = setup();
    let release: () => void = () => undefined;
    let seenInHandler: unknown;
    informer.on('add', (key) => {
      if (key !== 'default/slow') return undefined;
      seenInHandler = informer.get(key);
      return new Promise<void>((r) => (release = r));
    });
    informer.start();
    await informer.waitForSync();
    await flushPromises();
    lw.stream().push({ type: 'ADDED', object: obj('slow', '101') });
    await flushPromises();
    expect(seenInHandler).toBeDefined();
    release();
    await flushPromises();
    expect(informer.get('default/slow')).toBeDefined();
    await informer.stop();
  });

  it('keeps transformed summaries and keys cluster-scoped objects by name', async () => {
    const clock = new FakeClock();
    const lw = new FakeListerWatcher<TestObject>(() => clock.now());
    lw.objects = [{ metadata: { name: 'policy', resourceVersion: '3' }, data: 'x'.repeat(1000) }];
    const informer = new Informer<TestObject, { size: number }>({
      name: 'policies',
      listerWatcher: lw,
      clock,
      log: silentLog,
      transform: (raw) => ({ size: raw.data?.length ?? 0 }),
    });
    informer.start();
    await informer.waitForSync();
    expect(informer.get('policy')).toEqual({ size: 1000 });
    expect(informer.list()).toEqual([{ size: 1000 }]);
    await informer.stop();
  });

  it('backs off on list errors and stops cleanly from any state', async () => {
    const { clock, lw, informer, states } = setup();
    let failures = 2;
    lw.onList = () => {
      if (failures-- > 0) throw serverError();
    };
    informer.start();
    await flushPromises();
    expect(informer.state).toBe('backoff');
    expect(informer.hasSynced()).toBe(false);
    await clock.advance(200 + 400);
    expect(informer.hasSynced()).toBe(true);
    expect(lw.listCalls).toHaveLength(3);

    await informer.stop();
    expect(informer.state).toBe('stopped');
    expect(lw.stream().signal.aborted).toBe(true);
    expect(states).toEqual(['listing', 'backoff', 'listing', 'backoff', 'listing', 'watching', 'stopped']);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('rejects waitForSync when stopped before syncing', async () => {
    const { lw, informer } = setup();
    lw.onList = () => {
      throw serverError();
    };
    informer.start();
    const waiting = informer.waitForSync();
    await flushPromises();
    await informer.stop();
    await expect(waiting).rejects.toThrow('stopped before it synced');
  });

  it('relists on the resync interval without re-delivering unchanged objects', async () => {
    const { clock, lw, informer, events } = setup({ resyncIntervalMs: 60_000 });
    lw.objects = [obj('a', '1')];
    informer.start();
    await informer.waitForSync();
    await clock.advance(59_000);
    expect(lw.listCalls).toHaveLength(1);
    lw.objects = [obj('a', '1'), obj('b', '5')];
    await clock.advance(1_000);
    expect(lw.listCalls).toHaveLength(2);
    expect(events.map((e) => `${e.event}:${e.key}`)).toEqual(['add:default/a', 'add:default/b']);
    expect(informer.state).toBe('watching');
    await informer.stop();
  });

  it('treats a watch that closes at once without events as a failure', async () => {
    const { clock, lw, informer, states } = setup();
    informer.start();
    await informer.waitForSync();
    await flushPromises();
    lw.stream().end();
    await flushPromises();
    expect(informer.state).toBe('backoff');
    await clock.advance(200);
    expect(lw.watchCalls).toHaveLength(2);
    expect(states.filter((s) => s === 'backoff')).toHaveLength(1);
    await informer.stop();
  });
});
