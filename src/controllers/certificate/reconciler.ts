import type { Certificate } from '../../api/certificate.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { TLSPolicy } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import { type Condition, setCondition } from '../../kube/conditions.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { splitKey } from '../../kube/lister-watcher.js';
import { certificateRef } from '../../kube/refs.js';
import type { Logger } from '../../log.js';
import type { ParsedCertificate } from '../../model/certificate.js';
import { SecretAnnotation, type TlsSecretSummary } from '../../model/secret.js';
import type { Governed } from '../../model/spec.js';
import type { IssueStep, IssuerDriver, IssuerDrivers } from '../drivers/driver.js';
import { decide, failureBackoffMs, renewalOf } from './decide.js';
import type { IssueResult } from './secret-writer.js';
import { blockedStatus, failedStatus, readyStatus } from './status.js';
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
}

type IssueDecision = Extract<ReturnType<typeof decide>, { kind: 'issue' }>;

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
    const cert = cached.certificate;
    if (cert.metadata.deletionTimestamp !== undefined) return this.release(cert, ctx.log);
    const { namespace = 'default' } = splitKey(key);
    const now = new Date(this.deps.clock.now());
    const secretKey = `${namespace}/${cert.spec.secretName}`;
    const secret = this.deps.secrets.get(secretKey);
    const wait = this.awaitingCache(secretKey, secret);
    if (wait > 0) return { requeueAfter: wait };
    const decision = decide({
      certificate: cert,
      secretClaimedBy: this.claimedByAnother(key, secretKey, secret),
      namespaceLabels: this.deps.namespaceLabels(namespace) ?? {},
      policies: this.deps.policies.list(),
      secret: secret?.state ?? { state: 'absent' },
      now,
    });

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
            facts: secret.state.facts,
            renewal: decision.renewal,
            revision: Number.isInteger(revision) ? revision : undefined,
          }),
        );
        const untilRenewal = Math.max(1000, decision.renewal.time.getTime() - now.getTime());
        await this.settle(cert, governed, ctx.log);
        const sooner = await this.deps.drivers[governed.issuerKind].keepCurrent?.({ key, cert, governed, secret: secret.state, log: ctx.log });
        return { requeueAfter: Math.max(1000, Math.min(untilRenewal, sooner ?? untilRenewal)) };
      }
      case 'backoff':
        ctx.log.debug({ retryAt: decision.retryAt, trigger: decision.trigger.reason }, 'issuance backing off');
        // Nothing else to write while backing off, but the endpoints may have news.
        await this.deps.status.write(cert, { ...cert.status });
        return { requeueAfter: Math.max(1000, decision.retryAt.getTime() - now.getTime()) };
      case 'issue': {
        await this.syncFinalizers(cert, decision.governed.policy);
        const step = await this.deps.drivers[decision.governed.issuerKind].advance({
          key,
          cert,
          governed: decision.governed,
          trigger: decision.trigger,
          secret: secret?.state ?? { state: 'absent' },
          secretKnownAbsent: secret === undefined,
          now,
          log: ctx.log,
        });
        return this.stepTaken(cert, decision, step, now, ctx, secret);
      }
    }
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
    ctx.log.info({ revision: result.revision, serialNumber: result.serialNumber, notAfter: result.notAfter, reusedKey: result.reusedKey }, 'issued');
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
    const policy = this.deps.policies.list().find((p) => p.metadata.name === cert.status?.policy);
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
