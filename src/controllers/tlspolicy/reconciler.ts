import { ConditionType, Reason } from '../../api/conditions.js';
import { GROUP, VERSION } from '../../api/meta.js';
import { type TLSPolicy, type TLSPolicyStatus, tlsPolicy as tlsPolicySchema } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import { IssuerError } from '../../issuers/types.js';
import { type Condition, conditionsEqual, setCondition } from '../../kube/conditions.js';
import type { ReconcileResult, Reconciler } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { patchStatus, type StatusClients } from '../../kube/status.js';
import type { Violation } from '../violation.js';
import type { IssuerProvider } from '../certificate/issuer-provider.js';

/** How often a policy's CA Secret is re-checked (expiry, rotation) without any event. */
const RECHECK_MS = 5 * 60_000;

export interface TLSPolicyReconcilerDeps {
  clock: Clock;
  policies: { get(key: string): TLSPolicy | undefined };
  /** Certificates whose status names this policy. */
  governedCount(policyName: string): number;
  status: StatusClients;
  events: EventRecorder;
  issuers: IssuerProvider;
}

export function parsePolicy(raw: unknown): TLSPolicy {
  const parsed = tlsPolicySchema.safeParse(raw);
  // The CRD schema already refused what zod would; keep the raw object if they ever disagree.
  return parsed.success ? parsed.data : (raw as TLSPolicy);
}

type IssuerKindStatus = NonNullable<TLSPolicyStatus['issuerKind']>;

/** Ready says whether the policy can issue: the CA Secret is usable, or there is nothing to issue with. */
export class TLSPolicyReconciler implements Reconciler {
  constructor(private readonly deps: TLSPolicyReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const policy = this.deps.policies.get(key);
    if (policy === undefined || policy.metadata.deletionTimestamp !== undefined) return;
    const { kind, ready } = await this.readiness(policy);
    const now = new Date(this.deps.clock.now());
    const prev = policy.status ?? {};
    const conditions = setCondition(
      (prev.conditions ?? []) as Condition[],
      {
        type: ConditionType.Ready,
        status: ready.ok ? 'True' : 'False',
        reason: ready.violation.reason,
        message: ready.violation.message,
        observedGeneration: policy.metadata.generation ?? 0,
      },
      now,
    );
    const next: TLSPolicyStatus = {
      ...prev,
      conditions,
      observedGeneration: policy.metadata.generation ?? 0,
      issuerKind: kind,
      certificates: this.deps.governedCount(policy.metadata.name),
    };
    const changed =
      !conditionsEqual((prev.conditions ?? []) as Condition[], conditions) ||
      prev.observedGeneration !== next.observedGeneration ||
      prev.issuerKind !== next.issuerKind ||
      prev.certificates !== next.certificates;
    if (changed) {
      await patchStatus(this.deps.status, { group: GROUP, version: VERSION, plural: 'tlspolicies', name: policy.metadata.name, kind: 'TLSPolicy' }, { ...next });
      const lostReady = (prev.conditions ?? []).some((c) => c.type === ConditionType.Ready && c.status === 'True') && !ready.ok;
      if (!ready.ok || lostReady) {
        this.deps.events.warning({ apiVersion: `${GROUP}/${VERSION}`, kind: 'TLSPolicy', name: policy.metadata.name, uid: policy.metadata.uid }, ready.violation.reason, ready.violation.message, 'Validate');
      }
    }
    return { requeueAfter: RECHECK_MS };
  }

  private async readiness(policy: TLSPolicy): Promise<{ kind: IssuerKindStatus; ready: { ok: boolean; violation: Violation } }> {
    const issuer = policy.spec.issuer;
    if (issuer?.ca !== undefined) {
      this.deps.issuers.forget(issuer.ca.secretName);
      try {
        const ca = await this.deps.issuers.caIssuer(issuer.ca.secretName);
        return {
          kind: 'ca',
          ready: { ok: true, violation: { reason: Reason.IssuerReady, message: `CA Secret "${issuer.ca.secretName}" is valid until ${ca.caNotAfter.toISOString()}` } },
        };
      } catch (err) {
        if (!(err instanceof IssuerError)) throw err;
        const reason = err.reason === 'CASecretIncomplete' && /does not exist/.test(err.message) ? Reason.CASecretNotFound : Reason.CASecretInvalid;
        return { kind: 'ca', ready: { ok: false, violation: { reason, message: err.message } } };
      }
    }
    if (issuer?.selfSigned !== undefined) {
      return { kind: 'selfSigned', ready: { ok: true, violation: { reason: Reason.IssuerReady, message: 'self-signed issuer needs no setup' } } };
    }
    if (issuer?.acme !== undefined) {
      return {
        kind: 'acme',
        ready: { ok: false, violation: { reason: Reason.IssuerNotReady, message: 'ACME issuance is not available in this version of certkeeper' } },
      };
    }
    return { kind: 'none', ready: { ok: true, violation: { reason: Reason.ValidationOnly, message: 'no issuer: this policy only sets guardrails and validation' } } };
  }
}
