import { ConditionType, Reason } from '../../api/conditions.js';
import { GROUP, VERSION } from '../../api/meta.js';
import { type TLSPolicy, type TLSPolicyStatus, tlsPolicy as tlsPolicySchema } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import { IssuerError } from '../../issuers/types.js';
import { type Condition, conditionsEqual, setCondition } from '../../kube/conditions.js';
import type { ReconcileResult, Reconciler } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { serviceRef, tlsPolicyRef } from '../../kube/refs.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import { patchStatus, type StatusClients } from '../../kube/status.js';
import type { Violation } from '../../model/violation.js';
import type { IssuerProvider } from '../certificate/issuer-provider.js';
import type { AcmeAccounts } from '../../issuers/acme/accounts.js';
import { acmeAccountReadiness } from './acme-account.js';

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
  acmeAccounts: AcmeAccounts;
  /** The live endpoint validation: TLSPolicy.status.endpoints and the addresses that began violating the policy. */
  endpoints?: Pick<EndpointVerifier, 'policySummary' | 'takePolicyViolations'> | undefined;
}

/** After a failed account registration: 10 s doubling to 10 min, so a broken CA sees a few requests an hour. */
export function accountRetryMs(failures: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, failures - 1), 600_000);
}

export function parsePolicy(raw: unknown): TLSPolicy {
  const parsed = tlsPolicySchema.safeParse(raw);
  // The CRD schema already refused what zod would; keep the raw object if they ever disagree.
  return parsed.success ? parsed.data : (raw as TLSPolicy);
}

type IssuerKindStatus = NonNullable<TLSPolicyStatus['issuerKind']>;

/** Ready says whether the policy can issue: the CA Secret is usable, or there is nothing to issue with. */
export class TLSPolicyReconciler implements Reconciler {
  /** Consecutive failed ACME registrations per policy (and the generation they were for). */
  private readonly accountFailures = new Map<string, { generation: number; count: number }>();

  constructor(private readonly deps: TLSPolicyReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const policy = this.deps.policies.get(key);
    if (policy === undefined || policy.metadata.deletionTimestamp !== undefined) return;
    const { kind, ready, acme } = await this.readiness(policy);
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
      ...(acme === undefined ? {} : { acme }),
      endpoints: this.deps.endpoints?.policySummary(policy.metadata.name),
    };
    const changed =
      !conditionsEqual((prev.conditions ?? []) as Condition[], conditions) ||
      JSON.stringify(prev.acme) !== JSON.stringify(next.acme) ||
      prev.observedGeneration !== next.observedGeneration ||
      prev.issuerKind !== next.issuerKind ||
      prev.certificates !== next.certificates ||
      JSON.stringify(prev.endpoints) !== JSON.stringify(next.endpoints);
    if (changed) {
      // A merge patch deletes with null: a policy that stopped validating endpoints loses their summary.
      const endpoints = next.endpoints ?? (prev.endpoints === undefined ? undefined : null);
      await patchStatus(this.deps.status, { group: GROUP, version: VERSION, plural: 'tlspolicies', name: policy.metadata.name, kind: 'TLSPolicy' }, { ...next, endpoints });
      const lostReady = (prev.conditions ?? []).some((c) => c.type === ConditionType.Ready && c.status === 'True') && !ready.ok;
      if (!ready.ok || lostReady) {
        this.deps.events.warning(tlsPolicyRef(policy), ready.violation.reason, ready.violation.message, 'Validate');
      }
    }
    this.announceViolations(policy.metadata.name);
    return { requeueAfter: kind === 'acme' ? this.acmeRequeue(policy, ready.ok) : RECHECK_MS };
  }

  /** A Warning on the Service of each address that began violating the policy, once per change (not per probe). */
  private announceViolations(policyName: string): void {
    for (const n of this.deps.endpoints?.takePolicyViolations(policyName) ?? []) {
      const t = n.target;
      const shown = n.violations.slice(0, 5).map((v) => `${v.id}: ${v.message}`).join('; ');
      const more = n.violations.length > 5 ? `; and ${n.violations.length - 5} more` : '';
      this.deps.events.warning(
        serviceRef(t.namespace, t.service, t.serviceUid),
        Reason.TLSPolicyViolation,
        `${t.address}:${t.targetPort} (port ${t.port}) violates TLSPolicy "${policyName}" (${n.profile}, grade ${n.grade ?? 'F'}): ${shown}${more}`,
        'Probe',
      );
    }
  }

  private acmeRequeue(policy: TLSPolicy, ok: boolean): number {
    const name = policy.metadata.name;
    const generation = policy.metadata.generation ?? 0;
    if (ok) {
      this.accountFailures.delete(name);
      return RECHECK_MS;
    }
    const prev = this.accountFailures.get(name);
    const count = prev !== undefined && prev.generation === generation ? prev.count + 1 : 1;
    this.accountFailures.set(name, { generation, count });
    return accountRetryMs(count);
  }

  private async readiness(
    policy: TLSPolicy,
  ): Promise<{ kind: IssuerKindStatus; ready: { ok: boolean; violation: Violation }; acme?: TLSPolicyStatus['acme'] }> {
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
      const result = await acmeAccountReadiness(policy, { accounts: this.deps.acmeAccounts, clock: this.deps.clock });
      return { kind: 'acme', ready: { ok: result.ok, violation: result.violation }, acme: result.acme ?? policy.status?.acme };
    }
    return { kind: 'none', ready: { ok: true, violation: { reason: Reason.ValidationOnly, message: 'no issuer: this policy only sets guardrails and validation' } } };
  }
}
