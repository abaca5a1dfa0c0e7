// A watch-based cache of one resource that survives what real clusters do to
// watches: expired resourceVersions (410 Gone), silently dead connections,
// and API server restarts. It is an explicit state machine:
//
//   idle ──start──▶ listing ──ok──▶ watching ──server closed──▶ watching
//                    ▲   │            │  │
//                    │   │error       │  └─410 Gone / resync──▶ listing
//                    │   ▼            │error / stall
//                    └─ backoff ◀─────┘ (then back to what failed)
//   any state ──stop──▶ stopped
//
// The cache changes first and then the handlers run, so work they enqueue sees
// the new state (client-go's store-then-notify); if a handler fails, the
// change is rolled back (see commit), so the next relist delivers it again.

import type { Clock, TimerHandle } from '../clock.js';
import { sleep } from '../clock.js';
import type { Logger } from '../log.js';
import { ExponentialBackoff } from '../backoff.js';
import type { InformerEvents, InformerOptions, InformerState } from './informer-options.js';
import { isGone, KubeRequestError, toError } from './errors.js';
import { diffSnapshot, listSnapshot, type CacheEntry, type Snapshot } from './list-snapshot.js';
import { objectKey, type KubeObject, type Selectors, type WatchEvent } from './lister-watcher.js';
import { OwnWrites } from './own-writes.js';
import { TypedEmitter } from './typed-emitter.js';

export type { InformerEvents, InformerOptions, InformerState } from './informer-options.js';

type Step = 'list' | 'watch';
interface Outcome {
  next: Step;
  /** Present when the step failed: wait out a backoff delay before `next`. */
  error?: Error;
}

type AbortKind = 'stop' | 'stall' | 'resync' | 'listTimeout';
class InformerAbort extends Error {
  constructor(readonly kind: AbortKind) {
    super(`informer aborted: ${kind}`);
  }
}

function abortKind(signal: AbortSignal): AbortKind | undefined {
  return signal.aborted && signal.reason instanceof InformerAbort ? signal.reason.kind : undefined;
}

export class Informer<Raw extends KubeObject, T = Raw> extends TypedEmitter<InformerEvents<T>> {
  private readonly cache = new Map<string, CacheEntry<T>>();
  /** The server's answers to our own writes, read ahead of their watch echo (see own-writes.ts). */
  private readonly ownWrites = new OwnWrites<T>();
  private readonly backoff: ExponentialBackoff;
  private readonly transform: (raw: Raw) => T;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly pageSize: number;
  private readonly watchTimeoutSeconds: number;
  private readonly stallTimeoutMs: number;
  private readonly listPageTimeoutMs: number;
  private readonly healthyAfterMs: number;
  private readonly minWatchMs: number;
  private readonly resyncIntervalMs: number;
  private readonly maxListRestarts: number;
  private currentState: InformerState = 'idle';
  private synced = false;
  private lastResourceVersion = '';
  private op: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private stopRequested = false;
  private resyncDue = false;
  private resyncTimer: TimerHandle | undefined;
  private goneStreak = 0;
  private readonly random: () => number;

  constructor(private readonly opts: InformerOptions<Raw, T>) {
    super();
    // Without a transform T is Raw (the type parameter's default).
    this.transform = opts.transform ?? ((raw: Raw) => raw as unknown as T);
    this.clock = opts.clock;
    this.log = opts.log.child({ informer: opts.name });
    this.pageSize = opts.pageSize ?? 500;
    this.watchTimeoutSeconds = opts.watchTimeoutSeconds ?? 300;
    this.stallTimeoutMs = this.watchTimeoutSeconds * 1000 + (opts.stallMarginMs ?? 30_000);
    this.listPageTimeoutMs = opts.listPageTimeoutMs ?? 60_000;
    this.healthyAfterMs = opts.healthyAfterMs ?? 60_000;
    this.minWatchMs = opts.minWatchMs ?? 1_000;
    this.resyncIntervalMs = opts.resyncIntervalMs ?? 0;
    this.maxListRestarts = opts.maxListRestarts ?? 3;
    this.random = opts.backoff?.random ?? Math.random;
    this.backoff = new ExponentialBackoff({ initialMs: 200, maxMs: 30_000, jitter: 0.2, ...opts.backoff });
  }

  get name(): string {
    return this.opts.name;
  }

  get state(): InformerState {
    return this.currentState;
  }

  /** True once the first full LIST has been applied; stays true across relists. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** True while the list/watch loop runs (for liveness). */
  isRunning(): boolean {
    return this.loop !== undefined && this.currentState !== 'stopped';
  }

  get(key: string): T | undefined {
    return this.ownWrites.read(key, this.cache.get(key));
  }

  list(): T[] {
    if (this.ownWrites.size === 0) return [...this.cache.values()].map((e) => e.obj);
    return [...this.cache].map(([key, e]) => this.ownWrites.read(key, e) ?? e.obj);
  }

  /**
   * The server's answer to a write this process made (a status patch, an
   * update): `get` and `list` return it until the watch delivers that
   * version or a newer one. Handlers are not called; the echo calls them.
   */
  observe(raw: Raw): void {
    const entry = this.toEntry(raw);
    if (entry?.obj === undefined) return;
    this.ownWrites.observe(entry.key, { resourceVersion: entry.resourceVersion, obj: entry.obj }, this.cache.get(entry.key));
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  get size(): number {
    return this.cache.size;
  }

  start(): void {
    if (this.loop !== undefined) return;
    if (this.stopRequested) throw new Error(`informer ${this.name}: cannot restart a stopped informer`);
    this.loop = this.run();
  }

  /** Stops the loop and waits for it to exit. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    this.op?.abort(new InformerAbort('stop'));
    this.clearResync();
    if (this.loop === undefined) this.setState('stopped');
    await this.loop;
  }

  /** Resolves once synced; rejects when `signal` aborts or the informer stops first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const cleanups: Array<() => void> = [];
      const done = (err?: Error): void => {
        cleanups.forEach((c) => c());
        if (err === undefined) resolve();
        else reject(err);
      };
      cleanups.push(this.on('synced', () => done()));
      cleanups.push(
        this.on('stateChange', (next) => {
          if (next === 'stopped') done(new Error(`informer ${this.name} stopped before it synced`));
        }),
      );
      if (signal !== undefined) {
        const onAbort = (): void => done(new Error(`waiting for informer ${this.name} to sync: aborted`));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
    });
  }

  private async run(): Promise<void> {
    let step: Step = 'list';
    while (!this.stopRequested) {
      const outcome: Outcome = step === 'list' ? await this.listAndSync() : await this.watchOnce();
      step = outcome.next;
      if (this.stopRequested || outcome.error === undefined) continue;
      const delayMs = this.backoff.next();
      this.reportError(outcome.error, { delayMs, attempt: this.backoff.attempts });
      this.setState('backoff');
      try {
        await sleep(this.clock, delayMs, this.newOp().signal);
      } catch {
        // stopped during the delay; the loop condition ends it
      }
    }
    this.clearResync();
    this.setState('stopped');
  }

  private async listAndSync(): Promise<Outcome> {
    this.setState('listing');
    let snapshot: Snapshot<T>;
    try {
      snapshot = await listSnapshot<Raw, T>({
        listerWatcher: this.opts.listerWatcher,
        selectors: this.selectors(),
        pageSize: this.pageSize,
        maxRestarts: this.maxListRestarts,
        toEntry: (raw) => this.toEntry(raw),
        runPage: (call) => this.withPageTimeout(call),
        isStopped: () => this.stopRequested,
        log: this.log,
      });
    } catch (err) {
      if (this.stopRequested) return { next: 'list' };
      return { next: 'list', error: new Error(`informer ${this.name}: list failed: ${toError(err).message}`, { cause: err }) };
    }
    await this.applySnapshot(snapshot);
    this.lastResourceVersion = snapshot.resourceVersion;
    this.resyncDue = false;
    this.scheduleResync();
    if (!this.synced && !this.stopRequested) {
      this.synced = true;
      this.log.info({ objects: this.cache.size }, 'informer synced');
      this.emitQuietly('synced', (e) => this.reportListenerError('synced', e));
    }
    return { next: 'watch' };
  }

  private async withPageTimeout<R>(call: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const op = this.newOp();
    const timer = this.clock.setTimeout(() => op.abort(new InformerAbort('listTimeout')), this.listPageTimeoutMs);
    try {
      return await call(op.signal);
    } catch (err) {
      if (abortKind(op.signal) === 'listTimeout') throw new Error(`list page took longer than ${this.listPageTimeoutMs} ms`);
      throw err;
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /** Delivers the difference between cache and snapshot (see commit for the cache rule). */
  private async applySnapshot(snapshot: Snapshot<T>): Promise<void> {
    for (const change of diffSnapshot(this.cache, snapshot)) {
      if (this.stopRequested) return;
      const { key } = change;
      switch (change.type) {
        case 'add':
          await this.commit('add', key, change.entry, () => this.emitAndWait('add', key, change.entry.obj));
          break;
        case 'update':
          await this.commit('update', key, change.entry, () => this.emitAndWait('update', key, change.entry.obj, change.old.obj));
          break;
        case 'delete':
          await this.commit('delete', key, undefined, () => this.emitAndWait('delete', key, change.old.obj));
          break;
      }
    }
  }

  /**
   * The cache changes first, so a handler that enqueues work sees the new
   * state when the work runs (as client-go's store-then-notify); if a handler
   * fails, the change is rolled back, so the next relist finds the difference
   * again and delivers it once more.
   */
  private async commit(event: 'add' | 'update' | 'delete', key: string, next: CacheEntry<T> | undefined, emit: () => Promise<void>): Promise<void> {
    const previous = this.cache.get(key);
    if (next === undefined) this.cache.delete(key);
    else this.cache.set(key, next);
    if (!(await this.deliver(event, key, emit))) {
      if (previous === undefined) this.cache.delete(key);
      else this.cache.set(key, previous);
    }
    this.ownWrites.settle(key, this.cache.get(key));
  }

  private async watchOnce(): Promise<Outcome> {
    if (this.resyncDue) return { next: 'list' };
    this.setState('watching');
    const op = this.newOp();
    const startedAt = this.clock.now();
    let received = 0;
    let stallTimer: TimerHandle | undefined;
    const disarm = (): void => {
      if (stallTimer !== undefined) this.clock.clearTimeout(stallTimer);
      stallTimer = undefined;
    };
    // The watchdog runs only while we wait for the server, not while handlers run.
    const arm = (): void => {
      disarm();
      stallTimer = this.clock.setTimeout(() => op.abort(new InformerAbort('stall')), this.stallTimeoutMs);
    };
    let failure: unknown;
    let gone = false;
    try {
      arm();
      const request = {
        resourceVersion: this.lastResourceVersion,
        timeoutSeconds: this.watchTimeoutSeconds,
        allowWatchBookmarks: true,
        ...this.selectors(),
      };
      for await (const event of this.opts.listerWatcher.watch(request, op.signal)) {
        disarm();
        received++;
        if (event.type === 'ERROR') {
          const { code, reason, message } = event.status;
          if (code === 410) gone = true;
          else failure = new KubeRequestError(`watch ERROR event: ${code ?? '?'} ${reason ?? ''}: ${message ?? ''}`, code ?? 500, reason);
          break;
        }
        await this.applyWatchEvent(event);
        if (op.signal.aborted) break;
        arm();
      }
    } catch (err) {
      failure = err;
    } finally {
      disarm();
    }

    const ranMs = this.clock.now() - startedAt;
    if (ranMs >= this.healthyAfterMs) this.backoff.reset();
    switch (abortKind(op.signal)) {
      case 'stop':
        return { next: 'watch' };
      case 'resync':
        return { next: 'list' };
      case 'stall':
        return { next: 'watch', error: new Error(`informer ${this.name}: watch silent for ${this.stallTimeoutMs} ms; reconnecting`) };
      default:
        break;
    }
    if (gone || isGone(failure)) {
      // The resourceVersion is too old: only a fresh list can resynchronise.
      // A watch that was useful before expiring is normal; 410 straight after a relist is not.
      this.goneStreak = received > 1 || ranMs >= this.minWatchMs ? 1 : this.goneStreak + 1;
      this.log.info('watch resourceVersion expired (410 Gone); relisting');
      return this.goneStreak > 1
        ? { next: 'list', error: new Error(`informer ${this.name}: watch returned 410 Gone again right after a relist`) }
        : { next: 'list' };
    }
    if (failure !== undefined) {
      return { next: 'watch', error: new Error(`informer ${this.name}: watch failed: ${toError(failure).message}`, { cause: failure }) };
    }
    if (received === 0 && ranMs < this.minWatchMs) {
      return { next: 'watch', error: new Error(`informer ${this.name}: watch closed after ${ranMs} ms without events`) };
    }
    return { next: 'watch' };
  }

  private async applyWatchEvent(event: Exclude<WatchEvent<Raw>, { type: 'ERROR' }>): Promise<void> {
    if (event.type === 'BOOKMARK') {
      if (event.resourceVersion !== '') this.lastResourceVersion = event.resourceVersion;
      return;
    }
    const rv = event.object.metadata?.resourceVersion;
    // Advance even if a handler fails below: ordering is the server's, retries come from relists.
    if (rv !== undefined && rv !== '') this.lastResourceVersion = rv;
    const entry = this.toEntry(event.object);
    if (entry === undefined) return;
    const { key } = entry;
    if (event.type === 'DELETED') {
      // An untransformable final state still deletes: fall back to the last cached summary.
      const gone = entry.obj ?? this.cache.get(key)?.obj;
      if (gone === undefined) return;
      await this.commit('delete', key, undefined, () => this.emitAndWait('delete', key, gone));
      return;
    }
    const obj = entry.obj;
    if (obj === undefined) return;
    const old = this.cache.get(key);
    const next = { resourceVersion: entry.resourceVersion, obj };
    if (old === undefined) await this.commit('add', key, next, () => this.emitAndWait('add', key, obj));
    else await this.commit('update', key, next, () => this.emitAndWait('update', key, obj, old.obj));
  }

  /** Key, version and transformed object; `obj` undefined when the transform failed. */
  private toEntry(raw: Raw): { key: string; resourceVersion: string; obj: T | undefined } | undefined {
    const key = objectKey(raw);
    if (key === undefined) {
      this.log.warn('ignoring an object without metadata.name');
      return undefined;
    }
    const resourceVersion = raw.metadata?.resourceVersion ?? '';
    try {
      return { key, resourceVersion, obj: this.transform(raw) };
    } catch (err) {
      this.reportError(new Error(`informer ${this.name}: transform failed for ${key}`, { cause: err }));
      return { key, resourceVersion, obj: undefined };
    }
  }

  private async deliver(event: 'add' | 'update' | 'delete', key: string, emit: () => Promise<void>): Promise<boolean> {
    try {
      await emit();
      return true;
    } catch (err) {
      this.reportError(new Error(`informer ${this.name}: ${event} handler failed for ${key}: ${toError(err).message}`, { cause: err }));
      return false;
    }
  }

  private selectors(): Selectors {
    return {
      ...(this.opts.labelSelector === undefined ? {} : { labelSelector: this.opts.labelSelector }),
      ...(this.opts.fieldSelector === undefined ? {} : { fieldSelector: this.opts.fieldSelector }),
    };
  }

  private newOp(): AbortController {
    const op = new AbortController();
    if (this.stopRequested) op.abort(new InformerAbort('stop'));
    this.op = op;
    return op;
  }

  private scheduleResync(): void {
    this.clearResync();
    if (this.resyncIntervalMs <= 0 || this.stopRequested) return;
    const delay = this.resyncIntervalMs * (0.9 + this.random() * 0.2);
    this.resyncTimer = this.clock.setTimeout(() => {
      this.resyncTimer = undefined;
      this.resyncDue = true;
      if (this.currentState === 'watching') this.op?.abort(new InformerAbort('resync'));
    }, delay);
  }

  private clearResync(): void {
    if (this.resyncTimer !== undefined) this.clock.clearTimeout(this.resyncTimer);
    this.resyncTimer = undefined;
  }

  private setState(next: InformerState): void {
    const prev = this.currentState;
    if (prev === next) return;
    this.currentState = next;
    this.log.debug({ from: prev, to: next }, 'informer state');
    this.emitQuietly('stateChange', (e) => this.reportListenerError('stateChange', e), next, prev);
  }

  private reportError(err: Error, context: Record<string, unknown> = {}): void {
    this.log.warn({ err, ...context }, err.message);
    this.emitQuietly('error', (e) => this.reportListenerError('error', e), err);
  }

  private reportListenerError(event: string, err: unknown): void {
    this.log.error({ err: toError(err) }, `informer ${this.name}: ${event} listener threw`);
  }
}
