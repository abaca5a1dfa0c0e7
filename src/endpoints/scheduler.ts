import type { Clock, TimerHandle } from '../clock.js';

// The probe loop. It runs beside the reconcile work queue, never in it: a
// probe waits for sockets and timeouts, and a reconcile must never wait for
// a probe. One timer for the earliest due target (not one per target), a
// heap of due times, and a global limit on probes in flight. A target is
// probed at once when it is new or its revision changes (a renewal: a new
// fingerprint to look for), then every interval plus up to 10 % jitter, or
// every recheck interval while its last probe said "look again soon"
// (stale, unreachable).

export interface ScheduledTarget {
  key: string;
  intervalMs: number;
  /** What the probe must establish; a change means probe again now. */
  revision: string;
  /**
   * Whose target it is (a namespace). When several groups have probes due,
   * the free slot goes to the group with the fewest probes in flight: one
   * namespace with a thousand addresses cannot keep the others waiting.
   */
  group?: string;
}

export interface ProbeSchedulerOptions<T extends ScheduledTarget> {
  clock: Clock;
  /** Probes in flight at most. */
  concurrency: number;
  /** Delay before the next probe of a target whose last probe asked for a recheck. */
  recheckIntervalMs: number;
  /** Up to this fraction of the interval is added, so targets added together drift apart. Default 0.1. */
  jitter?: number;
  /** [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
  /** Probes one target; `recheck` asks for the short interval. A rejection counts as recheck. */
  probe(target: T): Promise<{ recheck: boolean }>;
  /** Told about a probe that threw (the scheduler goes on). */
  onError?: (target: T, err: unknown) => void;
}

interface Entry<T> {
  target: T;
  due: number;
  /** Bumped at every reschedule: heap items of older generations are ignored. */
  generation: number;
  running: boolean;
  /** The revision changed while a probe ran: probe again when it ends. */
  rerun: boolean;
}

interface HeapItem {
  due: number;
  key: string;
  generation: number;
}

type Queued = HeapItem & { seq: number };

/** Earlier due first; of equal due, the one queued first (targets added together go in order). */
const before = (a: Queued, b: Queued): boolean => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/** A binary min-heap on due time; stale items are skipped when they surface. */
class DueHeap {
  private readonly items: Queued[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): HeapItem | undefined {
    return this.items[0];
  }

  push(item: HeapItem): void {
    const a = this.items;
    a.push({ ...item, seq: this.seq++ });
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i] as Queued, a[parent] as Queued)) break;
      [a[parent], a[i]] = [a[i] as Queued, a[parent] as Queued];
      i = parent;
    }
  }

  pop(): HeapItem | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && before(a[l] as Queued, a[m] as Queued)) m = l;
      if (r < a.length && before(a[r] as Queued, a[m] as Queued)) m = r;
      if (m === i) break;
      [a[m], a[i]] = [a[i] as Queued, a[m] as Queued];
      i = m;
    }
    return top;
  }
}

export class ProbeScheduler<T extends ScheduledTarget> {
  private readonly entries = new Map<string, Entry<T>>();
  /** Due times per group: the next slot goes to the least busy group with a due target. */
  private readonly queues = new Map<string, DueHeap>();
  private readonly runningByGroup = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private timer: { handle: TimerHandle; due: number } | undefined;
  private running = 0;
  private started = false;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(private readonly options: ProbeSchedulerOptions<T>) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) throw new RangeError(`probe concurrency must be a positive integer, got ${options.concurrency}`);
    this.jitter = options.jitter ?? 0.1;
    this.random = options.random ?? Math.random;
  }

  /** Probes in flight now. */
  get active(): number {
    return this.running;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Nothing in flight and nothing due now: a burst of probes (a new policy, a scan) is over. */
  get idle(): boolean {
    return this.running === 0 && (this.earliest()?.due ?? Infinity) > this.options.clock.now();
  }

  /** When a target is next due (ms since the epoch), for tests and debugging. */
  dueAt(key: string): number | undefined {
    const e = this.entries.get(key);
    return e === undefined || e.running ? undefined : e.due;
  }

  /** Replaces the set of targets: new ones are due now, changed ones too, gone ones are dropped. */
  setTargets(targets: Iterable<T>): void {
    const now = this.options.clock.now();
    const seen = new Set<string>();
    for (const target of targets) {
      seen.add(target.key);
      const e = this.entries.get(target.key);
      if (e === undefined) {
        const entry: Entry<T> = { target, due: now, generation: 0, running: false, rerun: false };
        this.entries.set(target.key, entry);
        this.enqueue(target, { due: now, key: target.key, generation: 0 });
        continue;
      }
      const changed = e.target.revision !== target.revision;
      const shorter = target.intervalMs < e.target.intervalMs;
      e.target = target;
      if (e.running) {
        if (changed) e.rerun = true;
      } else if (changed) {
        this.reschedule(e, now);
      } else if (shorter && e.due > now + target.intervalMs) {
        this.reschedule(e, now + target.intervalMs);
      }
    }
    for (const key of [...this.entries.keys()]) if (!seen.has(key)) this.entries.delete(key);
    // Dropped entries leave heap items behind; rebuild when they outnumber the live ones.
    let queued = 0;
    for (const q of this.queues.values()) queued += q.size;
    if (queued > 2 * this.entries.size + 64) this.rebuildHeap();
    this.pump();
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  /** Starts no more probes; resolves when those in flight have ended. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private enqueue(target: T, item: HeapItem): void {
    const group = target.group ?? '';
    let q = this.queues.get(group);
    if (q === undefined) this.queues.set(group, (q = new DueHeap()));
    q.push(item);
  }

  private reschedule(e: Entry<T>, due: number): void {
    e.due = due;
    e.generation++;
    this.enqueue(e.target, { due, key: e.target.key, generation: e.generation });
  }

  private rebuildHeap(): void {
    this.queues.clear();
    for (const e of this.entries.values()) if (!e.running) this.enqueue(e.target, { due: e.due, key: e.target.key, generation: e.generation });
  }

  /** The group's earliest live item, stale ones dropped on the way; an emptied queue goes. */
  private head(group: string, q: DueHeap): HeapItem | undefined {
    let top = q.peek();
    while (top !== undefined && this.live(top) === undefined) {
      q.pop();
      top = q.peek();
    }
    if (top === undefined) this.queues.delete(group);
    return top;
  }

  private live(item: HeapItem): Entry<T> | undefined {
    const e = this.entries.get(item.key);
    return e !== undefined && !e.running && e.generation === item.generation ? e : undefined;
  }

  private pump(): void {
    if (!this.started) return;
    const now = this.options.clock.now();
    while (this.running < this.options.concurrency) {
      // Of the groups with a target due, the one with the fewest probes in flight (then the earliest due).
      let chosen: { group: string; q: DueHeap; top: HeapItem; busy: number } | undefined;
      for (const [group, q] of [...this.queues]) {
        const top = this.head(group, q);
        if (top === undefined || top.due > now) continue;
        const busy = this.runningByGroup.get(group) ?? 0;
        if (chosen === undefined || busy < chosen.busy || (busy === chosen.busy && top.due < chosen.top.due)) chosen = { group, q, top, busy };
      }
      if (chosen === undefined) break;
      chosen.q.pop();
      const e = this.live(chosen.top);
      if (e !== undefined) this.launch(e);
    }
    this.arm();
  }

  /** The earliest live item of all groups. */
  private earliest(): HeapItem | undefined {
    let top: HeapItem | undefined;
    for (const [group, q] of [...this.queues]) {
      const head = this.head(group, q);
      if (head !== undefined && (top === undefined || head.due < top.due)) top = head;
    }
    return top;
  }

  /** One timer, for the earliest live due time. */
  private arm(): void {
    const top = this.earliest();
    if (top === undefined || this.running >= this.options.concurrency) return;
    if (this.timer !== undefined && this.timer.due <= top.due) return;
    if (this.timer !== undefined) this.options.clock.clearTimeout(this.timer.handle);
    const due = top.due;
    const handle = this.options.clock.setTimeout(() => {
      if (this.timer?.handle === handle) this.timer = undefined;
      this.pump();
    }, Math.max(0, due - this.options.clock.now()));
    this.timer = { handle, due };
  }

  private launch(e: Entry<T>): void {
    e.running = true;
    e.rerun = false;
    this.running++;
    const target = e.target;
    const group = target.group ?? '';
    this.runningByGroup.set(group, (this.runningByGroup.get(group) ?? 0) + 1);
    const run = Promise.resolve()
      .then(() => this.options.probe(target))
      .catch((err: unknown) => {
        this.options.onError?.(target, err);
        return { recheck: true };
      })
      .then((outcome) => {
        this.running--;
        const left = (this.runningByGroup.get(group) ?? 1) - 1;
        if (left <= 0) this.runningByGroup.delete(group);
        else this.runningByGroup.set(group, left);
        // Removed (or replaced) while it ran: nothing to schedule.
        if (this.entries.get(target.key) === e) {
          e.running = false;
          const now = this.options.clock.now();
          const interval = e.target.intervalMs * (1 + this.jitter * this.random());
          this.reschedule(e, e.rerun ? now : now + (outcome.recheck ? Math.min(this.options.recheckIntervalMs, e.target.intervalMs) : interval));
          e.rerun = false;
        }
        this.pump();
      });
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }
}
