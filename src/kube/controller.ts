// The reconcile contract of controller-runtime: a reconciler looks at one key,
// makes the world match the spec, and either returns (optionally "look again
// in N ms") or throws (retry with per-key backoff). A TerminalError means
// retrying cannot help, e.g. a spec the policy forbids.

import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { sleep } from '../clock.js';
import type { Logger } from '../log.js';
import { registry as defaultRegistry } from '../metrics/registry.js';
import { controllerMetrics, type ControllerMetrics, type ReconcileOutcome } from './controller-metrics.js';
import { toError } from './errors.js';
import type { InformerEvents } from './informer.js';
import { splitKey } from './lister-watcher.js';
import type { TypedEmitter } from './typed-emitter.js';
import { WorkQueue, type RateLimiter } from './workqueue.js';

export interface ReconcileResult {
  /** Look at this key again after this many ms (also resets its error backoff). */
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** Carries controller, namespace, name and reconcileId. */
  log: Logger;
  reconcileId: string;
  /** Aborted when the controller stops (shutdown, lost leadership) or the reconcile passes its deadline. */
  signal: AbortSignal;
}

export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void>;
}

/** An error retrying cannot fix: logged and counted, the key is not retried. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

/** True for a TerminalError, or an error caused (at any depth) by one. */
export function isTerminal(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof TerminalError) return true;
  }
  return false;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  clock: Clock;
  log: Logger;
  /** Concurrent reconciles (different keys). Default 1. */
  workers?: number;
  /** Default: 5 ms doubling to 1000 s per key. */
  rateLimiter?: RateLimiter;
  registry?: Registry;
  /** How long stop() waits for in-flight reconciles. Default 30 s. */
  stopTimeoutMs?: number;
  /**
   * A reconcile running longer is told to stop (its signal aborts) and logged;
   * one running twice as long makes stuck() name it, which fails liveness so
   * the pod is restarted rather than silently doing nothing. Default 2 min.
   */
  reconcileDeadlineMs?: number;
  newReconcileId?: () => string;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly abort = new AbortController();
  private readonly newReconcileId: () => string;
  private workers: Promise<void>[] = [];
  private readonly removeQueueMetric: () => void;
  private state: 'new' | 'running' | 'stopped' = 'new';
  /** Keys being reconciled and since when: what stuck() looks at. */
  private readonly running = new Map<string, number>();

  constructor(private readonly opts: ControllerOptions) {
    this.queue = new WorkQueue({ clock: opts.clock, ...(opts.rateLimiter === undefined ? {} : { rateLimiter: opts.rateLimiter }) });
    this.log = opts.log.child({ controller: opts.name });
    this.metrics = controllerMetrics(opts.registry ?? defaultRegistry);
    this.newReconcileId = opts.newReconcileId ?? randomUUID;
    this.removeQueueMetric = this.metrics.addQueue(opts.name, () => this.queue.len());
  }

  get name(): string {
    return this.opts.name;
  }

  isRunning(): boolean {
    return this.state === 'running';
  }

  private get deadlineMs(): number {
    return this.opts.reconcileDeadlineMs ?? 120_000;
  }

  /** A reconcile still running at twice its deadline, if any: the workers are not making progress. */
  stuck(): { key: string; runningMs: number } | undefined {
    const now = this.opts.clock.now();
    for (const [key, since] of this.running) {
      if (now - since > 2 * this.deadlineMs) return { key, runningMs: now - since };
    }
    return undefined;
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  /**
   * Enqueues keys for an informer's add/update/delete events. `map` turns an
   * event into the keys to reconcile (e.g. a Secret into its Certificate);
   * by default the object's own key. Returns an unsubscribe function.
   */
  watch<T>(source: TypedEmitter<InformerEvents<T>>, map: (key: string, obj: T) => string | string[] | undefined = (key) => key): () => void {
    const enqueue = (key: string, obj: T): void => {
      const keys = map(key, obj);
      for (const k of keys === undefined ? [] : Array.isArray(keys) ? keys : [keys]) this.queue.add(k);
    };
    const offs = [
      source.on('add', enqueue),
      source.on('update', (key, obj) => enqueue(key, obj)),
      source.on('delete', enqueue),
    ];
    return () => offs.forEach((off) => off());
  }

  start(): void {
    if (this.state !== 'new') throw new Error(`controller ${this.name}: start() called twice`);
    this.state = 'running';
    const count = Math.max(1, this.opts.workers ?? 1);
    this.workers = Array.from({ length: count }, () => this.work());
    this.log.info({ workers: count }, 'controller started');
  }

  /** Stops taking keys and waits (bounded) for in-flight reconciles; then aborts their signal. */
  async stop(): Promise<void> {
    if (this.state !== 'running') {
      this.state = 'stopped';
      this.queue.shutDown();
      this.removeQueueMetric();
      return;
    }
    this.state = 'stopped';
    this.queue.shutDown();
    const timeoutMs = this.opts.stopTimeoutMs ?? 30_000;
    const timer = new AbortController();
    const finished = await Promise.race([
      Promise.all(this.workers).then(() => true),
      sleep(this.opts.clock, timeoutMs, timer.signal).then(
        () => false,
        () => false,
      ),
    ]);
    timer.abort();
    if (!finished) {
      this.log.warn({ inFlight: this.queue.inFlight(), timeoutMs }, 'reconciles still running at stop deadline; aborting them');
    }
    this.abort.abort(new Error(`controller ${this.name} stopped`));
    this.removeQueueMetric();
    this.log.info('controller stopped');
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(key);
      } catch (err) {
        // Only a bug in our own bookkeeping lands here; the worker must survive it.
        this.log.error({ err: toError(err), key }, 'unexpected failure handling a key');
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const reconcileId = this.newReconcileId();
    const { namespace, name } = splitKey(key);
    const log = this.log.child({ ...(namespace === undefined ? {} : { namespace }), name, reconcileId });
    const started = this.opts.clock.now();
    let outcome: ReconcileOutcome;
    // The reconcile's own signal: the controller's (stop), or its deadline.
    const own = new AbortController();
    const forward = () => own.abort(this.abort.signal.reason);
    this.abort.signal.addEventListener('abort', forward, { once: true });
    const deadline = this.opts.clock.setTimeout(() => {
      log.error({ deadlineMs: this.deadlineMs }, 'reconcile passed its deadline; asking it to stop');
      own.abort(new Error(`reconcile of ${key} passed its deadline of ${this.deadlineMs} ms`));
    }, this.deadlineMs);
    this.running.set(key, started);
    try {
      // Promise.resolve().then also catches a reconciler that throws synchronously.
      const result = await Promise.resolve().then(() => this.opts.reconciler.reconcile(key, { log, reconcileId, signal: own.signal }));
      this.queue.forget(key);
      const after = result?.requeueAfter;
      if (after !== undefined && after > 0) {
        this.queue.addAfter(key, after);
        outcome = 'requeue_after';
        log.debug({ requeueAfterMs: after }, 'reconciled; requeue scheduled');
      } else {
        outcome = 'success';
        log.debug('reconciled');
      }
    } catch (thrown) {
      const err = toError(thrown);
      if (isTerminal(err)) {
        this.queue.forget(key);
        outcome = 'terminal_error';
        log.error({ err }, 'reconcile failed permanently; not retrying');
      } else {
        this.queue.addRateLimited(key);
        this.metrics.retries.inc({ controller: this.name });
        outcome = 'error';
        log.error({ err, retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
      }
    }
    this.running.delete(key);
    this.opts.clock.clearTimeout(deadline);
    this.abort.signal.removeEventListener('abort', forward);
    this.metrics.reconcileTotal.inc({ controller: this.name, result: outcome });
    this.metrics.reconcileDuration.observe({ controller: this.name }, (this.opts.clock.now() - started) / 1000);
  }
}
