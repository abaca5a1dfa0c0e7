import { ApiException, type V1Lease } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { LeaderElector, type LeaseClient } from '../../../src/kube/leader.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';
import { silentLog } from './fake-lister-watcher.js';

const NS = 'certkeeper';
const NAME = 'certkeeper-leader';

/** One Lease object with resourceVersion checks, reached through per-candidate clients that can be cut off. */
class FakeLeaseStore {
  lease: V1Lease | undefined;
  private rv = 0;
  /** Changes the lease under a writer between its read and its write. */
  interleave: (() => void) | undefined;

  // JSON round trip: times come back as strings, as from the real API.
  private copy(lease: V1Lease): V1Lease {
    return JSON.parse(JSON.stringify(lease)) as V1Lease;
  }

  private store(lease: V1Lease): V1Lease {
    this.lease = this.copy({ ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } });
    return this.copy(this.lease);
  }

  client(): LeaseClient & { mode: 'up' | 'error' | 'hang' } {
    const down = (): Promise<never> =>
      client.mode === 'hang' ? new Promise<never>(() => undefined) : Promise.reject(new ApiException(500, 'Internal', '{"message":"etcd down"}', {}));
    const client = {
      mode: 'up' as 'up' | 'error' | 'hang',
      readNamespacedLease: (_p: { name: string; namespace: string }): Promise<V1Lease> => {
        if (client.mode !== 'up') return down();
        if (this.lease === undefined) return Promise.reject(new ApiException(404, 'NotFound', '{}', {}));
        return Promise.resolve(this.copy(this.lease));
      },
      createNamespacedLease: (p: { namespace: string; body: V1Lease }): Promise<V1Lease> => {
        if (client.mode !== 'up') return down();
        if (this.lease !== undefined) return Promise.reject(new ApiException(409, 'AlreadyExists', '{}', {}));
        return Promise.resolve(this.store(p.body));
      },
      replaceNamespacedLease: (p: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> => {
        if (client.mode !== 'up') return down();
        const hook = this.interleave;
        this.interleave = undefined;
        hook?.();
        if (this.lease === undefined) return Promise.reject(new ApiException(404, 'NotFound', '{}', {}));
        if (p.body.metadata?.resourceVersion !== this.lease.metadata?.resourceVersion) {
          return Promise.reject(new ApiException(409, 'Conflict', '{"message":"the object has been modified"}', {}));
        }
        return Promise.resolve(this.store(p.body));
      },
    };
    return client;
  }

  /** Another process writes the lease directly. */
  takeOver(holder: string, at: number): void {
    this.store({
      ...this.lease,
      spec: { ...this.lease?.spec, holderIdentity: holder, renewTime: new Date(at), leaseDurationSeconds: 15 },
    });
  }
}

function candidate(store: FakeLeaseStore, clock: FakeClock, identity: string, log: string[]) {
  const client = store.client();
  const elector = new LeaderElector({ clients: { coordination: client }, namespace: NS, name: NAME, identity, clock, log: silentLog, random: () => 0 });
  let signal: AbortSignal | undefined;
  let startedAt: number | undefined;
  let stoppedAt: number | undefined;
  let finished = false;
  const running = elector
    .run({
      onStartedLeading: (s) => {
        signal = s;
        startedAt = clock.now();
        log.push(`${identity}:started`);
      },
      onStoppedLeading: () => {
        stoppedAt = clock.now();
        log.push(`${identity}:stopped`);
      },
      onNewLeader: (who) => log.push(`${identity}:sees:${who}`),
    })
    .then(() => {
      finished = true;
    });
  return {
    elector,
    client,
    running,
    signal: () => signal,
    startedAt: () => startedAt,
    stoppedAt: () => stoppedAt,
    finished: () => finished,
  };
}

const holder = (store: FakeLeaseStore) => store.lease?.spec?.holderIdentity;

describe('LeaderElector', () => {
  it('acquires an absent lease and renews it every retry period', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const store = new FakeLeaseStore();
    const log: string[] = [];
    const a = candidate(store, clock, 'a', log);
    await flushPromises();
    expect(a.elector.isLeader()).toBe(true);
    expect(log).toEqual(['a:sees:a', 'a:started']);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });

    await clock.advance(2_000);
    expect(store.lease?.spec?.renewTime).toBe(new Date(t0 + 2_000).toISOString().replace('Z', '000Z'));
    await clock.advance(60_000);
    expect(Date.parse(String(store.lease?.spec?.renewTime))).toBe(t0 + 62_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.signal()?.aborted).toBe(false);
    await a.elector.release();
  });

  it('keeps a standby waiting while the leader renews', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const log: string[] = [];
    const a = candidate(store, clock, 'a', log);
    await flushPromises();
    const b = candidate(store, clock, 'b', log);
    await clock.advance(120_000);
    expect(b.elector.isLeader()).toBe(false);
    expect(log).toContain('b:sees:a');
    expect(holder(store)).toBe('a');
    await b.elector.release();
    await a.elector.release();
  });

  it.each([
    { how: 'sees another holder at its next renewal', race: false },
    { how: 'gets a 409 because another holder wrote between its read and write', race: true },
  ])('loses at once when it $how', async ({ race }) => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const store = new FakeLeaseStore();
    const log: string[] = [];
    const a = candidate(store, clock, 'a', log);
    await flushPromises();
    if (race) store.interleave = () => store.takeOver('intruder', clock.now());
    else store.takeOver('intruder', t0 + 1_000);
    await clock.advance(2_000);
    await a.running;
    expect(a.finished()).toBe(true);
    expect(a.stoppedAt()).toBe(t0 + 2_000);
    expect(a.signal()?.aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(holder(store)).toBe('intruder');
  });

  it.each([{ mode: 'error' as const }, { mode: 'hang' as const }])(
    'gives up leadership when renewals fail ($mode) for the renew deadline',
    async ({ mode }) => {
      const clock = new FakeClock();
      const t0 = clock.now();
      const store = new FakeLeaseStore();
      const a = candidate(store, clock, 'a', []);
      await flushPromises();
      a.client.mode = mode;
      await clock.advance(9_999);
      expect(a.elector.isLeader()).toBe(true);
      expect(a.signal()?.aborted).toBe(false);
      await clock.advance(1);
      await a.running;
      expect(a.stoppedAt()).toBe(t0 + 10_000);
      expect(a.signal()?.aborted).toBe(true);
    },
  );

  it('lets a standby take over only after the lease expired, after the old leader stopped', async () => {
    const clock = new FakeClock();
    const t0 = clock.now();
    const store = new FakeLeaseStore();
    const log: string[] = [];
    const a = candidate(store, clock, 'a', log);
    await flushPromises();
    a.client.mode = 'error'; // partitioned: last renewal at t0
    const b = candidate(store, clock, 'b', log);
    await clock.advance(15_000);
    expect(b.elector.isLeader()).toBe(false);
    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(b.startedAt()).toBe(t0 + 16_000);
    expect(a.stoppedAt()).toBe(t0 + 10_000);
    expect(log.indexOf('a:stopped')).toBeLessThan(log.indexOf('b:started'));
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.release();
  });

  it('releases the lease after stopping its work, so a standby takes over at once', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const log: string[] = [];
    const a = candidate(store, clock, 'a', log);
    await flushPromises();
    const b = candidate(store, clock, 'b', log);
    await clock.advance(5_000);
    const releasedAt = clock.now();

    await a.elector.release();
    expect(a.finished()).toBe(true);
    expect(log.at(-1)).toBe('a:stopped');
    expect(store.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });

    await clock.advance(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect((b.startedAt() ?? Infinity) - releasedAt).toBeLessThanOrEqual(2_000);
    await b.elector.release();
  });

  it('stops campaigning when released before it ever led', async () => {
    const clock = new FakeClock();
    const store = new FakeLeaseStore();
    const log: string[] = [];
    const a = candidate(store, clock, 'a', log);
    await flushPromises();
    const b = candidate(store, clock, 'b', log);
    await clock.advance(3_000);
    const leaseBefore = JSON.stringify(store.lease?.spec?.holderIdentity);
    await b.elector.release();
    expect(b.finished()).toBe(true);
    expect(log).not.toContain('b:started');
    expect(log).not.toContain('b:stopped');
    expect(JSON.stringify(holder(store))).toBe(leaseBefore);
    await a.elector.release();
  });

  it('rejects timings that would let two leaders overlap', () => {
    const store = new FakeLeaseStore();
    expect(
      () =>
        new LeaderElector({
          clients: { coordination: store.client() },
          namespace: NS,
          name: NAME,
          identity: 'a',
          clock: new FakeClock(),
          log: silentLog,
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
        }),
    ).toThrow('leaseDuration > renewDeadline > retryPeriod');
  });
});
