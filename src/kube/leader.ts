// Lease-based leader election (coordination.k8s.io/v1), with client-go's
// timing model: a candidate takes a lease that is absent, free, ours, or not
// renewed for leaseDuration; the leader renews every retryPeriod and gives up
// if no renewal succeeded within renewDeadline (< leaseDuration, so it stops
// working before a standby may start). Writes use the lease's
// resourceVersion: of two racing candidates the API server lets one win.

import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Clock } from '../clock.js';
import { sleep } from '../clock.js';
import type { Logger } from '../log.js';
import { isConflict, isNotFound, toError } from './errors.js';

export type LeaseClient = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export interface LeaderElectorOptions {
  clients: { coordination: LeaseClient };
  namespace: string;
  name: string;
  /** Unique per process, e.g. pod name + random suffix. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock: Clock;
  log: Logger;
  random?: () => number;
}

export interface LeaderCallbacks {
  /** Start leader-only work; stop it when `signal` aborts. Not awaited. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Leadership ended (lost or released); awaited before a release clears the lease. */
  onStoppedLeading(): void | Promise<void>;
  /** The lease is held by someone (possibly us) new. */
  onNewLeader?(identity: string): void;
}

type Attempt = { ok: true } | { ok: false; heldBy?: string; conflict?: boolean; error?: Error };

/** Lease times arrive as strings at runtime although typed as Date. */
export function leaseTimeMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly stopping = new AbortController();
  private leading = false;
  private running: Promise<void> | undefined;
  private lastObservedHolder: string | undefined;
  private callbacks: LeaderCallbacks | undefined;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    this.random = opts.random ?? Math.random;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error(
        `leader election needs leaseDuration > renewDeadline > retryPeriod (got ${this.leaseDurationMs}, ${this.renewDeadlineMs}, ${this.retryPeriodMs} ms)`,
      );
    }
    this.log = opts.log.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until elected, leads until the lease is lost or release() is
   * called, then resolves. Run it once; after it resolves, exit or make a new elector.
   */
  run(callbacks: LeaderCallbacks): Promise<void> {
    if (this.running !== undefined) throw new Error('LeaderElector.run() called twice');
    this.callbacks = callbacks;
    this.running = this.campaign(callbacks);
    return this.running;
  }

  /** Steps down: stops leader work (awaiting onStoppedLeading), then frees the lease for a standby. */
  async release(): Promise<void> {
    this.stopping.abort(new Error('leader election released'));
    await this.running;
  }

  private async campaign(callbacks: LeaderCallbacks): Promise<void> {
    this.log.info('campaigning for leadership');
    while (!this.stopping.signal.aborted) {
      const attempt = await this.tryAcquireOrRenew();
      if (attempt.ok) break;
      if (attempt.error !== undefined) this.log.warn({ err: attempt.error }, 'could not read or write the lease');
      await this.pause(this.retryPeriodMs * (1 + 0.2 * this.random()));
    }
    if (this.stopping.signal.aborted) return;

    this.leading = true;
    const leadership = new AbortController();
    this.log.info('became leader');
    void Promise.resolve()
      .then(() => callbacks.onStartedLeading(leadership.signal))
      .catch((err: unknown) => this.log.error({ err: toError(err) }, 'onStartedLeading failed'));

    const end = await this.renewUntilLost();
    this.leading = false;
    leadership.abort(new Error(`leadership ${end}`));
    this.log.warn({ end }, end === 'released' ? 'stepping down' : 'lost leadership');
    try {
      await callbacks.onStoppedLeading();
    } catch (err) {
      this.log.error({ err: toError(err) }, 'onStoppedLeading failed');
    }
    if (end === 'released') await this.clearLease();
  }

  private async renewUntilLost(): Promise<'lost' | 'released'> {
    let lastRenew = this.opts.clock.now();
    let retriedConflict = false;
    for (;;) {
      await this.pause(this.retryPeriodMs);
      for (;;) {
        if (this.stopping.signal.aborted) return 'released';
        const remaining = lastRenew + this.renewDeadlineMs - this.opts.clock.now();
        if (remaining <= 0) return 'lost';
        const attempt = await this.withDeadline(this.tryAcquireOrRenew(), remaining);
        if (attempt.ok) {
          lastRenew = this.opts.clock.now();
          retriedConflict = false;
          break;
        }
        if (attempt.heldBy !== undefined) return 'lost';
        if (attempt.error !== undefined) this.log.warn({ err: attempt.error }, 'lease renewal failed');
        const left = lastRenew + this.renewDeadlineMs - this.opts.clock.now();
        if (left <= 0) return 'lost';
        // A conflict means the lease just changed: look again at once (once), it may be someone else's now.
        if (attempt.conflict === true && !retriedConflict) {
          retriedConflict = true;
          continue;
        }
        retriedConflict = false;
        await this.pause(Math.min(this.retryPeriodMs, left));
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { namespace, name, identity, clock } = this.opts;
    let lease: V1Lease | undefined;
    try {
      lease = await this.opts.clients.coordination.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (!isNotFound(err)) return { ok: false, error: toError(err) };
    }
    const now = clock.now();
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    if (lease === undefined) {
      try {
        await this.opts.clients.coordination.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: new V1MicroTime(now), renewTime: new V1MicroTime(now), leaseTransitions: 0 },
          },
        });
        this.observe(identity);
        return { ok: true };
      } catch (err) {
        return { ok: false, conflict: isConflict(err), error: toError(err) };
      }
    }

    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (holder !== '') this.observe(holder);
    if (holder !== '' && holder !== identity) {
      const renewedAt = leaseTimeMs(spec.renewTime) ?? leaseTimeMs(spec.acquireTime);
      const durationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (renewedAt !== undefined && renewedAt + durationMs >= now) return { ok: false, heldBy: holder };
      this.log.info({ previousHolder: holder }, 'lease expired; taking over');
    }
    const takingOver = holder !== identity;
    const body: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: new V1MicroTime(now),
        acquireTime: takingOver ? new V1MicroTime(now) : spec.acquireTime ?? new V1MicroTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
      },
    };
    try {
      await this.opts.clients.coordination.replaceNamespacedLease({ namespace, name, body });
      this.observe(identity);
      return { ok: true };
    } catch (err) {
      return { ok: false, conflict: isConflict(err), error: toError(err) };
    }
  }

  /** Frees the lease if it is still ours, so a standby need not wait for it to expire. */
  private async clearLease(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.opts.clients.coordination.readNamespacedLease({ namespace, name });
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime(this.opts.clock.now());
      await this.opts.clients.coordination.replaceNamespacedLease({
        namespace,
        name,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
      });
      this.log.info('released the lease');
    } catch (err) {
      this.log.warn({ err: toError(err) }, 'could not release the lease; a standby takes over when it expires');
    }
  }

  private observe(holder: string): void {
    if (holder === this.lastObservedHolder) return;
    this.lastObservedHolder = holder;
    this.log.info({ leader: holder }, 'new leader observed');
    try {
      this.callbacks?.onNewLeader?.(holder);
    } catch (err) {
      this.log.error({ err: toError(err) }, 'onNewLeader failed');
    }
  }

  /** Races an attempt against the renew deadline: a hung request must not keep us "leading". */
  private async withDeadline(attempt: Promise<Attempt>, ms: number): Promise<Attempt> {
    const timer = new AbortController();
    const timeout = sleep(this.opts.clock, ms, timer.signal).then(
      (): Attempt => ({ ok: false, error: new Error(`lease renewal did not finish within ${ms} ms`) }),
      (): Attempt => ({ ok: false }),
    );
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      timer.abort();
    }
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(this.opts.clock, ms, this.stopping.signal);
    } catch {
      // released: the caller checks the stop signal
    }
  }
}
