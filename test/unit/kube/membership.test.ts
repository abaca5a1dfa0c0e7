import type { V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { formatProbeWeight, liveMembers, memberLeaseName, Membership, MEMBER_OF_LABEL, parseProbeWeight, PROBE_WEIGHT_ANNOTATION, type MemberLeaseClient } from '../../../src/kube/membership.js';
import { FakeClock } from '../../support/fake-clock.js';
import { silentLog } from './fake-lister-watcher.js';

const NS = 'certkeeper';
const GROUP = 'certkeeper-operator';

/** Leases in memory, shared by the replicas of a test; `down` makes every call of one replica fail. */
class LeaseStore {
  readonly leases = new Map<string, V1Lease>();
  readonly down = new Set<string>();

  private version = 0;

  private store(name: string, body: V1Lease): V1Lease {
    const renewTime = body.spec?.renewTime === undefined ? undefined : (new Date(body.spec.renewTime).toISOString() as unknown as Date);
    const stored: V1Lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) }, spec: { ...body.spec, renewTime } };
    this.leases.set(name, stored);
    return stored;
  }

  client(who: string): MemberLeaseClient {
    const fail = () => {
      if (this.down.has(who)) throw Object.assign(new Error('connection refused'), { code: 500 });
    };
    return {
      createNamespacedLease: ({ body }) => {
        fail();
        const name = body.metadata?.name ?? '';
        if (this.leases.has(name)) return Promise.reject(Object.assign(new Error('already exists'), { code: 409 }));
        return Promise.resolve(this.store(name, body));
      },
      // As the API server does for Leases: an update must name the current resourceVersion.
      replaceNamespacedLease: ({ name, body }) => {
        fail();
        const current = this.leases.get(name);
        if (current === undefined) return Promise.reject(Object.assign(new Error('not found'), { code: 404 }));
        if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) return Promise.reject(Object.assign(new Error('conflict'), { code: 409 }));
        return Promise.resolve(this.store(name, body));
      },
      listNamespacedLease: ({ labelSelector }) => {
        fail();
        const items = [...this.leases.values()].filter((l) => `${MEMBER_OF_LABEL}=${l.metadata?.labels?.[MEMBER_OF_LABEL]}` === labelSelector);
        return Promise.resolve({ items });
      },
      deleteNamespacedLease: ({ name }) => {
        fail();
        this.leases.delete(name);
        return Promise.resolve({});
      },
    };
  }
}

const ids = (m: Membership) => m.current.map((x) => x.identity);

function member(store: LeaseStore, clock: FakeClock, identity: string): Membership {
  return new Membership({ clients: { coordination: store.client(identity) }, namespace: NS, group: GROUP, identity, clock, log: silentLog, leaseDurationMs: 30_000, renewPeriodMs: 10_000 });
}

/** Two replicas that have seen each other (one renew period after both started). */
async function twoMembers(): Promise<{ store: LeaseStore; clock: FakeClock; a: Membership; b: Membership }> {
  const store = new LeaseStore();
  const clock = new FakeClock();
  const a = member(store, clock, 'a');
  const b = member(store, clock, 'b');
  await a.start();
  await b.start();
  await clock.advance(10_000);
  return { store, clock, a, b };
}

describe('liveMembers', () => {
  const lease = (identity: string | undefined, renewTime: string | undefined, seconds = 30): V1Lease => ({ spec: { holderIdentity: identity, renewTime: renewTime as unknown as Date, leaseDurationSeconds: seconds } });
  it('keeps holders renewed within their duration, sorted and unique', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const leases = [lease('b', '2026-01-01T00:00:45Z'), lease('a', '2026-01-01T00:00:31Z'), lease('c', '2026-01-01T00:00:30Z'), lease(undefined, '2026-01-01T00:00:59Z'), lease('d', undefined), lease('b', '2026-01-01T00:00:50Z')];
    expect(liveMembers(leases, now)).toEqual([
      { identity: 'a', weight: 1 },
      { identity: 'b', weight: 1 },
    ]);
  });
  it('reads each holder\'s weight from its lease, once per holder (the later renewed lease)', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const weighted = (identity: string, renewTime: string, weight?: string): V1Lease => ({ ...lease(identity, renewTime), metadata: weight === undefined ? {} : { annotations: { [PROBE_WEIGHT_ANNOTATION]: weight } } });
    const leases = [weighted('b', '2026-01-01T00:00:45Z', '0.85'), weighted('a', '2026-01-01T00:00:50Z', 'garbage'), weighted('b', '2026-01-01T00:00:40Z', '0.5')];
    expect(liveMembers(leases, now)).toEqual([
      { identity: 'a', weight: 1 },
      { identity: 'b', weight: 0.85 },
    ]);
  });
  it.each([
    [undefined, 1],
    ['1', 1],
    ['0.85', 0.85],
    ['.5', 0.5],
    ['0.05', 0.05],
    ['0', 1],
    ['1.5', 1],
    ['-0.5', 1],
    ['1e-1', 1],
    ['NaN', 1],
    [' 0.5', 1],
    ['', 1],
  ])('reads the weight %j as %d (anything but a number in (0, 1] is a full share)', (text, weight) => {
    expect(parseProbeWeight(text)).toBe(weight);
  });
  it('writes a weight that reads back as the same number', () => {
    for (const w of [0.05, 0.1, 0.3, 0.85, 0.8500001, 1 / 3, 0.999999, 1]) expect(parseProbeWeight(formatProbeWeight(w))).toBe(w);
  });
  it('names a member lease after the group and a hash of the identity', () => {
    expect(memberLeaseName(GROUP, 'pod-1')).toMatch(/^certkeeper-operator-member-[0-9a-f]{12}$/);
    expect(memberLeaseName(GROUP, 'pod-1')).not.toBe(memberLeaseName(GROUP, 'pod-2'));
  });
});

describe('Membership', () => {
  it('sees the others join, and a replica that stops renewing drop out within a lease duration', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => member(store, clock, id)) as [Membership, Membership, Membership];
    await a.start();
    expect(ids(a)).toEqual(['a']);
    await b.start();
    await c.start();
    await clock.advance(10_000);
    expect(ids(a)).toEqual(['a', 'b', 'c']);
    const seen: string[][] = [];
    a.on('change', (m) => void seen.push(m.map((x) => x.identity)));
    // c dies silently at t: its last renewal was at most a renew period before.
    store.down.add('c');
    const died = clock.now();
    let gone: number | undefined;
    for (let t = 0; t < 40_000 && gone === undefined; t += 500) {
      await clock.advance(500);
      if (!ids(a).includes('c')) gone = clock.now();
    }
    expect(gone).toBeDefined();
    expect((gone ?? Infinity) - died).toBeLessThanOrEqual(30_000 + 1);
    expect(seen).toEqual([['a', 'b']]);
    expect(ids(b)).toEqual(['a', 'b']);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('deletes its lease when it stops, so the others see it leave at their next list', async () => {
    const { store, clock, a, b } = await twoMembers();
    expect(ids(a)).toEqual(['a', 'b']);
    await b.stop();
    expect(store.leases.size).toBe(1);
    await clock.advance(10_000);
    expect(ids(a)).toEqual(['a']);
    await a.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('renews a lease it finds already there (a restart under the same identity)', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock();
    const first = member(store, clock, 'a');
    await first.start();
    const again = member(store, clock, 'a');
    await clock.advance(5_000);
    await again.start();
    const lease = store.leases.get(memberLeaseName(GROUP, 'a'));
    expect(Date.parse(String(lease?.spec?.renewTime))).toBe(clock.now());
    expect(ids(again)).toEqual(['a']);
  });

  it('writes a weight set while running at once, and the others read it at their next list', async () => {
    const { store, clock, a, b } = await twoMembers();
    expect(a.current).toEqual([
      { identity: 'a', weight: 1 },
      { identity: 'b', weight: 1 },
    ]);
    expect(store.leases.get(memberLeaseName(GROUP, 'a'))?.metadata?.annotations).toBeUndefined();
    const seen: unknown[] = [];
    b.on('change', (m) => void seen.push(m));
    await a.setWeight(0.85);
    expect(store.leases.get(memberLeaseName(GROUP, 'a'))?.metadata?.annotations).toEqual({ [PROBE_WEIGHT_ANNOTATION]: '0.85' });
    expect(a.current).toContainEqual({ identity: 'a', weight: 0.85 });
    await clock.advance(10_000);
    expect(seen).toEqual([
      [
        { identity: 'a', weight: 0.85 },
        { identity: 'b', weight: 1 },
      ],
    ]);
    // It keeps renewing on its usual period after the extra write, with one timer.
    const renewed = Date.parse(String(store.leases.get(memberLeaseName(GROUP, 'a'))?.spec?.renewTime));
    await clock.advance(10_000);
    expect(Date.parse(String(store.leases.get(memberLeaseName(GROUP, 'a'))?.spec?.renewTime))).toBe(renewed + 10_000);
    await Promise.all([a.stop(), b.stop()]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('refuses a lease duration shorter than three renew periods', () => {
    expect(() => new Membership({ clients: { coordination: new LeaseStore().client('x') }, namespace: NS, group: GROUP, identity: 'x', clock: new FakeClock(), log: silentLog, leaseDurationMs: 20_000, renewPeriodMs: 10_000 })).toThrow(/3 renew periods/);
  });
});
