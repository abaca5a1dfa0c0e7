import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Controller, TerminalError, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../../src/kube/controller.js';
import { ItemExponentialRateLimiter } from '../../../src/kube/workqueue.js';
import { FakeClock, flushPromises } from '../../support/fake-clock.js';
import { Informer } from '../../../src/kube/informer.js';
import { FakeListerWatcher, obj, silentLog, type TestObject } from './fake-lister-watcher.js';

type Behaviour = (key: string, ctx: ReconcileContext, call: number) => Promise<ReconcileResult | void>;

class ScriptedReconciler implements Reconciler {
  readonly calls: Array<{ key: string; at: number; ctx: ReconcileContext }> = [];
  constructor(
    private readonly clock: FakeClock,
    private readonly behaviour: Behaviour,
  ) {}

  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    this.calls.push({ key, at: this.clock.now(), ctx });
    return this.behaviour(key, ctx, this.calls.filter((c) => c.key === key).length);
  }
}

function setup(behaviour: Behaviour, options: { workers?: number; stopTimeoutMs?: number; reconcileDeadlineMs?: number } = {}) {
  const clock = new FakeClock();
  const registry = new Registry();
  const reconciler = new ScriptedReconciler(clock, behaviour);
  let ids = 0;
  const controller = new Controller({
    name: 'certificates',
    reconciler,
    clock,
    log: silentLog,
    registry,
    rateLimiter: new ItemExponentialRateLimiter(5, 1_000),
    newReconcileId: () => `r${++ids}`,
    ...options,
  });
  return { clock, registry, reconciler, controller };
}

async function reconcileCounts(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('certkeeper_reconcile_total')?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.result), v.value]));
}

describe('Controller', () => {
  it('forgets the key on success and counts it', async () => {
    const { clock, registry, reconciler, controller } = setup(() => Promise.resolve());
    controller.start();
    controller.enqueue('ns/a');
    await clock.advance(1_000);
    expect(reconciler.calls.map((c) => c.key)).toEqual(['ns/a']);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    expect(await reconcileCounts(registry)).toEqual({ success: 1 });
    await controller.stop();
  });

  it('requeues after requeueAfter', async () => {
    const { clock, registry, reconciler, controller } = setup((_k, _c, call) => Promise.resolve(call === 1 ? { requeueAfter: 60_000 } : undefined));
    controller.start();
    controller.enqueue('ns/a');
    await clock.advance(59_999);
    expect(reconciler.calls).toHaveLength(1);
    await clock.advance(1);
    expect(reconciler.calls.map((c) => c.at - (reconciler.calls[0]?.at ?? 0))).toEqual([0, 60_000]);
    expect(await reconcileCounts(registry)).toEqual({ requeue_after: 1, success: 1 });
    await controller.stop();
  });

  it('retries a throwing reconcile with growing per-key backoff, then forgets it on success', async () => {
    const { clock, registry, reconciler, controller } = setup((_k, _c, call) =>
      call <= 4 ? Promise.reject(new Error(`attempt ${call} failed`)) : Promise.resolve(),
    );
    controller.start();
    controller.enqueue('ns/a');
    await clock.advance(10_000);
    const times = reconciler.calls.map((c) => c.at);
    expect(times.slice(1).map((t, i) => t - (times[i] ?? 0))).toEqual([5, 10, 20, 40]);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    expect(await reconcileCounts(registry)).toEqual({ error: 4, success: 1 });
    const retries = await registry.getSingleMetric('certkeeper_workqueue_retries_total')?.get();
    expect(retries?.values[0]?.value).toBe(4);
    await controller.stop();
  });

  it.each([
    { what: 'a TerminalError', error: new TerminalError('spec forbidden by policy') },
    { what: 'an error caused by a TerminalError', error: new Error('validate', { cause: new TerminalError('bad') }) },
  ])('does not retry $what', async ({ error }) => {
    const { clock, registry, reconciler, controller } = setup(() => Promise.reject(error));
    controller.start();
    controller.enqueue('ns/a');
    await clock.advance(10_000);
    expect(reconciler.calls).toHaveLength(1);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
    expect(await reconcileCounts(registry)).toEqual({ terminal_error: 1 });
    await controller.stop();
  });

  it('keeps working after reconcilers that throw synchronously or reject', async () => {
    const { clock, reconciler, controller } = setup((key) => {
      if (key === 'sync') throw new Error('sync boom');
      if (key === 'string') return Promise.reject(new Error('string boom'));
      return Promise.resolve();
    });
    controller.start();
    controller.enqueue('sync');
    controller.enqueue('string');
    controller.enqueue('ok');
    await clock.advance(1);
    expect(reconciler.calls.map((c) => c.key).slice(0, 3)).toEqual(['sync', 'string', 'ok']);
    expect(controller.queue.numRequeues('sync')).toBeGreaterThan(0);
    await controller.stop();
  });

  it('gives each reconcile a logger bound to controller, namespace, name and reconcileId', async () => {
    const { clock, reconciler, controller } = setup(() => Promise.resolve());
    controller.start();
    controller.enqueue('team-a/web');
    controller.enqueue('cluster-policy');
    await clock.advance(1);
    expect(reconciler.calls.map((c) => c.ctx.log.bindings())).toEqual([
      { controller: 'certificates', namespace: 'team-a', name: 'web', reconcileId: 'r1' },
      { controller: 'certificates', name: 'cluster-policy', reconcileId: 'r2' },
    ]);
    expect(reconciler.calls.map((c) => c.ctx.reconcileId)).toEqual(['r1', 'r2']);
    await controller.stop();
  });

  it('never reconciles one key on two workers at once', async () => {
    let active = 0;
    let maxActive = 0;
    const releases: Array<() => void> = [];
    const { clock, reconciler, controller } = setup(
      () => {
        active++;
        maxActive = Math.max(maxActive, active);
        return new Promise<void>((resolve) =>
          releases.push(() => {
            active--;
            resolve();
          }),
        );
      },
      { workers: 4 },
    );
    controller.start();
    controller.enqueue('ns/a');
    await flushPromises();
    controller.enqueue('ns/a');
    controller.enqueue('ns/a');
    await flushPromises();
    expect(reconciler.calls).toHaveLength(1);
    releases.shift()?.();
    await flushPromises();
    expect(reconciler.calls).toHaveLength(2);
    releases.shift()?.();
    await clock.advance(1);
    expect(reconciler.calls).toHaveLength(2);
    expect(maxActive).toBe(1);
    await controller.stop();
  });

  it('stop waits for an in-flight reconcile', async () => {
    let release: () => void = () => undefined;
    const { reconciler, controller } = setup(() => new Promise<void>((resolve) => (release = resolve)));
    controller.start();
    controller.enqueue('ns/a');
    await flushPromises();
    let stopped = false;
    const stopping = controller.stop().then(() => {
      stopped = true;
    });
    await flushPromises();
    expect(stopped).toBe(false);
    expect(reconciler.calls[0]?.ctx.signal.aborted).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    // It finished before the stop deadline: nothing was cut short (each reconcile has a signal of its own).
    expect(reconciler.calls[0]?.ctx.signal.aborted).toBe(false);
  });

  it('stop gives up on a stuck reconcile after its deadline and aborts its signal', async () => {
    const { clock, reconciler, controller } = setup(() => new Promise<void>(() => undefined), { stopTimeoutMs: 5_000 });
    controller.start();
    controller.enqueue('ns/a');
    await flushPromises();
    let stopped = false;
    const stopping = controller.stop().then(() => {
      stopped = true;
    });
    await clock.advance(4_999);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(stopped).toBe(true);
    expect(reconciler.calls[0]?.ctx.signal.aborted).toBe(true);
  });

  it('asks a reconcile past its deadline to stop, and names it as stuck at twice the deadline', async () => {
    // A reconcile that ignores its signal: only liveness (a restart) can end it.
    const { clock, reconciler, controller } = setup((key) => (key === 'ns/hung' ? new Promise<void>(() => undefined) : Promise.resolve()), {
      workers: 2,
      reconcileDeadlineMs: 10_000,
    });
    controller.start();
    controller.enqueue('ns/hung');
    controller.enqueue('ns/fine');
    await clock.advance(9_999);
    const hung = reconciler.calls.find((c) => c.key === 'ns/hung');
    expect(hung?.ctx.signal.aborted).toBe(false);
    expect(reconciler.calls.find((c) => c.key === 'ns/fine')?.ctx.signal.aborted).toBe(false);
    await clock.advance(1);
    expect(hung?.ctx.signal.aborted).toBe(true);
    expect(String(hung?.ctx.signal.reason)).toContain('passed its deadline of 10000 ms');
    expect(controller.stuck()).toBeUndefined();
    await clock.advance(10_001);
    expect(controller.stuck()).toEqual({ key: 'ns/hung', runningMs: 20_001 });
  });

  it('reports queue depth at scrape time', async () => {
    const { registry, controller } = setup(() => Promise.resolve());
    controller.enqueue('a');
    controller.enqueue('b');
    const beforeWork = await registry.getSingleMetric('certkeeper_workqueue_depth')?.get();
    expect(beforeWork?.values).toEqual([{ labels: { controller: 'certificates' }, value: 2 }]);
    controller.start();
    await flushPromises();
    const after = await registry.getSingleMetric('certkeeper_workqueue_depth')?.get();
    expect(after?.values).toEqual([{ labels: { controller: 'certificates' }, value: 0 }]);
    await controller.stop();
  });
});

describe('Controller.watch', () => {
  it('enqueues the keys an informer reports, mapped as asked', async () => {
    const { clock, reconciler, controller } = setup(() => Promise.resolve());
    const lw = new FakeListerWatcher<TestObject>(() => clock.now());
    lw.objects = [obj('tls-web', '1', 'team-a')];
    const secrets = new Informer({ name: 'secrets', listerWatcher: lw, clock, log: silentLog });
    // A Secret maps to the Certificate that owns it (here: by name convention).
    const unwatch = controller.watch(secrets, (key) => key.replace('/tls-', '/'));
    controller.start();
    secrets.start();
    await secrets.waitForSync();
    await flushPromises();
    lw.stream().push({ type: 'DELETED', object: obj('tls-web', '2', 'team-a') });
    await clock.advance(1);
    expect(reconciler.calls.map((c) => c.key)).toEqual(['team-a/web', 'team-a/web']);
    unwatch();
    await secrets.stop();
    await controller.stop();
  });
});
