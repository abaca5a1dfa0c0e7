import { describe, expect, it } from 'vitest';
import { Informer } from '../../../src/kube/informer.js';
import { NamespacedInformers } from '../../../src/kube/namespaced-informers.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';
import { FakeListerWatcher, obj, silentLog, type TestObject } from './fake-lister-watcher.js';

function setup(namespaces: string[]) {
  const clock = new FakeClock();
  const watchers = new Map(namespaces.map((ns) => [ns, new FakeListerWatcher<TestObject>(() => clock.now())]));
  const parts = new Map(
    [...watchers].map(([ns, lw]) => [ns, new Informer<TestObject, string>({ name: 'things', listerWatcher: lw, clock, log: silentLog, transform: (o) => o.data ?? '' })]),
  );
  const merged = new NamespacedInformers<TestObject, string>('things', parts);
  const seen: string[] = [];
  merged.on('add', (key, v) => {
    seen.push(`add ${key}=${v}`);
  });
  merged.on('update', (key, v, old) => {
    seen.push(`update ${key}=${old}->${v}`);
  });
  merged.on('delete', (key) => {
    seen.push(`delete ${key}`);
  });
  const lw = (ns: string): FakeListerWatcher<TestObject> => {
    const w = watchers.get(ns);
    if (w === undefined) throw new Error(ns);
    return w;
  };
  return { merged, lw, seen, clock };
}

describe('NamespacedInformers', () => {
  it('is synced only once every namespace is, and says so once', async () => {
    const { merged, lw, clock } = setup(['team-a', 'team-b']);
    lw('team-a').objects = [obj('x', '1', 'team-a', 'A')];
    // team-b's first LIST fails: the merged cache must not claim to be synced meanwhile.
    let failing = true;
    lw('team-b').onList = () => {
      if (failing) throw new Error('not yet');
    };
    let synced = 0;
    merged.on('synced', () => {
      synced++;
    });
    merged.start();
    await flushPromises();
    expect(merged.get('team-a/x')).toBe('A');
    expect(merged.hasSynced()).toBe(false);
    expect(synced).toBe(0);
    failing = false;
    // The failed LIST is retried after its backoff (at most 30 s).
    await clock.advance(31_000);
    await merged.waitForSync();
    expect(merged.hasSynced()).toBe(true);
    expect(synced).toBe(1);
    await merged.stop();
  });

  it('routes our own writes to the informer of their namespace (read-your-writes)', async () => {
    const { merged, lw } = setup(['team-a', 'team-b']);
    lw('team-a').objects = [obj('x', '1', 'team-a', 'A')];
    lw('team-b').objects = [obj('x', '1', 'team-b', 'B')];
    merged.start();
    await merged.waitForSync();
    merged.observe(obj('x', '9', 'team-b', 'B written'));
    merged.observe(obj('x', '9', 'elsewhere', 'not watched'));
    expect(merged.get('team-b/x')).toBe('B written');
    expect(merged.get('team-a/x')).toBe('A');
    expect(merged.list().sort()).toEqual(['A', 'B written']);
    await merged.stop();
  });

  it('merges contents and events, routes get() by the key\'s namespace, and counts across namespaces', async () => {
    const { merged, lw, seen } = setup(['team-a', 'team-b']);
    lw('team-a').objects = [obj('x', '1', 'team-a', 'A1')];
    lw('team-b').objects = [obj('x', '2', 'team-b', 'B1'), obj('y', '3', 'team-b', 'B2')];
    let synced = 0;
    merged.on('synced', () => {
      synced++;
    });
    merged.start();
    await merged.waitForSync();
    await flushPromises();
    expect(synced).toBe(1);
    expect(merged.hasSynced()).toBe(true);
    expect(merged.size).toBe(3);
    expect(merged.keys().sort()).toEqual(['team-a/x', 'team-b/x', 'team-b/y']);
    expect(merged.list().sort()).toEqual(['A1', 'B1', 'B2']);
    expect(merged.get('team-a/x')).toBe('A1');
    expect(merged.get('team-b/x')).toBe('B1');
    // Nothing from a namespace that is not watched, even under a plausible key.
    expect(merged.get('team-c/x')).toBeUndefined();
    expect(merged.get('x')).toBeUndefined();

    lw('team-b').stream().push({ type: 'MODIFIED', object: obj('y', '4', 'team-b', 'B3') });
    lw('team-a').stream().push({ type: 'DELETED', object: obj('x', '5', 'team-a', 'A1') });
    await flushPromises();
    expect(seen).toEqual(['add team-a/x=A1', 'add team-b/x=B1', 'add team-b/y=B2', 'update team-b/y=B2->B3', 'delete team-a/x']);
    expect(merged.get('team-b/y')).toBe('B3');
    expect(merged.size).toBe(2);
    await merged.stop();
  });

  it('routes cluster-scoped Namespace objects, keyed by their own name, to the informer of that name', async () => {
    const clock = new FakeClock();
    const lwA = new FakeListerWatcher<TestObject>(() => clock.now());
    lwA.objects = [{ kind: 'Namespace', metadata: { name: 'team-a', resourceVersion: '1' }, data: 'labels-a' }];
    const merged = new NamespacedInformers<TestObject, string>(
      'namespaces',
      new Map([['team-a', new Informer<TestObject, string>({ name: 'namespaces', listerWatcher: lwA, clock, log: silentLog, transform: (o) => o.data ?? '' })]]),
    );
    merged.start();
    await merged.waitForSync();
    expect(merged.get('team-a')).toBe('labels-a');
    expect(merged.get('team-b')).toBeUndefined();
    await merged.stop();
  });

  it('refuses to watch no namespace at all (that would be a cache that never fills)', () => {
    expect(() => new NamespacedInformers<TestObject, string>('things', new Map())).toThrow(/no namespace/);
  });
});
