import type { Clock, TimerHandle } from '../clock.js';
import { ExponentialBackoff } from '../backoff.js';
import type { Logger } from '../log.js';
import type { AlertMetrics, AlertState } from './metrics.js';
import { type DesiredAlert, type PostableAlert, alertKey } from './model.js';

// Keeps each Alertmanager told what fires, on its own timers, never in the way
// of reconciles:
// - every evaluation interval, the desired alerts are computed (a pure pass
//   over the caches) and compared with what fired before;
// - a change (new alert, or one that stopped) is sent at once; otherwise the
//   firing set is re-sent every resend interval, because Alertmanager resolves
//   an alert by itself once its endsAt passes (we set endsAt a few resend
//   intervals ahead, as Prometheus does, so a dead operator's alerts end);
// - an alert that stops firing is sent once more with endsAt = now, so it
//   resolves at once; such notifications wait per Alertmanager until one got
//   through, at most `maxResolvedBacklog` of them (oldest dropped, counted);
// - a failed POST is retried with exponential backoff; what is retried is
//   always the current state, never a stale queue, so the backlog cannot grow
//   beyond the firing set plus the bounded resolved set.
// Started when this replica leads, stopped when it stops leading.

export interface AlertTarget {
  /** For logs and the `alertmanager` metric label; no credentials. */
  name: string;
  post(alerts: readonly PostableAlert[], signal: AbortSignal): Promise<void>;
}

export interface AlertSenderOptions {
  clock: Clock;
  log: Logger;
  targets: readonly AlertTarget[];
  /** The alerts that should fire now; undefined while that cannot be known yet (caches not synced). */
  evaluate: () => DesiredAlert[] | undefined;
  evaluationIntervalMs?: number;
  resendIntervalMs?: number;
  maxResolvedBacklog?: number;
  /** Alerts per POST. */
  batchSize?: number;
  backoff?: { initialMs?: number; maxMs?: number; random?: () => number };
  metrics?: AlertMetrics;
  generatorURL?: string;
}

interface TargetState {
  target: AlertTarget;
  /** Resolved notifications not yet delivered here, oldest first. */
  resolved: Map<string, PostableAlert>;
  /** The change generation the last successful send included. */
  sentGeneration: number;
  lastSuccessAt: number | undefined;
  inFlight: Promise<void> | undefined;
  retryAt: number;
  retryTimer: TimerHandle | undefined;
  backoff: ExponentialBackoff;
  failuresInARow: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class AlertSender implements AlertState {
  private readonly firingAlerts = new Map<string, DesiredAlert>();
  private readonly states: TargetState[];
  private readonly evaluationIntervalMs: number;
  private readonly resendIntervalMs: number;
  private readonly maxResolvedBacklog: number;
  private readonly batchSize: number;
  private generation = 0;
  private tickTimer: TimerHandle | undefined;
  private running = false;
  private abort = new AbortController();

  constructor(private readonly options: AlertSenderOptions) {
    this.evaluationIntervalMs = options.evaluationIntervalMs ?? 30_000;
    this.resendIntervalMs = options.resendIntervalMs ?? 60_000;
    this.maxResolvedBacklog = options.maxResolvedBacklog ?? 10_000;
    this.batchSize = options.batchSize ?? 1_000;
    const maxMs = options.backoff?.maxMs ?? Math.max(1_000, Math.min(this.resendIntervalMs, 60_000));
    const initialMs = Math.min(options.backoff?.initialMs ?? 500, maxMs);
    this.states = options.targets.map((target) => ({
      target,
      resolved: new Map(),
      sentGeneration: 0,
      lastSuccessAt: undefined,
      inFlight: undefined,
      retryAt: 0,
      retryTimer: undefined,
      backoff: new ExponentialBackoff({ initialMs, maxMs, jitter: 0.2, ...(options.backoff?.random === undefined ? {} : { random: options.backoff.random }) }),
      failuresInARow: 0,
    }));
    options.metrics?.attach(this);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.tick();
  }

  /** Stops timers and in-flight requests. Firing alerts stay in Alertmanager until their endsAt (the next leader re-sends them). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.tickTimer !== undefined) this.options.clock.clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
    for (const s of this.states) {
      if (s.retryTimer !== undefined) this.options.clock.clearTimeout(s.retryTimer);
      s.retryTimer = undefined;
    }
    this.abort.abort(new Error('alert sender stopped'));
    await this.idle();
  }

  /** Resolves when no request is in flight (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = this.states.flatMap((s) => (s.inFlight === undefined ? [] : [s.inFlight]));
      if (pending.length === 0) return;
      await Promise.all(pending);
    }
  }

  /** alertname+severity -> count, for the alerts_firing gauge. */
  firing(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const a of this.firingAlerts.values()) {
      const key = `${a.labels.alertname ?? ''}\u0000${a.labels.severity ?? ''}`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    return out;
  }

  backlog(): ReadonlyMap<string, number> {
    return new Map(this.states.map((s) => [s.target.name, s.resolved.size]));
  }

  /** The alerts firing now (tests, debugging). */
  current(): DesiredAlert[] {
    return [...this.firingAlerts.values()];
  }

  private tick(): void {
    if (!this.running) return;
    try {
      this.evaluate();
    } catch (err) {
      this.options.log.error({ err }, 'alert evaluation failed');
    }
    for (const s of this.states) this.maybeSend(s);
    this.tickTimer = this.options.clock.setTimeout(() => this.tick(), this.evaluationIntervalMs);
  }

  private evaluate(): void {
    const desired = this.options.evaluate();
    if (desired === undefined) return;
    const now = this.options.clock.now();
    let changed = false;
    const seen = new Set<string>();
    for (const alert of desired) {
      const key = alertKey(alert.labels);
      seen.add(key);
      if (!this.firingAlerts.has(key)) {
        changed = true;
        this.options.log.info({ alert: alert.labels }, 'alert firing');
        // Fires again before its resolution got through: the resolution is moot.
        for (const s of this.states) s.resolved.delete(key);
      }
      this.firingAlerts.set(key, alert);
    }
    for (const [key, alert] of this.firingAlerts) {
      if (seen.has(key)) continue;
      changed = true;
      this.firingAlerts.delete(key);
      this.options.log.info({ alert: alert.labels }, 'alert resolved');
      const resolved = this.postable(alert, now);
      for (const s of this.states) this.queueResolved(s, key, resolved);
    }
    if (changed) this.generation++;
  }

  private queueResolved(s: TargetState, key: string, alert: PostableAlert): void {
    s.resolved.delete(key);
    s.resolved.set(key, alert);
    while (s.resolved.size > this.maxResolvedBacklog) {
      const oldest = s.resolved.keys().next().value;
      if (oldest === undefined) break;
      s.resolved.delete(oldest);
      this.options.metrics?.dropped.inc({ alertmanager: s.target.name });
    }
  }

  private postable(alert: DesiredAlert, endsAt: number): PostableAlert {
    return {
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: iso(Math.min(alert.startsAt.getTime(), endsAt)),
      endsAt: iso(endsAt),
      ...(this.options.generatorURL === undefined ? {} : { generatorURL: this.options.generatorURL }),
    };
  }

  private due(s: TargetState, now: number): boolean {
    if (s.sentGeneration < this.generation || s.resolved.size > 0) return true;
    if (s.lastSuccessAt === undefined) return this.firingAlerts.size > 0 || this.generation > 0;
    return this.firingAlerts.size > 0 && now - s.lastSuccessAt >= this.resendIntervalMs;
  }

  private maybeSend(s: TargetState): void {
    if (!this.running || s.inFlight !== undefined) return;
    const now = this.options.clock.now();
    if (now < s.retryAt || !this.due(s, now)) return;
    const generation = this.generation;
    const endsAt = now + 4 * Math.max(this.resendIntervalMs, this.evaluationIntervalMs);
    const resolved = [...s.resolved];
    const batch = [...[...this.firingAlerts.values()].map((a) => this.postable(a, endsAt)), ...resolved.map(([, a]) => a)];
    const signal = this.abort.signal;
    s.inFlight = this.postInBatches(s.target, batch, signal)
      .then(
        () => {
          for (const [key, alert] of resolved) if (s.resolved.get(key) === alert) s.resolved.delete(key);
          s.sentGeneration = Math.max(s.sentGeneration, generation);
          s.lastSuccessAt = this.options.clock.now();
          s.retryAt = 0;
          s.backoff.reset();
          if (s.failuresInARow > 0) this.options.log.info({ alertmanager: s.target.name, failures: s.failuresInARow }, 'Alertmanager reachable again');
          s.failuresInARow = 0;
          this.options.metrics?.sent.inc({ alertmanager: s.target.name }, batch.length);
          this.options.metrics?.lastSuccess.set({ alertmanager: s.target.name }, s.lastSuccessAt / 1000);
        },
        (err: unknown) => {
          if (signal.aborted) return;
          s.failuresInARow++;
          this.options.metrics?.failures.inc({ alertmanager: s.target.name });
          const delay = s.backoff.next();
          s.retryAt = this.options.clock.now() + delay;
          // Loud on the first failure and then now and again, not on every retry of an outage.
          const level = s.failuresInARow === 1 || s.failuresInARow % 20 === 0 ? 'warn' : 'debug';
          this.options.log[level]({ alertmanager: s.target.name, err: err instanceof Error ? err.message : String(err), failures: s.failuresInARow, retryInMs: delay, backlog: s.resolved.size }, 'sending alerts failed; retrying');
          if (s.retryTimer !== undefined) this.options.clock.clearTimeout(s.retryTimer);
          s.retryTimer = this.options.clock.setTimeout(() => {
            s.retryTimer = undefined;
            this.maybeSend(s);
          }, delay);
        },
      )
      .finally(() => {
        s.inFlight = undefined;
      });
  }

  private async postInBatches(target: AlertTarget, alerts: PostableAlert[], signal: AbortSignal): Promise<void> {
    for (let i = 0; i < alerts.length; i += this.batchSize) {
      await target.post(alerts.slice(i, i + this.batchSize), signal);
    }
  }
}
