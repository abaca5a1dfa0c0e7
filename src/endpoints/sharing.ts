import { type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../clock.js';
import { isNotFound, toError } from '../kube/errors.js';
import { Informer } from '../kube/informer.js';
import { kubeListerWatcher, resourcePath } from '../kube/kube-lister-watcher.js';
import type { KubeObject } from '../kube/lister-watcher.js';
import type { Membership } from '../kube/membership.js';
import type { Logger } from '../log.js';
import { METRIC_PREFIX } from '../metrics/registry.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Ownership } from './ownership.js';
import { decodeSharedResults, SharedResultsEncoder, staleSenders, type SharedResults } from './shared-results.js';
import { memberLeaseName } from '../kube/membership.js';
import type { EndpointValidation } from './validation.js';

// Probe sharing (--probe-sharing): every replica probes the targets it owns
// (rendezvous hashing over the live member Leases) and publishes their
// results in a ConfigMap of its own; the leader imports from each ConfigMap
// only the results of targets its sender owns, into its own EndpointResults,
// where a changed outcome wakes the reconcilers as a local probe would. The
// reconcilers of the leader stay the only writers of status and events; for
// that extra work the leader asks for a smaller share (leaderWeight, written
// on its member Lease).

export const RESULTS_OF_LABEL = 'certkeeper.dev/results-of';
const DATA_KEY = 'results.json.gz';

export interface ProbeSharingOptions {
  core: Pick<CoreV1Api, 'createNamespacedConfigMap' | 'replaceNamespacedConfigMap' | 'deleteNamespacedConfigMap'>;
  kubeConfig: KubeConfig;
  namespace: string;
  /** The leader election Lease's name: names the member Leases and the ConfigMaps. */
  group: string;
  identity: string;
  membership: Membership;
  ownership: Ownership;
  validation: EndpointValidation;
  clock: Clock;
  log: Logger;
  registry?: Registry | undefined;
  /** Outcome changes are gathered this long into one write. Default 2 s. */
  publishDelayMs?: number;
  /** Written again this often even without a change, so probedAt stays fresh at the leader. Default 5 min. */
  republishMs?: number;
  /** The member lease duration: the leader deletes the results of a replica that is not a member and has written nothing for this long. */
  staleAfterMs: number;
  /** The leader's share against a member's 1. Default 1. */
  leaderWeight?: number;
}

/** The ConfigMap a replica publishes its results in: its member Lease's name with "-results". */
export function sharedResultsName(memberLease: string): string {
  return `${memberLease}-results`;
}

type Decoded = (SharedResults | { error: string }) & { name: string };

/**
 * Remembers the last complaint about each source, so a problem that stays
 * (a malformed ConfigMap republished every 2 s) is logged once, and again
 * only when it changes. Sources are the shared-results ConfigMaps of the
 * operator's namespace, forgotten when they are deleted.
 */
export class RepeatFilter {
  private readonly last = new Map<string, string>();

  /** Whether `complaint` differs from the last one about `source`; remembers it. */
  isNew(source: string, complaint: string): boolean {
    if (this.last.get(source) === complaint) return false;
    this.last.set(source, complaint);
    return true;
  }

  /** The source is fine again: its next complaint is new. */
  clear(source: string): void {
    this.last.delete(source);
  }
}

export class ProbeSharing {
  private publishTimer: TimerHandle | undefined;
  private idleCheck: TimerHandle | undefined;
  private republishTimer: TimerHandle | undefined;
  private staleTimer: TimerHandle | undefined;
  private publishing: Promise<void> = Promise.resolve();
  private importer: Informer<V1ConfigMap & KubeObject, Decoded> | undefined;
  private running = false;
  private readonly offs: (() => void)[] = [];
  private readonly name: string;
  private readonly encoder = new SharedResultsEncoder();
  private readonly complaints = new RepeatFilter();
  private readonly metrics: { members: Gauge; owned: Gauge; weight: Gauge; imported: Counter } | undefined;

  constructor(private readonly o: ProbeSharingOptions, memberLease: string) {
    this.name = sharedResultsName(memberLease);
    const r = o.registry;
    this.metrics =
      r === undefined
        ? undefined
        : {
            members: new Gauge({
              name: `${METRIC_PREFIX}probe_sharing_members`,
              help: 'Replicas sharing the endpoint probes, as this replica sees them.',
              registers: [r],
              collect() {
                this.set(o.ownership.current.length);
              },
            }),
            owned: new Gauge({
              name: `${METRIC_PREFIX}probe_sharing_owned_targets`,
              help: 'Endpoint targets this replica probes.',
              registers: [r],
              collect() {
                this.set(o.validation.ownedCount);
              },
            }),
            weight: new Gauge({
              name: `${METRIC_PREFIX}probe_sharing_weight`,
              help: 'The share of the endpoint probes this replica asks for against a full share of 1 (the leader asks for less).',
              registers: [r],
              collect() {
                this.set(o.ownership.ownWeight);
              },
            }),
            imported: new Counter({ name: `${METRIC_PREFIX}probe_sharing_imported_results_total`, help: 'Results of other replicas this replica (the leader) has recorded.', registers: [r] }),
          };
  }

  /** Joins the members (the first view is ready before it resolves) and follows their changes. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { membership, ownership, validation } = this.o;
    this.offs.push(
      membership.on('change', (members) => {
        if (ownership.setMembers(members)) this.ownersChanged();
      }),
      validation.results.on('change', (key) => {
        if (!ownership.owns(key)) return;
        this.requestPublish();
        this.publishWhenIdle();
      }),
    );
    await membership.start();
    ownership.setMembers(membership.current);
    this.armRepublish();
  }

  /** The leader: takes its smaller share, and imports the others' results from now on; resolves when they are read. */
  async lead(signal: AbortSignal): Promise<void> {
    if (this.importer !== undefined) return this.importer.waitForSync(signal);
    const { kubeConfig, namespace, group, clock, log } = this.o;
    this.importer = new Informer<V1ConfigMap & KubeObject, Decoded>({
      name: 'shared-results',
      clock,
      log,
      listerWatcher: kubeListerWatcher(kubeConfig, resourcePath({ group: '', version: 'v1', plural: 'configmaps', namespace })),
      labelSelector: `${RESULTS_OF_LABEL}=${group}`,
      transform: (cm) => {
        const data = cm.binaryData?.[DATA_KEY];
        const decoded = data === undefined ? { error: 'no data' } : decodeSharedResults(Buffer.from(data, 'base64'));
        return { ...decoded, name: cm.metadata?.name ?? '' };
      },
    });
    const apply = (_key: string, d: Decoded) => this.importFrom(d);
    this.offs.push(
      this.importer.on('add', apply),
      this.importer.on('update', apply),
      // A replica's ConfigMap goes with it; so does what was said about it (pod names do not come back).
      this.importer.on('delete', (_key, d) => this.complaints.clear(d.name)),
    );
    this.importer.start();
    const weight = this.o.leaderWeight ?? 1;
    if (this.o.ownership.setSelfWeight(weight)) this.ownersChanged();
    // The others see it when they next list the Leases (within a renew period); until then the targets given up wait.
    await this.o.membership.setWeight(weight);
    return this.importer.waitForSync(signal);
  }

  /** Leaves: stops publishing, deletes its ConfigMap and its member Lease, so the others take over its share at once. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const off of this.offs.splice(0)) off();
    for (const t of [this.publishTimer, this.idleCheck, this.republishTimer, this.staleTimer]) if (t !== undefined) this.o.clock.clearTimeout(t);
    await this.importer?.stop();
    await this.publishing;
    try {
      await this.o.core.deleteNamespacedConfigMap({ namespace: this.o.namespace, name: this.name });
    } catch (err) {
      if (!isNotFound(err)) this.o.log.warn({ err: toError(err) }, 'could not delete the shared results');
    }
    await this.o.membership.stop();
  }

  private ownersChanged(): void {
    this.o.validation.ownershipChanged();
    this.requestPublish();
    this.reimport();
  }

  private importFrom(d: Decoded): void {
    if ('error' in d) {
      if (this.complaints.isNew(d.name, d.error)) this.o.log.warn({ configMap: d.name, reason: d.error }, 'shared results unreadable; ignored');
      return;
    }
    const { ownership, validation, identity } = this.o;
    // Our own copy is never re-imported; and from each sender, only what it owns in our view.
    if (d.sender === identity) return;
    let imported = 0;
    let unreadable: { key: string; error: string } | undefined;
    for (const [key, entry] of d.results) {
      if (ownership.owner(key) !== d.sender || !validation.wantsResult(key, entry.probedAt)) continue;
      const read = entry.read();
      if (!read.ok) {
        unreadable ??= { key, error: read.error };
        continue;
      }
      if (validation.importResult(key, read.result)) imported++;
    }
    if (unreadable === undefined) this.complaints.clear(d.name);
    else if (this.complaints.isNew(d.name, `${unreadable.key}: ${unreadable.error}`)) this.o.log.warn({ sender: d.sender, target: unreadable.key, reason: unreadable.error }, 'a shared result unreadable; ignored (logged again when it changes)');
    this.metrics?.imported.inc(imported);
  }

  /** Membership changed: results already received may now belong to their sender in our view. */
  private reimport(): void {
    if (this.importer === undefined) return;
    for (const d of this.importer.list()) this.importFrom(d);
    void this.collectStale();
  }

  /** The leader deletes the results of replicas that are gone (a crash leaves them behind; a clean stop deletes its own). */
  private async collectStale(): Promise<void> {
    if (this.importer === undefined || !this.running) return;
    const docs = this.importer.list().flatMap((d) => ('error' in d ? [] : [d]));
    const { clock, ownership, core, namespace, group, log, staleAfterMs } = this.o;
    // A replica gone only lately is looked at again once it has been quiet long enough.
    const live = new Set(ownership.current);
    const later = docs.filter((d) => !live.has(d.sender) && clock.now() - d.at <= staleAfterMs).map((d) => d.at + staleAfterMs + 1);
    if (later.length > 0 && this.staleTimer === undefined) {
      this.staleTimer = clock.setTimeout(() => {
        this.staleTimer = undefined;
        void this.collectStale();
      }, Math.max(0, Math.min(...later) - clock.now()));
    }
    for (const sender of staleSenders(docs, ownership.current, clock.now(), this.o.staleAfterMs)) {
      const name = sharedResultsName(memberLeaseName(group, sender));
      try {
        await core.deleteNamespacedConfigMap({ namespace, name });
        log.info({ sender, configMap: name }, 'deleted the shared results of a replica that is gone');
      } catch (err) {
        if (!isNotFound(err)) log.warn({ err: toError(err), configMap: name }, 'could not delete the shared results of a replica that is gone');
      }
    }
  }

  private requestPublish(): void {
    if (!this.running || this.publishTimer !== undefined) return;
    this.publishTimer = this.o.clock.setTimeout(() => {
      this.publishTimer = undefined;
      this.publishing = this.publishing.then(() => this.publish());
    }, this.o.publishDelayMs ?? 2_000);
  }

  /**
   * Changes are gathered for publishDelayMs while probes go on; once the
   * last probe of a burst has ended (looked at after it has settled, as the
   * change is told while it still counts as running), what is gathered goes
   * out at once: the leader's status is complete that much sooner.
   */
  private publishWhenIdle(): void {
    if (this.idleCheck !== undefined) return;
    this.idleCheck = this.o.clock.setTimeout(() => {
      this.idleCheck = undefined;
      if (!this.running || this.publishTimer === undefined || !this.o.validation.probesIdle) return;
      this.o.clock.clearTimeout(this.publishTimer);
      this.publishTimer = undefined;
      this.publishing = this.publishing.then(() => this.publish());
    }, 0);
  }

  private armRepublish(): void {
    if (!this.running) return;
    this.republishTimer = this.o.clock.setTimeout(() => {
      this.requestPublish();
      void this.collectStale();
      this.armRepublish();
    }, this.o.republishMs ?? 5 * 60_000);
  }

  private async publish(): Promise<void> {
    if (!this.running) return;
    const { core, namespace, group, identity, clock, log, validation } = this.o;
    const { data, dropped } = this.encoder.encode(identity, clock.now(), validation.ownedResults());
    if (dropped > 0) log.warn({ dropped }, 'shared results past the size bound: the results probed longest ago are left out');
    const body: V1ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: this.name, namespace, labels: { [RESULTS_OF_LABEL]: group } },
      binaryData: { [DATA_KEY]: data.toString('base64') },
    };
    try {
      // Only this replica writes this ConfigMap: an unconditional replace is safe.
      await core.replaceNamespacedConfigMap({ namespace, name: this.name, body }).catch(async (err: unknown) => {
        if (!isNotFound(err)) throw err;
        await core.createNamespacedConfigMap({ namespace, body });
      });
    } catch (err) {
      log.warn({ err: toError(err) }, 'could not publish the shared results; trying again');
      this.requestPublish();
    }
  }
}
