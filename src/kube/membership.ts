// The replicas that share the endpoint probes, as a set of Leases: each
// replica holds one of its own (labelled with the group) and renews it; the
// live members are the holders of the Leases renewed within their duration.
// No replica writes another's Lease, so there is nothing to race for. The
// set is listed every renew period and re-judged when the earliest Lease
// would expire, so a replica that died silently drops out within one lease
// duration of its last renewal, without waiting for any event.
//
// Expiry is judged against this replica's clock and the renewTime the holder
// wrote: the nodes' clocks are assumed to agree to well within a lease
// duration (a skew makes a member look dead or alive a little early or late;
// during that time two replicas may probe the same target, or none).

import { createHash } from 'node:crypto';
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../log.js';
import { isConflict, isNotFound, toError } from './errors.js';
import { leaseTimeMs } from './leader.js';
import { TypedEmitter } from './typed-emitter.js';
import { compareText } from '../text-order.js';

export type MemberLeaseClient = Pick<CoordinationV1Api, 'createNamespacedLease' | 'replaceNamespacedLease' | 'listNamespacedLease' | 'deleteNamespacedLease'>;

export const MEMBER_OF_LABEL = 'certkeeper.dev/member-of';
/** On a member Lease: the share of the probes its holder asks for, in (0, 1]; absent is 1. */
export const PROBE_WEIGHT_ANNOTATION = 'certkeeper.dev/probe-weight';

/** A live member: its identity and the share it asked for. */
export interface LiveMember {
  identity: string;
  weight: number;
}

export interface MembershipOptions {
  clients: { coordination: MemberLeaseClient };
  namespace: string;
  /** The group: the leader election Lease's name. */
  group: string;
  identity: string;
  leaseDurationMs?: number;
  renewPeriodMs?: number;
  clock: Clock;
  log: Logger;
}

type MembershipEvents = {
  /** The live members or their weights changed (sorted by identity). */
  change: [members: LiveMember[]];
};

/** The name of a replica's member Lease: the identity hashed, as pod names with suffixes can be long. */
export function memberLeaseName(group: string, identity: string): string {
  return `${group}-member-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}`;
}

/** Until when a member Lease counts (ms since the epoch); undefined for one without a holder or a renewal. */
export function memberExpiry(lease: V1Lease): { identity: string; until: number } | undefined {
  const identity = lease.spec?.holderIdentity;
  const renewed = leaseTimeMs(lease.spec?.renewTime);
  const seconds = lease.spec?.leaseDurationSeconds;
  if (identity === undefined || identity === '' || renewed === undefined || seconds === undefined) return undefined;
  return { identity, until: renewed + seconds * 1000 };
}

/** A weight in (0, 1] as written; anything else (absent, garbled, out of range) counts as a full share. */
export function parseProbeWeight(text: string | undefined): number {
  if (text === undefined || !/^(\d+(\.\d+)?|\.\d+)$/.test(text)) return 1;
  const w = Number(text);
  return w > 0 && w <= 1 ? w : 1;
}

/** Writes a weight so that parseProbeWeight reads it back as the same number (String and Number round-trip a double exactly; weights are never small enough for an exponent). */
export function formatProbeWeight(weight: number): string {
  return String(weight);
}

/** The holders of the Leases still live at `now` with their weights, sorted by identity; a holder with two Leases counts once, with the later renewed. */
export function liveMembers(leases: readonly V1Lease[], now: number): LiveMember[] {
  const live = new Map<string, LiveMember & { until: number }>();
  for (const l of leases) {
    const e = memberExpiry(l);
    if (e === undefined || e.until <= now) continue;
    const seen = live.get(e.identity);
    if (seen === undefined || e.until > seen.until) live.set(e.identity, { identity: e.identity, weight: parseProbeWeight(l.metadata?.annotations?.[PROBE_WEIGHT_ANNOTATION]), until: e.until });
  }
  return [...live.values()].map(({ identity, weight }) => ({ identity, weight })).sort((a, b) => compareText(a.identity, b.identity));
}

function sameMembers(a: readonly LiveMember[], b: readonly LiveMember[]): boolean {
  return a.length === b.length && a.every((m, i) => m.identity === b[i]?.identity && m.weight === b[i]?.weight);
}

export class Membership extends TypedEmitter<MembershipEvents> {
  private readonly leaseDurationMs: number;
  private readonly renewPeriodMs: number;
  private readonly name: string;
  private leases: V1Lease[] = [];
  private members: LiveMember[] = [];
  /** The share of the probes this replica asks for (setWeight); 1 until it leads. */
  private weight = 1;
  private timer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private running = false;
  private tick: Promise<void> = Promise.resolve();
  private resourceVersion: string | undefined;

  constructor(private readonly opts: MembershipOptions) {
    super();
    this.leaseDurationMs = opts.leaseDurationMs ?? 30_000;
    this.renewPeriodMs = opts.renewPeriodMs ?? 10_000;
    // Two renewals may fail before a live member looks dead.
    if (this.renewPeriodMs * 3 > this.leaseDurationMs) throw new Error(`membership needs a lease duration of at least 3 renew periods (got ${this.leaseDurationMs} and ${this.renewPeriodMs} ms)`);
    this.name = memberLeaseName(opts.group, opts.identity);
  }

  get current(): readonly LiveMember[] {
    return this.members;
  }

  /** Asks for another share (the leader asks for less): written to this replica's Lease at once, seen by the others at their next list. */
  async setWeight(weight: number): Promise<void> {
    if (weight === this.weight) return;
    this.weight = weight;
    // After the round in progress (which arms the next one), a round of its own now, in place of that next one.
    await this.tick;
    if (!this.running) return;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    await this.round();
  }

  /** Renews at once and then every renew period. The first view is ready when this resolves. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.round();
  }

  /** Stops renewing and deletes this replica's Lease, so the others take over its share at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of [this.timer, this.expiryTimer]) if (t !== undefined) this.opts.clock.clearTimeout(t);
    await this.tick;
    try {
      await this.opts.clients.coordination.deleteNamespacedLease({ namespace: this.opts.namespace, name: this.name });
    } catch (err) {
      if (!isNotFound(err)) this.opts.log.warn({ err: toError(err) }, 'could not delete the member lease; the others take over when it expires');
    }
  }

  private round(): Promise<void> {
    this.tick = this.renewAndList().finally(() => {
      if (this.running) this.timer = this.opts.clock.setTimeout(() => void this.round(), this.renewPeriodMs);
    });
    return this.tick;
  }

  /**
   * Creates or updates this replica's Lease. Leases refuse an update without
   * a resourceVersion; only this replica writes this one, so the version of
   * its own last write is the current one (else it is learnt from the list).
   */
  private async renew(body: V1Lease): Promise<void> {
    const { namespace } = this.opts;
    const api = this.opts.clients.coordination;
    try {
      const written =
        this.resourceVersion === undefined
          ? await api.createNamespacedLease({ namespace, body })
          : await api.replaceNamespacedLease({ namespace, name: this.name, body: { ...body, metadata: { ...body.metadata, resourceVersion: this.resourceVersion } } });
      this.resourceVersion = written.metadata?.resourceVersion;
    } catch (err) {
      this.resourceVersion = undefined;
      // Already there (create) or changed under us (replace): the list that follows tells its version.
      if (isConflict(err)) return;
      if (isNotFound(err)) {
        this.resourceVersion = (await api.createNamespacedLease({ namespace, body })).metadata?.resourceVersion;
        return;
      }
      throw err;
    }
  }

  private async renewAndList(): Promise<void> {
    const { namespace, group, identity, clock, log } = this.opts;
    const api = this.opts.clients.coordination;
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace, labels: { [MEMBER_OF_LABEL]: group }, ...(this.weight === 1 ? {} : { annotations: { [PROBE_WEIGHT_ANNOTATION]: formatProbeWeight(this.weight) } }) },
      spec: { holderIdentity: identity, leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000), renewTime: new V1MicroTime(clock.now()) },
    };
    try {
      await this.renew(body);
    } catch (err) {
      log.warn({ err: toError(err) }, 'could not renew the member lease');
    }
    try {
      const list = await api.listNamespacedLease({ namespace, labelSelector: `${MEMBER_OF_LABEL}=${group}` });
      this.leases = list.items;
      const own = list.items.find((l) => l.metadata?.name === this.name);
      // Our Lease exists but our write failed (a restart under the same identity, a conflict): renew on its current version now.
      if (own !== undefined && this.resourceVersion === undefined) {
        this.resourceVersion = own.metadata?.resourceVersion;
        await this.renew(body).catch((err: unknown) => log.warn({ err: toError(err) }, 'could not renew the member lease'));
      }
    } catch (err) {
      // The last view stands; expiries in it are still noticed by the timer below.
      log.warn({ err: toError(err) }, 'could not list the member leases');
    }
    this.judge();
  }

  /** Recomputes the live members from the last list, and arms a timer for the next expiry in it. */
  private judge(): void {
    if (!this.running) return;
    const now = this.opts.clock.now();
    const next = liveMembers(this.leases, now);
    if (!sameMembers(next, this.members)) {
      this.opts.log.info({ members: next.map((m) => (m.weight === 1 ? m.identity : `${m.identity} (weight ${m.weight})`)) }, 'probe-sharing members changed');
      this.members = next;
      this.emitQuietly('change', (err) => this.opts.log.error({ err: toError(err) }, 'membership listener failed'), next);
    }
    if (this.expiryTimer !== undefined) this.opts.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    let soonest: number | undefined;
    for (const l of this.leases) {
      const e = memberExpiry(l);
      if (e !== undefined && e.until > now && (soonest === undefined || e.until < soonest)) soonest = e.until;
    }
    if (soonest !== undefined) this.expiryTimer = this.opts.clock.setTimeout(() => this.judge(), soonest - now + 1);
  }
}
