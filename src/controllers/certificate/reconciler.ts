import type { Certificate, SkippedIssuer } from '../../api/certificate.js';
import { parseDuration } from '../../api/duration.js';
import { MAX_ISSUERS } from '../../api/tlspolicy.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { TLSPolicy } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import { type Condition, setCondition } from '../../kube/conditions.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { splitKey } from '../../kube/lister-watcher.js';
import { certificateRef } from '../../kube/refs.js';
import type { Logger } from '../../log.js';
import { isFallback, type ParsedCertificate } from '../../model/certificate.js';
import { SecretAnnotation, type TlsSecretSummary } from '../../model/secret.js';
import type { Governed } from '../../model/spec.js';
import type { IssueStep, IssuerDriver, IssuerDrivers } from '../drivers/driver.js';
import { issuerEntries } from '../drivers/rules.js';
import { decide, failureBackoffMs, renewalOf } from './decide.js';
import type { IssueResult } from './secret-writer.js';
import { blockedStatus, failedStatus, readyStatus } from './status.js';
import { afterFailure, afterSuccess, DEFAULT_RATE_LIMIT_BUDGET_MS, HEALTHY, withTrial, type IssuerHealth } from './failover.js';
import type { IssuerHealthRegistry } from './issuer-health.js';
import type { Reloader } from './reloader.js';
import type { CertificateStatusWriter } from './status-writer.js';

export interface CertificateReconcilerDeps {
  clock: Clock;
  certificates: { get(key: string): ParsedCertificate | undefined };
  policies: { list(): TLSPolicy[] };
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  secrets: { get(key: string): TlsSecretSummary | undefined };
  /** Keys of every Certificate whose secretName is this "namespace/name". */
  secretWriters(secretKey: string): string[];
  /** The one writer of Certificate status (EndpointsVerified and its events included). */
  status: Pick<CertificateStatusWriter, 'write'>;
  events: Pick<EventRecorder, 'normal' | 'warning'>;
  /** One driver per issuer kind: issuing, readiness, upkeep and release are theirs. */
  drivers: IssuerDrivers;
  /** The shared health of the issuers of policies with spec.issuers (failover). */
  health?: IssuerHealthRegistry | undefined;
  /** spec.reload, when the operator runs with --reload-enabled. */
  reloader?: Pick<Reloader, 'reconcile'> | undefined;
}

type IssueDecision = Extract<ReturnType<typeof decide>, { kind: 'issue' }>;
type UnavailableDecision = Extract<ReturnType<typeof decide>, { kind: 'unavailable' }>;

/** How long a rate limit is waited out on the same issuer before failing over (spec.failover.rateLimitBudget). */
function rateLimitBudgetMs(policy: TLSPolicy): number {
  const text = policy.spec.failover?.rateLimitBudget;
  if (text === undefined) return DEFAULT_RATE_LIMIT_BUDGET_MS;
  try {
    return parseDuration(text);
  } catch {
    return DEFAULT_RATE_LIMIT_BUDGET_MS;
  }
}

/**
 * Gather (caches only), decide (pure), act (the governing issuer's driver
 * issues; the status writer reports). Level-triggered: any event for the
 * Certificate, its Secret, its namespace or any TLSPolicy brings it here, and
 * the same state always leads to the same outcome.
 */
export class CertificateReconciler implements Reconciler {
  /**
   * Secrets we just wrote, by key, with the resourceVersion written. Until the
   * informer has seen that version, deciding from the cache would issue twice.
   */
  private readonly expectations = new Map<string, { resourceVersion: string; until: number }>();
  private readonly drivers: readonly IssuerDriver[];

  constructor(private readonly deps: CertificateReconcilerDeps) {
    this.drivers = Object.values(deps.drivers);
  }

  /** Milliseconds to wait for the cache to catch up with our own write, or 0. */
  private awaitingCache(secretKey: string, cached: TlsSecretSummary | undefined): number {
    const expected = this.expectations.get(secretKey);
    if (expected === undefined) return 0;
    if (cached?.resourceVersion === expected.resourceVersion || this.deps.clock.now() > expected.until) {
      this.expectations.delete(secretKey);
      return 0;
    }
    return 500;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const cached = this.deps.certificates.get(key);
    if (cached === undefined) {
      // deleted: the Secret stays, as with cert-manager
      for (const d of this.drivers) d.forget?.(key);
      return;
    }
    if (!cached.ok) {
      await this.deps.status.write(cached.raw, blockedStatus(this.input(cached.raw), { violation: { reason: Reason.InvalidSpec, message: cached.error } }), false);
      return;
    }
    // Our own status writes are read back through the cache before their watch echo (Informer.observe).
    const cert = cached.certificate;
    if (cert.metadata.deletionTimestamp !== undefined) return this.release(cert, ctx.log);
    const { namespace = 'default' } = splitKey(key);
    const now = new Date(this.deps.clock.now());
    const secretKey = `${namespace}/${cert.spec.secretName}`;
    const secret = this.deps.secrets.get(secretKey);
    const wait = this.awaitingCache(secretKey, secret);
    if (wait > 0) return { requeueAfter: wait };
    const gather = (c: Certificate) =>
      decide({
        certificate: c,
        secretClaimedBy: this.claimedByAnother(key, secretKey, secret),
        namespaceLabels: this.deps.namespaceLabels(namespace) ?? {},
        policies: this.deps.policies.list(),
        secret: secret?.state ?? { state: 'absent' },
        issuerHealth: this.deps.health === undefined ? undefined : (p, issuer, identity) => this.deps.health?.get(p, issuer, identity) ?? HEALTHY,
        now,
      });
    const decision = gather(cert);

    switch (decision.kind) {
      case 'blocked': {
        await this.settle(cert, undefined, ctx.log);
        const changed = await this.deps.status.write(cert, blockedStatus(this.input(cert), { ...decision, policy: decision.policy?.metadata.name }));
        if (changed) this.deps.events.warning(certificateRef(cert), decision.violation.reason, decision.violation.message, 'Validate');
        return;
      }
      case 'current': {
        if (secret?.state.state !== 'valid') throw new Error('unreachable: current without a valid Secret');
        const { governed } = decision;
        await this.syncFinalizers(cert, governed.policy);
        const revision = Number(secret.annotations[SecretAnnotation.revision]);
        await this.deps.status.write(
          cert,
          readyStatus(this.input(cert), {
            policy: governed.policy.metadata.name,
            issuer: governed.issuerName,
            facts: secret.state.facts,
            renewal: decision.renewal,
            revision: Number.isInteger(revision) ? revision : undefined,
          }),
        );
        const untilRenewal = Math.max(1000, decision.renewal.time.getTime() - now.getTime());
        await this.settle(cert, governed, ctx.log);
        const upkeep = await this.deps.drivers[governed.issuerKind].keepCurrent?.({ key, cert, governed, secret: secret.state, log: ctx.log });
        const reload = await this.deps.reloader?.reconcile(cert, governed.policy, ctx.log);
        const sooner = Math.min(upkeep ?? untilRenewal, reload ?? untilRenewal);
        return { requeueAfter: Math.max(1000, Math.min(untilRenewal, sooner)) };
      }
      case 'backoff':
        ctx.log.debug({ retryAt: decision.retryAt, trigger: decision.trigger.reason }, 'issuance backing off');
        // Nothing else to write while backing off, but the endpoints may have news.
        await this.deps.status.write(cert, { ...cert.status });
        return { requeueAfter: Math.max(1000, decision.retryAt.getTime() - now.getTime()) };
      case 'unavailable':
        return this.noIssuerAvailable(cert, decision, now, secret);
      case 'issue':
        return this.issue(key, cert, decision, now, ctx, secret, gather);
    }
  }

  /**
   * One step of issuance with the chosen issuer. When the issuer fails on the
   * CA's side and the policy lists another that can issue now, that one takes
   * over in the same reconcile; the failure counts against the Certificate
   * only when no issuer is left to try.
   */
  private async issue(
    key: string,
    cert: Certificate,
    first: IssueDecision,
    now: Date,
    ctx: ReconcileContext,
    secret: TlsSecretSummary | undefined,
    gather: (c: Certificate) => ReturnType<typeof decide>,
  ): Promise<ReconcileResult | void> {
    let decision = first;
    let current = cert;
    const failedOver: SkippedIssuer[] = [];
    for (let hop = 0; ; hop++) {
      const g = decision.governed;
      if (decision.trial) this.updateHealth(g, (h) => withTrial(h, key, now.getTime()));
      await this.syncFinalizers(current, g.policy);
      const step = await this.deps.drivers[g.issuerKind].advance({
        key,
        cert: current,
        governed: g,
        trigger: decision.trigger,
        secret: secret?.state ?? { state: 'absent' },
        secretKnownAbsent: secret === undefined,
        now,
        log: ctx.log,
      });
      const listed = g.issuerListed;
      if (listed && step.kind === 'issued') this.updateHealth(g, afterSuccess);
      if (!listed || step.kind !== 'failed') return this.stepTaken(current, decision, step, now, ctx, secret);

      const outcome = afterFailure(
        this.deps.health?.get(g.policy, g.issuerName, g.issuerIdentity) ?? HEALTHY,
        { side: step.side ?? 'certificate', rateLimited: step.rateLimited === true, retryAfterMs: step.retryAfterMs, message: step.message },
        { now: now.getTime(), rateLimitBudgetMs: rateLimitBudgetMs(g.policy) },
      );
      this.updateHealth(g, () => outcome.health);
      const next = outcome.failover && hop < MAX_ISSUERS ? gather(step.cert) : undefined;
      if (next?.kind !== 'issue' || next.governed.issuerName === g.issuerName) return this.stepTaken(current, decision, step, now, ctx, secret);
      ctx.log.warn({ from: g.issuerName, to: next.governed.issuerName, err: step.message }, 'issuer failed on the CA side; failing over');
      this.deps.health?.countFailover(g.policy.metadata.name, g.issuerName);
      this.deps.events.warning(
        certificateRef(cert),
        Reason.IssuerFailover,
        `issuer "${g.issuerName}" failed: ${step.message}; trying issuer "${next.governed.issuerName}"`,
        'Issue',
      );
      failedOver.push({ name: g.issuerName, reason: Reason.IssuerUnavailable, message: step.message.slice(0, 1000) });
      // In the policy's order; an issuer that failed just now is shown with what it said, not as "unavailable".
      decision = { ...next, skipped: next.skipped.map((s) => failedOver.find((f) => f.name === s.name) ?? s) };
      current = step.cert;
    }
  }

  private updateHealth(g: Governed, change: (h: IssuerHealth) => IssuerHealth): void {
    const registry = this.deps.health;
    if (registry === undefined || !g.issuerListed) return;
    const before = registry.get(g.policy, g.issuerName, g.issuerIdentity);
    const after = change(before);
    if (after !== before) registry.set(g.policy.metadata.name, g.issuerName, g.issuerIdentity, after);
  }

  /** Every issuer of the policy is failing or not ready: say so and look again when the first may be tried. */
  private async noIssuerAvailable(cert: Certificate, decision: UnavailableDecision, now: Date, secret: TlsSecretSummary | undefined): Promise<ReconcileResult> {
    const prev = cert.status ?? {};
    const generation = cert.metadata.generation ?? 0;
    const why = decision.skipped.map((s) => `"${s.name}": ${s.message}`).join('; ');
    const retry = decision.retryAt === undefined ? '' : ` (next attempt at ${decision.retryAt.toISOString()})`;
    const message = `${decision.trigger.message}; no issuer of TLSPolicy "${decision.governed.policy.metadata.name}" can issue now: ${why}${retry}`;
    let conditions = setCondition((prev.conditions ?? []) as Condition[], { type: ConditionType.Issuing, status: 'False', reason: Reason.NoIssuerAvailable, message, observedGeneration: generation }, now);
    const stillValid = secret?.state.state === 'valid' && secret.state.facts.notAfter.getTime() > now.getTime();
    if (!stillValid) conditions = setCondition(conditions, { type: ConditionType.Ready, status: 'False', reason: Reason.NoIssuerAvailable, message, observedGeneration: generation }, now);
    const changed = await this.deps.status.write(cert, { ...prev, policy: decision.governed.policy.metadata.name, conditions });
    if (changed) this.deps.events.warning(certificateRef(cert), Reason.NoIssuerAvailable, message, 'Issue');
    // Without a time (no issuer is ready), a policy change wakes the Certificate; look again now and then anyway.
    const retryMs = decision.retryAt === undefined ? 60_000 : decision.retryAt.getTime() - now.getTime();
    return { requeueAfter: Math.max(1000, retryMs) };
  }

  private async stepTaken(cert: Certificate, decision: IssueDecision, step: IssueStep, now: Date, ctx: ReconcileContext, secret: TlsSecretSummary | undefined): Promise<ReconcileResult | void> {
    switch (step.kind) {
      case 'gone':
        return;
      case 'issued':
        return this.issued(step.cert, decision, now, ctx, step.result);
      case 'failed':
        return this.issuanceFailed(step.cert, decision, now, ctx.log, secret, step);
      case 'waiting': {
        if (step.prerequisite) {
          const prev = cert.status ?? {};
          const conditions = setCondition(
            (prev.conditions ?? []) as Condition[],
            { type: ConditionType.Issuing, status: 'False', reason: step.why.reason, message: step.why.message, observedGeneration: cert.metadata.generation ?? 0 },
            now,
          );
          await this.deps.status.write(cert, { ...prev, policy: decision.governed.policy.metadata.name, conditions });
        }
        return { requeueAfter: Math.max(50, step.ms) };
      }
    }
  }

  private async issued(cert: Certificate, decision: IssueDecision, now: Date, ctx: ReconcileContext, result: IssueResult): Promise<ReconcileResult> {
    if (result.secretResourceVersion !== undefined) {
      const secretKey = `${cert.metadata.namespace ?? 'default'}/${decision.governed.spec.secretName}`;
      this.expectations.set(secretKey, { resourceVersion: result.secretResourceVersion, until: this.deps.clock.now() + 30_000 });
    }
    ctx.log.info({ revision: result.revision, serialNumber: result.serialNumber, notAfter: result.notAfter, reusedKey: result.reusedKey, issuer: decision.governed.issuerName }, 'issued');
    if (isFallback(decision.skipped)) {
      this.deps.events.warning(
        certificateRef(cert),
        Reason.IssuedByFallback,
        `Issued by issuer "${decision.governed.issuerName}", not the policy's first choice: ${decision.skipped.map((s) => `"${s.name}" ${s.reason}: ${s.message}`).join('; ')}`,
        'Issue',
      );
    }
    this.deps.events.normal(
      certificateRef(cert),
      Reason.Issued,
      `Issued revision ${result.revision} (serial ${result.serialNumber}, expires ${result.notAfter.toISOString()}): ${decision.trigger.message}`,
      'Issue',
    );
    // Ready at once, from what was just written; the Secret event that
    // follows finds the same status and writes nothing.
    const renewal = renewalOf(cert, decision.governed.spec, result.facts);
    await this.deps.status.write(
      cert,
      readyStatus(this.input(cert), {
        policy: decision.governed.policy.metadata.name,
        issuer: decision.governed.issuerName,
        skipped: decision.skipped,
        facts: result.facts,
        renewal,
        revision: result.revision,
        issued: true,
        manualRenewalAt: decision.trigger.reason === Reason.ManuallyTriggered ? now : undefined,
      }),
    );
    return { requeueAfter: Math.max(1000, renewal.time.getTime() - now.getTime()) };
  }

  private async issuanceFailed(
    cert: Certificate,
    decision: IssueDecision,
    now: Date,
    log: Logger,
    secret: TlsSecretSummary | undefined,
    failure: Extract<IssueStep, { kind: 'failed' }>,
  ): Promise<ReconcileResult> {
    const attempts = (cert.status?.failedIssuanceAttempts ?? 0) + 1;
    const backoffAt = now.getTime() + failureBackoffMs(attempts);
    const caRetryMs = failure.retryAfterMs;
    const caRetryAt = caRetryMs === undefined || now.getTime() + caRetryMs <= backoffAt ? undefined : new Date(now.getTime() + caRetryMs);
    const retryAt = caRetryAt ?? new Date(backoffAt);
    const stillValid =
      secret?.state.state === 'valid' &&
      (decision.trigger.reason === Reason.Renewing || decision.trigger.reason === Reason.ManuallyTriggered) &&
      secret.state.facts.notAfter.getTime() > now.getTime();
    log.warn({ err: failure.message, attempts, retryAt }, 'issuance failed');
    await this.deps.status.write(
      cert,
      failedStatus(this.input(cert), { policy: decision.governed.policy.metadata.name, trigger: decision.trigger, error: failure.message, stillValid, retryAt, caRetryAt }),
    );
    this.deps.events.warning(certificateRef(cert), Reason.IssuanceFailed, `${failure.message} (attempt ${attempts}; next at ${retryAt.toISOString()})`, 'Issue');
    return { requeueAfter: retryAt.getTime() - now.getTime() };
  }

  /** The Certificate is being deleted: each driver whose finalizer it carries lets it go (revoking first, if the policy asks). */
  private async release(cert: Certificate, log: Logger): Promise<void> {
    const governing = this.deps.policies.list().find((p) => p.metadata.name === cert.status?.policy);
    // With spec.issuers, the issuer that issued the certificate is the one to revoke it (its view of the policy).
    const entries = governing === undefined ? [] : issuerEntries(governing);
    const policy = entries.find((e) => e.name === cert.status?.issuer)?.policy ?? entries[0]?.policy ?? governing;
    for (const d of this.drivers) {
      if (d.finalizer === undefined || d.release === undefined || cert.metadata.finalizers?.includes(d.finalizer) !== true) continue;
      const note = await d.release(cert, policy, log);
      if (note !== undefined) this.deps.events.normal(certificateRef(cert), 'Revoked', note, 'Revoke');
    }
  }

  /** Nothing is being issued: every driver takes down what an earlier issuance of its kind left. */
  private async settle(cert: Certificate, governed: Governed | undefined, log: Logger): Promise<void> {
    for (const d of this.drivers) await d.settle?.(cert, governed, log);
  }

  /** Each driver keeps its finalizer in step with the governing policy (a policy that no longer asks for it drops it). */
  private async syncFinalizers(cert: Certificate, policy: TLSPolicy): Promise<void> {
    for (const d of this.drivers) await d.syncFinalizer?.(cert, policy);
  }

  /**
   * When several Certificates name one Secret, the one the Secret says wrote
   * it keeps it (else the first by name); the others are told to move.
   */
  private claimedByAnother(key: string, secretKey: string, secret: TlsSecretSummary | undefined): string | undefined {
    const writers = this.deps.secretWriters(secretKey);
    if (writers.length < 2) return undefined;
    const { namespace } = splitKey(key);
    const annotated = secret?.annotations[SecretAnnotation.certificateName];
    const annotatedKey = annotated === undefined ? undefined : `${namespace}/${annotated}`;
    const owner = annotatedKey !== undefined && writers.includes(annotatedKey) ? annotatedKey : [...writers].sort()[0];
    return owner === undefined || owner === key ? undefined : splitKey(owner).name;
  }

  private input(cert: Certificate) {
    return { certificate: cert, now: new Date(this.deps.clock.now()) };
  }
}
