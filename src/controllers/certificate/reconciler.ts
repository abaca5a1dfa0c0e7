import type { Certificate } from '../../api/certificate.js';
import type { ParsedCertificate } from '../../model/certificate.js';
import { Reason } from '../../api/conditions.js';
import { GROUP, VERSION } from '../../api/meta.js';
import type { TLSPolicy } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import { IssuerError } from '../../issuers/types.js';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../kube/controller.js';
import { apiErrorMessage } from '../../kube/errors.js';
import type { EventRecorder } from '../../kube/events.js';
import { splitKey } from '../../kube/lister-watcher.js';
import { patchStatus, type StatusClients } from '../../kube/status.js';
import { PkiError } from '../../pki/errors.js';
import { decide, failureBackoffMs, renewalOf } from './decide.js';
import { issueCertificate, type SecretsApi } from './issue.js';
import type { IssuerProvider } from './issuer-provider.js';
import type { TlsSecretSummary } from '../../model/secret.js';
import { blockedStatus, failedStatus, readyStatus, statusChanged, statusMergePatch } from './status.js';
import { SecretAnnotation } from '../../model/secret.js';
import type { CertificateStatus } from '../../api/certificate.js';
import { ConditionType } from '../../api/conditions.js';
import { AcmeError } from '../../issuers/acme/problem.js';
import { type Condition, setCondition } from '../../kube/conditions.js';
import type { AcmeIssuer } from './acme/pipeline.js';
import { AcmeUpkeep } from './acme/upkeep.js';
import { REVOKE_FINALIZER } from './acme/revocation.js';
import type { IssueResult } from './secret-writer.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import { withEndpointVerification } from './endpoint-status.js';
import { certificateRef, recordAll } from '../../kube/refs.js';

export interface CertificateReconcilerDeps {
  clock: Clock;
  certificates: { get(key: string): ParsedCertificate | undefined };
  policies: { list(): TLSPolicy[] };
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  secrets: { get(key: string): TlsSecretSummary | undefined };
  /** Keys of every Certificate whose secretName is this "namespace/name". */
  secretWriters(secretKey: string): string[];
  secretsApi: SecretsApi;
  status: StatusClients;
  events: EventRecorder;
  issuers: IssuerProvider;
  /** ACME issuance and upkeep; without it, ACME policies fail to issue with a clear message. */
  acme?: { issuer: AcmeIssuer; upkeep: AcmeUpkeep } | undefined;
  /** Live endpoint validation: EndpointsVerified and status.endpoints come from it. */
  endpoints?: EndpointVerifier | undefined;
}

/**
 * Gather (caches only), decide (pure), act (issue or report). Level-triggered:
 * any event for the Certificate, its Secret, its namespace or any TLSPolicy
 * brings it here, and the same state always leads to the same outcome.
 */
export class CertificateReconciler implements Reconciler {
  /**
   * Secrets we just wrote, by key, with the resourceVersion written. Until the
   * informer has seen that version, deciding from the cache would issue twice.
   */
  private readonly expectations = new Map<string, { resourceVersion: string; until: number }>();

  constructor(private readonly deps: CertificateReconcilerDeps) {}

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
      this.deps.acme?.issuer.forget(key);
      this.deps.acme?.upkeep.forget(key);
      return;
    }
    if (!cached.ok) {
      await this.writeStatus(cached.raw, blockedStatus(this.input(cached.raw), { violation: { reason: Reason.InvalidSpec, message: cached.error } }), false);
      return;
    }
    const cert = cached.certificate;
    if (cert.metadata.deletionTimestamp !== undefined) {
      if (this.deps.acme !== undefined && cert.metadata.finalizers?.includes(REVOKE_FINALIZER) === true) {
        const policy = this.deps.policies.list().find((p) => p.metadata.name === cert.status?.policy);
        const note = await this.deps.acme.upkeep.release(cert, policy, ctx.log);
        if (note !== undefined) this.deps.events.normal(certificateRef(cert), 'Revoked', note, 'Revoke');
      }
      return;
    }
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
        if (AcmeUpkeep.hasLeftovers(cert)) await this.deps.acme?.upkeep.cleanLeftovers(cert, undefined, ctx.log);
        const changed = await this.writeStatus(cert, blockedStatus(this.input(cert), { ...decision, policy: decision.policy?.metadata.name }));
        if (changed) this.deps.events.warning(certificateRef(cert), decision.violation.reason, decision.violation.message, 'Validate');
        return;
      }
      case 'current': {
        if (secret?.state.state !== 'valid') throw new Error('unreachable: current without a valid Secret');
        await this.deps.acme?.upkeep.syncRevokeFinalizer(cert, decision.governed.policy);
        const revision = Number(secret.annotations[SecretAnnotation.revision]);
        await this.writeStatus(
          cert,
          readyStatus(this.input(cert), {
            policy: decision.governed.policy.metadata.name,
            facts: secret.state.facts,
            renewal: decision.renewal,
            revision: Number.isInteger(revision) ? revision : undefined,
          }),
        );
        const untilRenewal = Math.max(1000, decision.renewal.time.getTime() - now.getTime());
        const acme = this.deps.acme;
        if (acme === undefined || decision.governed.issuerKind !== 'acme') return { requeueAfter: untilRenewal };
        if (AcmeUpkeep.hasLeftovers(cert)) await acme.upkeep.cleanLeftovers(cert, decision.governed, ctx.log);
        const ari = await acme.upkeep.refreshRenewalInfo(key, cert, decision.governed, secret.state, ctx.log);
        return { requeueAfter: Math.max(1000, Math.min(untilRenewal, ari ?? untilRenewal)) };
      }
      case 'backoff':
        ctx.log.debug({ retryAt: decision.retryAt, trigger: decision.trigger.reason }, 'issuance backing off');
        // Nothing else to write while backing off, but the endpoints may have news.
        await this.writeStatus(cert, { ...cert.status });
        return { requeueAfter: Math.max(1000, decision.retryAt.getTime() - now.getTime()) };
      case 'issue':
        await this.deps.acme?.upkeep.syncRevokeFinalizer(cert, decision.governed.policy);
        return decision.governed.issuerKind === 'acme' && this.deps.acme !== undefined
          ? this.issueAcme(key, cert, decision, now, ctx, secret, this.deps.acme.issuer)
          : this.issue(cert, decision, now, ctx, secret);
    }
  }

  private async issue(
    cert: Certificate,
    decision: Extract<ReturnType<typeof decide>, { kind: 'issue' }>,
    now: Date,
    ctx: ReconcileContext,
    secret: TlsSecretSummary | undefined,
  ): Promise<ReconcileResult> {
    ctx.log.info({ reason: decision.trigger.reason, why: decision.trigger.message }, 'issuing');
    let result: Awaited<ReturnType<typeof issueCertificate>>;
    try {
      result = await issueCertificate(
        { secrets: this.deps.secretsApi, issuers: this.deps.issuers, now, secretKnownAbsent: secret === undefined },
        cert,
        decision.governed,
      );
    } catch (err) {
      return this.issuanceFailed(cert, decision, now, ctx, secret, err);
    }
    return this.issued(cert, decision, now, ctx, result);
  }

  /** ACME: one step of the order in flight (see acme/pipeline.ts); waits come back as requeues. */
  private async issueAcme(
    key: string,
    cert: Certificate,
    decision: Extract<ReturnType<typeof decide>, { kind: 'issue' }>,
    now: Date,
    ctx: ReconcileContext,
    secret: TlsSecretSummary | undefined,
    acme: AcmeIssuer,
  ): Promise<ReconcileResult | void> {
    const outcome = await acme.issue(key, cert, decision.governed, decision.trigger, secret?.state ?? { state: 'absent' }, ctx.log);
    switch (outcome.kind) {
      case 'gone':
        return;
      case 'issued':
        return this.issued(outcome.cert, decision, now, ctx, outcome.result);
      case 'failed':
        return this.issuanceFailed(outcome.cert, decision, now, ctx, secret, outcome.error);
      case 'waiting': {
        if (outcome.violation.reason === Reason.AccountNotReady) {
          const prev = cert.status ?? {};
          const conditions = setCondition((prev.conditions ?? []) as Condition[], {
            type: ConditionType.Issuing,
            status: 'False',
            reason: Reason.AccountNotReady,
            message: outcome.violation.message,
            observedGeneration: cert.metadata.generation ?? 0,
          }, now);
          await this.writeStatus(cert, { ...prev, policy: decision.governed.policy.metadata.name, conditions });
        }
        return { requeueAfter: Math.max(50, outcome.ms) };
      }
    }
  }

  private async issued(
    cert: Certificate,
    decision: Extract<ReturnType<typeof decide>, { kind: 'issue' }>,
    now: Date,
    ctx: ReconcileContext,
    result: IssueResult,
  ): Promise<ReconcileResult> {
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
    await this.writeStatus(
      cert,
      readyStatus(this.input(cert), { policy: decision.governed.policy.metadata.name, facts: result.facts, renewal, revision: result.revision }),
    );
    return { requeueAfter: Math.max(1000, renewal.time.getTime() - now.getTime()) };
  }

  private async issuanceFailed(
    cert: Certificate,
    decision: Extract<ReturnType<typeof decide>, { kind: 'issue' }>,
    now: Date,
    ctx: ReconcileContext,
    secret: TlsSecretSummary | undefined,
    err: unknown,
  ): Promise<ReconcileResult> {
    if (!(err instanceof IssuerError) && !(err instanceof PkiError) && !(err instanceof AcmeError) && !isApiError(err)) throw err;
    const message = err instanceof IssuerError || err instanceof PkiError || err instanceof AcmeError ? err.message : apiErrorMessage(err);
    const attempts = (cert.status?.failedIssuanceAttempts ?? 0) + 1;
    const backoffAt = now.getTime() + failureBackoffMs(attempts);
    const caRetryMs = err instanceof AcmeError ? err.details.retryAfterMs : undefined;
    const caRetryAt = caRetryMs === undefined || now.getTime() + caRetryMs <= backoffAt ? undefined : new Date(now.getTime() + caRetryMs);
    const retryAt = caRetryAt ?? new Date(backoffAt);
    const stillValid =
      secret?.state.state === 'valid' &&
      (decision.trigger.reason === Reason.Renewing || decision.trigger.reason === Reason.ManuallyTriggered) &&
      secret.state.facts.notAfter.getTime() > now.getTime();
    ctx.log.warn({ err: message, attempts, retryAt }, 'issuance failed');
    await this.writeStatus(
      cert,
      failedStatus(this.input(cert), { policy: decision.governed.policy.metadata.name, trigger: decision.trigger, error: message, stillValid, retryAt, caRetryAt }),
    );
    this.deps.events.warning(certificateRef(cert), Reason.IssuanceFailed, `${message} (attempt ${attempts}; next at ${retryAt.toISOString()})`, 'Issue');
    return { requeueAfter: retryAt.getTime() - now.getTime() };
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

  /** Patches only a real change; returns whether it did. `endpoints`: add what the live probes say (not for an unparsable object). */
  private async writeStatus(cert: Certificate, computed: CertificateStatus, endpoints = true): Promise<boolean> {
    const verifier = this.deps.endpoints;
    const verified = endpoints && verifier !== undefined ? withEndpointVerification(cert, computed, verifier, new Date(this.deps.clock.now())) : undefined;
    const next = verified?.status ?? computed;
    if (!statusChanged(cert.status, next)) return false;
    await patchStatus(this.deps.status, {
      group: GROUP,
      version: VERSION,
      plural: 'certificates',
      namespace: cert.metadata.namespace,
      name: cert.metadata.name,
      kind: 'Certificate',
    }, statusMergePatch(cert.status, next));
    if (verified !== undefined) recordAll(this.deps.events, verified.events);
    return true;
  }
}

/** API errors with a client-side cause (409 conflict, 422 invalid, 403 forbidden) are issuance failures the user can see. */
function isApiError(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err).code : undefined;
  return typeof code === 'number' && code >= 400 && code < 500 && code !== 409 && code !== 429;
}
