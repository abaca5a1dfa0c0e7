import type { Registry } from 'prom-client';
import { certificateKey } from '../model/certificate.js';
import type { Certificate } from '../api/certificate.js';
import type { PolicyEndpointsStatus, TLSPolicy } from '../api/tlspolicy.js';
import { type Clock, type TimerHandle, sleep } from '../clock.js';
import type { ParsedCertificate } from '../model/certificate.js';
import { toError } from '../kube/errors.js';
import type { InformerEvents } from '../kube/informer-options.js';
import type { TypedEmitter } from '../kube/typed-emitter.js';
import type { Logger } from '../log.js';
import { endpointProbeMetrics } from './metrics.js';
import { probeTarget, type ProbeResult } from './probe.js';
import { EndpointResults, type EndpointReading, type EndpointResult } from './results.js';
import { ProbeScheduler } from './scheduler.js';
import type { EndpointSliceSummary, ServiceSummary } from './summaries.js';
import { planTargets, targetRevision, type EndpointPlan, type EndpointTarget } from './targets.js';
import { servesStaleCertificate, summarizePolicyEndpoints, verifyCertificateEndpoints, type CertificateVerification, type Lookup } from './verify.js';

// The live endpoint validation of the leader: resolves Certificates'
// spec.endpoints and TLSPolicies' spec.endpoints to backend addresses, probes
// them on a schedule of its own, keeps the latest results, and tells the
// reconcilers when an outcome changed. It writes no status and records no
// events: the Certificate and TLSPolicy reconcilers are the only writers of
// their status and the only senders of events, and ask this object what to
// say (verifyCertificate, policySummary, takePolicyViolations). Metrics,
// alerts and the inventory read its results through readings().

type Cache<T> = TypedEmitter<InformerEvents<T>> & { get(key: string): T | undefined; list(): T[] };

export interface EndpointValidationOptions {
  clock: Clock;
  log: Logger;
  services: Cache<ServiceSummary>;
  slices: Cache<EndpointSliceSummary>;
  certificates: Cache<ParsedCertificate>;
  policies: Cache<TLSPolicy>;
  namespaces: Cache<Record<string, string>>;
  enqueueCertificate(key: string): void;
  enqueuePolicy(name: string): void;
  /** Probes in flight at most (--probe-concurrency). */
  concurrency: number;
  /** Re-probe interval of Certificate endpoints (--endpoint-interval). */
  certificateIntervalMs: number;
  /** --probe-allowed-cidrs: only addresses in these are probed; empty or undefined: any. */
  allowedCidrs?: readonly string[] | undefined;
  /** Re-probe interval while stale or unreachable (--endpoint-recheck-interval). */
  recheckIntervalMs: number;
  /** ca.crt of a Secret ("namespace/name"), trusted for the chain check of the endpoints its Certificate lists. */
  caBundle?: (secretKey: string) => Promise<string | undefined>;
  /** The probe; default: src/probe over the network. Injectable for tests. */
  probe?: (target: EndpointTarget) => Promise<ProbeResult>;
  registry?: Registry | undefined;
  /** Informer events are coalesced: one re-plan per this many ms at most. Default 250. */
  replanDelayMs?: number;
  random?: () => number;
  /**
   * Probe sharing (--probe-sharing): whether this replica probes a target.
   * The others' results arrive through importResult. Undefined: every planned target.
   */
  owns?: ((key: string) => boolean) | undefined;
}

export interface EndpointVerifier {
  /** See verifyCertificateEndpoints. */
  verifyCertificate(cert: Certificate, fingerprint: string | undefined, hasPrevious: boolean): CertificateVerification | 'keep' | undefined;
  /** TLSPolicy.status.endpoints, or undefined for a policy without spec.endpoints. */
  policySummary(name: string): PolicyEndpointsStatus | undefined;
  /** Addresses that began violating this policy since the last call: the policy's reconciler tells the Services' owners (once each). */
  takePolicyViolations(policy: string): PolicyViolationNews[];
}

/** An address that went from no violations to some. */
export interface PolicyViolationNews {
  target: EndpointTarget;
  profile: string;
  grade: EndpointResult['grade'];
  violations: { id: string; message: string }[];
}

const CA_BUNDLE_TTL_MS = 10 * 60_000;

const EMPTY_PLAN: EndpointPlan = { targets: new Map(), certificates: new Map(), policies: new Map() };

export class EndpointValidation implements EndpointVerifier {
  readonly results: EndpointResults;
  private plan: EndpointPlan = EMPTY_PLAN;
  /** The first plan enqueues every Certificate and policy it covers. */
  private planned = false;
  private readonly scheduler: ProbeScheduler<EndpointTarget & { revision: string }>;
  private replanTimer: TimerHandle | undefined;
  private readonly offs: (() => void)[] = [];
  private readonly caCache = new Map<string, { at: number; pem: Promise<string | undefined> }>();
  private running = false;
  private lastPlanMs = 0;
  private readonly lookup: Lookup;
  /** Per policy, per target: addresses that began violating it, until its reconciler takes them. */
  private readonly violationNews = new Map<string, Map<string, PolicyViolationNews>>();

  constructor(private readonly options: EndpointValidationOptions) {
    this.results = new EndpointResults((err) => options.log.error({ err: toError(err) }, 'endpoint result listener failed'));
    const metrics = options.registry === undefined ? undefined : endpointProbeMetrics(options.registry);
    const probe = options.probe ?? ((t: EndpointTarget) => probeTarget(t, { now: () => new Date(options.clock.now()), trust: (x) => this.trust(x) }));
    this.scheduler = new ProbeScheduler({
      clock: options.clock,
      concurrency: options.concurrency,
      recheckIntervalMs: options.recheckIntervalMs,
      ...(options.random === undefined ? {} : { random: options.random }),
      probe: async (target) => {
        const result = await probe(target);
        metrics?.duration.observe(result.durationMs / 1000);
        if (result.errorReason !== undefined) metrics?.errors.inc({ reason: result.errorReason });
        // A target dropped while it was probed keeps no result.
        if (this.plan.targets.has(target.key)) this.results.record(target.key, result);
        return { recheck: needsRecheck(target, result) };
      },
      onError: (target, err) => options.log.error({ err: toError(err), target: target.key }, 'endpoint probe failed unexpectedly'),
    });
    this.lookup = { target: (k) => this.plan.targets.get(k), result: (k) => this.results.get(k) };
    this.results.on('change', (key, next, prev) => this.changed(key, next, prev));
    this.results.on('remove', (key) => options.log.debug({ target: key }, 'endpoint target gone'));
  }

  /** Plans from the (synced) caches and starts probing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const replan = () => this.requestReplan();
    const options = this.options;
    for (const source of [options.services, options.slices, options.namespaces] as TypedEmitter<InformerEvents<unknown>>[]) {
      this.offs.push(source.on('add', replan), source.on('update', replan), source.on('delete', replan));
    }
    // A policy's own status writes (the summaries below) change nothing here: only its spec does.
    const policyChanged = (_key: string, p: TLSPolicy, old: TLSPolicy) => {
      if (p.metadata.generation !== old.metadata.generation || p.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) this.requestReplan();
    };
    this.offs.push(options.policies.on('add', replan), options.policies.on('update', policyChanged), options.policies.on('delete', replan));
    // Certificates change often (every status write, ours included); what matters here is a
    // Certificate with endpoints whose spec, deletion or current fingerprint changed.
    const certificateChanged = (_key: string, c: ParsedCertificate, old?: ParsedCertificate) => {
      if (!hasEndpoints(c) && (old === undefined || !hasEndpoints(old))) return;
      if (old === undefined || planningView(c) !== planningView(old)) this.requestReplan();
    };
    this.offs.push(options.certificates.on('add', certificateChanged), options.certificates.on('update', certificateChanged), options.certificates.on('delete', certificateChanged));
    this.replan();
    this.scheduler.start();
  }

  /** Starts no more probes; waits a little for those in flight (a full scan cannot be cut short, and shutdown must be prompt). */
  async stop(waitMs = 2_000): Promise<void> {
    this.running = false;
    for (const off of this.offs.splice(0)) off();
    if (this.replanTimer !== undefined) this.options.clock.clearTimeout(this.replanTimer);
    this.replanTimer = undefined;
    const timer = new AbortController();
    await Promise.race([this.scheduler.stop(), sleep(this.options.clock, waitMs, timer.signal).catch(() => undefined)]);
    timer.abort();
  }

  /** No probe in flight and none due: what changed can go out now rather than wait for more. */
  get probesIdle(): boolean {
    return this.scheduler.idle;
  }

  /** Probes in flight (tests, the bench). */
  get activeProbes(): number {
    return this.scheduler.active;
  }

  get targetCount(): number {
    return this.plan.targets.size;
  }

  private requestReplan(): void {
    if (!this.running || this.replanTimer !== undefined) return;
    // A plan over 30,000 addresses takes a few hundred ms: wait at least five times as long
    // between plans, so a storm of cache events costs at most a sixth of a core.
    const delay = Math.max(this.options.replanDelayMs ?? 250, 5 * this.lastPlanMs);
    this.replanTimer = this.options.clock.setTimeout(() => {
      this.replanTimer = undefined;
      if (this.running) this.replan();
    }, delay);
  }

  /** Recomputes the targets; tells the reconcilers whose resolution changed (a Service appeared, an address went away). */
  replan(): void {
    const started = performance.now();
    const options = this.options;
    const slicesByService = new Map<string, EndpointSliceSummary[]>();
    for (const s of options.slices.list()) {
      if (s.service === '') continue;
      const key = `${s.namespace}/${s.service}`;
      const list = slicesByService.get(key);
      if (list === undefined) slicesByService.set(key, [s]);
      else list.push(s);
    }
    const next = planTargets({
      services: { get: (k) => options.services.get(k), list: () => options.services.list() },
      slicesOf: (k) => slicesByService.get(k) ?? [],
      certificates: options.certificates.list().flatMap((c) => (c.ok ? [c.certificate] : [])),
      policies: options.policies.list(),
      namespaceLabels: (ns) => options.namespaces.get(ns),
      certificateIntervalMs: options.certificateIntervalMs,
      ...(options.allowedCidrs === undefined || options.allowedCidrs.length === 0 ? {} : { allowedCidrs: options.allowedCidrs }),
    });
    const prev = this.plan;
    this.plan = next;
    const first = !this.planned;
    this.planned = true;
    for (const key of new Set([...prev.certificates.keys(), ...next.certificates.keys()])) {
      if (first || JSON.stringify(prev.certificates.get(key)) !== JSON.stringify(next.certificates.get(key))) options.enqueueCertificate(key);
    }
    for (const name of new Set([...prev.policies.keys(), ...next.policies.keys()])) {
      if (first || JSON.stringify(prev.policies.get(name)) !== JSON.stringify(next.policies.get(name))) options.enqueuePolicy(name);
    }
    this.results.retain(new Set(next.targets.keys()));
    for (const [policy, news] of this.violationNews) {
      for (const key of news.keys()) if (!next.targets.has(key)) news.delete(key);
      if (news.size === 0 || !next.policies.has(policy)) this.violationNews.delete(policy);
    }
    const trusted = new Set([...next.targets.values()].flatMap((t) => t.trustSecrets));
    for (const secret of this.caCache.keys()) if (!trusted.has(secret)) this.caCache.delete(secret);
    this.schedule();
    this.lastPlanMs = performance.now() - started;
  }

  /** Hands the scheduler the planned targets this replica owns; a target it just gained is due at once. */
  private schedule(): void {
    const owns = this.options.owns;
    const targets = [...this.plan.targets.values()].filter((t) => owns === undefined || owns(t.key));
    this.scheduler.setTargets(targets.map((t) => ({ ...t, revision: targetRevision(t), group: t.namespace })));
  }

  /** The members sharing the probes changed: probe what this replica gained, drop what it lost (its last results stay until the new owner's arrive). */
  ownershipChanged(): void {
    if (this.running) this.schedule();
  }

  /** Whether the current plan has this target (an import for anything else is ignored). */
  plans(key: string): boolean {
    return this.plan.targets.has(key);
  }

  /** Targets this replica probes now. */
  get ownedCount(): number {
    return this.scheduler.size;
  }

  /** Whether a result of `key` probed at `probedAt` would be recorded: planned, and newer than the one held. */
  wantsResult(key: string, probedAt: number): boolean {
    if (!this.plan.targets.has(key)) return false;
    const mine = this.results.get(key);
    return mine === undefined || mine.probedAt < probedAt;
  }

  /**
   * A result another replica probed: recorded like one of ours, so a changed
   * outcome reaches the reconcilers. The caller checks the sender owns the
   * target; a target this plan lacks is ignored. Returns whether it was recorded.
   */
  importResult(key: string, result: EndpointResult): boolean {
    // An older probe never replaces a newer one (an import that crossed a hand-over), and the
    // same probe, published again with the sender's other results, is not recorded twice.
    if (!this.wantsResult(key, result.probedAt)) return false;
    this.results.record(key, result);
    return true;
  }

  /** The results of the targets this replica owns now, for the others. */
  ownedResults(): [string, EndpointResult][] {
    const owns = this.options.owns;
    const out: [string, EndpointResult][] = [];
    for (const [key, result] of this.results.entries()) if (this.plan.targets.has(key) && (owns === undefined || owns(key))) out.push([key, result]);
    return out;
  }

  verifyCertificate(cert: Certificate, fingerprint: string | undefined, hasPrevious: boolean): CertificateVerification | 'keep' | undefined {
    const key = certificateKey(cert);
    const plans = this.plan.certificates.get(key);
    // A plan made before this spec (the re-plan is coalesced, the reconcile is not) resolves nothing yet.
    const current =
      plans !== undefined &&
      plans.length === (cert.spec.endpoints?.length ?? 0) &&
      plans.every((p, i) => p.service === cert.spec.endpoints?.[i]?.service && p.port === cert.spec.endpoints[i]?.port);
    return verifyCertificateEndpoints(cert, fingerprint, current ? plans : undefined, this.lookup, hasPrevious);
  }

  policySummary(name: string): PolicyEndpointsStatus | undefined {
    const keys = this.plan.policies.get(name);
    return keys === undefined ? undefined : summarizePolicyEndpoints(name, keys, this.lookup);
  }

  private changed(key: string, next: EndpointResult, prev: EndpointResult | undefined): void {
    const t = this.plan.targets.get(key);
    if (t === undefined) return;
    const what = { target: key, reachable: next.reachable, served: next.served?.fingerprintSHA256.slice(0, 16), grade: next.grade, error: next.error };
    // A first result is routine; a change of what an address serves or how it fares is news.
    if (prev === undefined) this.options.log.debug(what, 'endpoint probed');
    else this.options.log.info(what, 'endpoint outcome changed');
    for (const c of t.certificates) this.options.enqueueCertificate(c);
    for (const j of t.judgements) {
      this.options.enqueuePolicy(j.policy);
      const before = prev?.verdicts?.[j.policy]?.violations.length ?? 0;
      const after = next.verdicts?.[j.policy]?.violations ?? [];
      if (before === 0 && after.length > 0) {
        let news = this.violationNews.get(j.policy);
        if (news === undefined) this.violationNews.set(j.policy, (news = new Map<string, PolicyViolationNews>()));
        news.set(key, { target: t, profile: j.profile, grade: next.grade, violations: after });
      }
    }
  }

  private trust(t: EndpointTarget): Promise<string | undefined> {
    const read = this.options.caBundle;
    if (read === undefined || t.trustSecrets.length === 0) return Promise.resolve(undefined);
    const now = this.options.clock.now();
    return Promise.all(
      t.trustSecrets.map((secret) => {
        const cached = this.caCache.get(secret);
        // Read again after a while: a CA rotates rarely, and a Secret read per probe would cost an API call each.
        if (cached !== undefined && now - cached.at < CA_BUNDLE_TTL_MS) return cached.pem;
        const pem = read(secret).catch((err: unknown) => {
          this.options.log.warn({ err: toError(err), secret }, 'cannot read ca.crt for the chain check; trusting the system roots only');
          this.caCache.delete(secret);
          return undefined;
        });
        this.caCache.set(secret, { at: now, pem });
        return pem;
      }),
    ).then((bundles) => {
      const pem = bundles.filter((b): b is string => b !== undefined && b.trim() !== '').join('\n');
      return pem === '' ? undefined : pem;
    });
  }

  /** The read model: every planned address that has a result. Metrics, alerts and the inventory map it in their own modules. */
  readings(): EndpointReading[] {
    const out: EndpointReading[] = [];
    for (const [key, result] of this.results.entries()) {
      const target = this.plan.targets.get(key);
      if (target !== undefined) out.push({ target, result });
    }
    return out;
  }

  takePolicyViolations(policy: string): PolicyViolationNews[] {
    const news = this.violationNews.get(policy);
    if (news === undefined) return [];
    this.violationNews.delete(policy);
    return [...news.values()];
  }
}

/** What of a Certificate the plan reads: spec, deletion and the fingerprint to expect. */
function planningView(c: ParsedCertificate): string {
  const cert = c.ok ? c.certificate : c.raw;
  return JSON.stringify([cert.metadata.generation, cert.metadata.deletionTimestamp ?? null, cert.status?.fingerprintSHA256 ?? null, c.ok]);
}

function hasEndpoints(c: ParsedCertificate): boolean {
  const cert = c.ok ? c.certificate : c.raw;
  return (cert.spec?.endpoints?.length ?? 0) > 0;
}

/** Look again soon while something is wrong: unreachable, no leaf, or the wrong leaf for some Certificate. */
export function needsRecheck(t: EndpointTarget, r: ProbeResult): boolean {
  if (!r.reachable || r.served === undefined) return true;
  const served = r.served.fingerprintSHA256;
  return Object.values(t.expected).some((fp) => servesStaleCertificate(served, fp));
}
