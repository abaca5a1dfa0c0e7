// Kubernetes Events (events.k8s.io/v1) for humans running `kubectl describe`.
// Best-effort by design: recording never blocks or fails a reconcile, a
// repeated event becomes a series (count + lastObservedTime) instead of a
// new object, and a flood is cut off at a bounded number of writes in flight.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { V1MicroTime, type EventsV1Api, type EventsV1Event } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { METRIC_PREFIX, oncePerRegistry } from '../metrics/registry.js';
import { isNamespaceTerminating, isNotFound, toError } from './errors.js';
import type { MergePatches } from './raw-apis.js';

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  name: string;
  /** Absent for cluster-scoped objects. */
  namespace?: string;
  uid?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecord {
  regarding: ObjectReference;
  type: EventType;
  /** PascalCase, machine-readable: why. */
  reason: string;
  /** Human-readable; never secret material. Truncated to 1 KiB. */
  note: string;
  /** PascalCase: what was done or attempted, e.g. "Issue". */
  action: string;
  related?: ObjectReference;
}

export type EventsClient = Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'> & MergePatches;

export interface EventRecorderOptions {
  clients: { events: EventsClient };
  clock: Clock;
  log: Logger;
  reportingController?: string;
  /** Default: $POD_NAME, else the host name. */
  reportingInstance?: string;
  /** Repeats within this window join the existing Event's series. Default 10 min. */
  dedupeWindowMs?: number;
  /** Writes in flight beyond this are dropped: logged once per burst, counted in certkeeper_events_dropped_total. Default 100. */
  maxInFlight?: number;
  /** Series remembered for dedupe; the oldest are forgotten first. Default 4096. */
  maxTracked?: number;
  /** Where events about cluster-scoped objects go (kubectl looks in "default"). */
  clusterScopedNamespace?: string;
  /** Where certkeeper_events_dropped_total is registered; none: not counted. */
  registry?: Registry;
}

interface Series {
  namespace: string;
  name: string;
  count: number;
  lastAt: number;
}

/** Events dropped since the in-flight bound was hit, until the writes drain to half of it. */
interface DropBurst {
  dropped: number;
  byReason: Map<string, number>;
}

const droppedCounter = oncePerRegistry(
  (registry): Counter<'reason'> =>
    new Counter({
      name: `${METRIC_PREFIX}events_dropped_total`,
      help: 'Kubernetes Events not written because too many writes were in flight (a flood, or a slow API server), by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
);

const MAX_NOTE_BYTES = 1024;
const MAX_FIELD = 128;

function truncateBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  // Cut on a character boundary, then mark the cut.
  return `${new TextDecoder().decode(buf.subarray(0, maxBytes - 3)).replace(/\uFFFD$/, '')}...`;
}

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  private readonly reportingController: string;
  private readonly reportingInstance: string;
  private readonly window: number;
  private readonly maxInFlight: number;
  private readonly maxTracked: number;
  private inFlight = 0;
  private droppedCount = 0;
  private burst: DropBurst | undefined;
  private readonly droppedMetric: Counter<'reason'> | undefined;

  constructor(private readonly opts: EventRecorderOptions) {
    this.reportingController = (opts.reportingController ?? 'certkeeper.dev/operator').slice(0, MAX_FIELD);
    this.reportingInstance = (opts.reportingInstance ?? process.env.POD_NAME ?? hostname()).slice(0, MAX_FIELD);
    this.window = opts.dedupeWindowMs ?? 10 * 60_000;
    this.maxInFlight = opts.maxInFlight ?? 100;
    this.maxTracked = opts.maxTracked ?? 4096;
    this.droppedMetric = opts.registry === undefined ? undefined : droppedCounter(opts.registry);
  }

  normal(regarding: ObjectReference, reason: string, note: string, action: string = reason): void {
    this.record({ regarding, type: 'Normal', reason, note, action });
  }

  warning(regarding: ObjectReference, reason: string, note: string, action: string = reason): void {
    this.record({ regarding, type: 'Warning', reason, note, action });
  }

  /** Queues the write and returns at once; failures are logged, never thrown. */
  record(event: EventRecord): void {
    if (this.inFlight >= this.maxInFlight) {
      this.drop(event);
      return;
    }
    this.inFlight++;
    const key = JSON.stringify([
      event.regarding.uid ?? '',
      event.regarding.kind,
      event.regarding.namespace ?? '',
      event.regarding.name,
      event.type,
      event.reason,
      event.action,
      event.note,
    ]);
    // One write at a time per series, so a repeat sees the Event its predecessor created.
    const previous = this.chains.get(key) ?? Promise.resolve();
    const write = previous.then(() => this.write(key, event));
    const settled = write
      .catch((err: unknown) => {
        if (isNamespaceTerminating(err)) {
          this.opts.log.debug({ reason: event.reason, object: describe(event.regarding) }, 'event not recorded: its namespace is being deleted');
          return;
        }
        this.opts.log.warn({ err: toError(err), reason: event.reason, object: describe(event.regarding) }, 'could not record event');
      })
      .finally(() => {
        this.inFlight--;
        if (this.inFlight <= this.maxInFlight / 2) this.endBurst();
        this.pending.delete(settled);
        if (this.chains.get(key) === settled) this.chains.delete(key);
      });
    this.chains.set(key, settled);
    this.pending.add(settled);
  }

  // A flood (a new leader announcing every violating address at once) would
  // otherwise log a line per dropped event: one line when dropping starts,
  // one with the counts when the writes have drained to half the bound.
  private drop(event: EventRecord): void {
    this.droppedCount++;
    const reason = event.reason.slice(0, MAX_FIELD);
    this.droppedMetric?.inc({ reason });
    if (this.burst === undefined) {
      this.burst = { dropped: 0, byReason: new Map() };
      this.opts.log.warn(
        { reason: event.reason, object: describe(event.regarding), inFlight: this.inFlight },
        'too many events in flight; dropping events until the writes drain',
      );
    }
    this.burst.dropped++;
    this.burst.byReason.set(reason, (this.burst.byReason.get(reason) ?? 0) + 1);
  }

  private endBurst(): void {
    const b = this.burst;
    if (b === undefined) return;
    this.burst = undefined;
    this.opts.log.warn({ dropped: b.dropped, byReason: Object.fromEntries(b.byReason), droppedSinceStart: this.droppedCount }, 'events dropped while too many were in flight');
  }

  /** Events dropped because too many writes were in flight. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Waits for every write queued so far (tests, graceful shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private async write(key: string, event: EventRecord): Promise<void> {
    const now = this.opts.clock.now();
    const known = this.series.get(key);
    if (known !== undefined && now - known.lastAt < this.window) {
      const count = known.count + 1;
      try {
        await this.opts.clients.events.patchNamespacedEvent(
          { name: known.name, namespace: known.namespace, body: { series: { count, lastObservedTime: new V1MicroTime(now) } } },
        );
        known.count = count;
        known.lastAt = now;
        return;
      } catch (err) {
        // The Event expired or was deleted: start a new one below.
        if (!isNotFound(err)) throw err;
      }
    }
    const namespace = event.regarding.namespace ?? this.opts.clusterScopedNamespace ?? 'default';
    const suffix = `.${now.toString(16)}${randomBytes(3).toString('hex')}`;
    const name = `${event.regarding.name.slice(0, 253 - suffix.length)}${suffix}`;
    const body: EventsV1Event = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name, namespace },
      eventTime: new V1MicroTime(now),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      action: event.action.slice(0, MAX_FIELD),
      reason: event.reason.slice(0, MAX_FIELD),
      type: event.type,
      note: truncateBytes(event.note, MAX_NOTE_BYTES),
      regarding: { ...event.regarding },
      ...(event.related === undefined ? {} : { related: { ...event.related } }),
    };
    await this.opts.clients.events.createNamespacedEvent({ namespace, body });
    this.series.delete(key);
    this.series.set(key, { namespace, name, count: 1, lastAt: now });
    while (this.series.size > this.maxTracked) {
      const oldest = this.series.keys().next();
      if (oldest.done === true) break;
      this.series.delete(oldest.value);
    }
  }
}

function describe(ref: ObjectReference): string {
  return `${ref.kind} ${ref.namespace === undefined ? ref.name : `${ref.namespace}/${ref.name}`}`;
}
