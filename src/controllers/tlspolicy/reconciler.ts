import { ConditionType, Reason } from '../../api/conditions.js';
import { type IssuerStatus, type TLSPolicy, type TLSPolicyStatus } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import { type Condition, setCondition } from '../../kube/conditions.js';
import type { ReconcileResult, Reconciler } from '../../kube/controller.js';
import type { EventRecorder } from '../../kube/events.js';
import { serviceRef, tlsPolicyRef } from '../../kube/refs.js';
import type { KubeObject } from '../../kube/lister-watcher.js';
import type { TLSPoliciesClient } from '../../kube/resources.js';
import type { IssuerDrivers, IssuerReadiness } from '../drivers/driver.js';
import { issuerEntries } from '../drivers/rules.js';
import { healthFromStatus, healthToStatus, type IssuerHealthRegistry } from '../certificate/issuer-health.js';

/** How often a policy's CA Secret is re-checked (expiry, rotation) without any event. */
const RECHECK_MS = 5 * 60_000;

export interface TLSPolicyReconcilerDeps {
  clock: Clock;
  /** The cache: it is handed the server's answer to each status write (read-your-writes until the watch echo). */
  policies: { get(key: string): TLSPolicy | undefined; observe?(served: KubeObject): void };
  /** Certificates whose status names this policy. */
  governedCount(policyName: string): number;
  /** Status is written through it, only when it changes. */
  policiesApi: Pick<TLSPoliciesClient, 'writeStatus'>;
  events: Pick<EventRecorder, 'warning'>;
  /** Readiness is the issuer driver's to judge. */
  drivers: IssuerDrivers;
  /** The shared health of the issuers of policies with spec.issuers: shown in status.issuers[].health. */
  health?: Pick<IssuerHealthRegistry, 'current' | 'retain'> | undefined;
  /** The live endpoint validation: TLSPolicy.status.endpoints and the addresses that began violating the policy. */
  endpoints?: Pick<EndpointVerifier, 'policySummary' | 'takePolicyViolations'> | undefined;
}

/** After a failed account registration: 10 s doubling to 10 min, so a broken CA sees a few requests an hour. */
export function accountRetryMs(failures: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, failures - 1), 600_000);
}

type IssuerKindStatus = NonNullable<TLSPolicyStatus['issuerKind']>;

/** Ready says whether the policy can issue (its issuer driver judges: CA Secret usable, ACME account registered), or that it has nothing to issue with. */
export class TLSPolicyReconciler implements Reconciler {
  /** Consecutive failed readiness checks per policy that backs off (and the generation they were for). */
  private readonly readinessFailures = new Map<string, { generation: number; count: number }>();

  constructor(private readonly deps: TLSPolicyReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult | void> {
    const policy = this.deps.policies.get(key);
    if (policy === undefined || policy.metadata.deletionTimestamp !== undefined) {
      this.deps.health?.retain(key, []);
      return;
    }
    const ready = await this.readiness(policy);
    const now = new Date(this.deps.clock.now());
    const prev = policy.status ?? {};
    const conditions = setCondition(
      (prev.conditions ?? []) as Condition[],
      {
        type: ConditionType.Ready,
        status: ready.ok ? 'True' : 'False',
        reason: ready.explanation.reason,
        message: ready.explanation.message,
        observedGeneration: policy.metadata.generation ?? 0,
      },
      now,
    );
    const next: TLSPolicyStatus = {
      ...prev,
      conditions,
      observedGeneration: policy.metadata.generation ?? 0,
      issuerKind: ready.kind,
      certificates: this.deps.governedCount(policy.metadata.name),
      ...(ready.acme === undefined ? {} : { acme: ready.acme }),
      issuers: ready.issuers,
      // A policy that stopped validating endpoints loses their summary.
      endpoints: this.deps.endpoints?.policySummary(policy.metadata.name),
    };
    const written = await this.deps.policiesApi.writeStatus(policy, next);
    if (written.outcome === 'written') {
      if (written.served !== undefined) this.deps.policies.observe?.(written.served);
      const lostReady = (prev.conditions ?? []).some((c) => c.type === ConditionType.Ready && c.status === 'True') && !ready.ok;
      if (!ready.ok || lostReady) this.deps.events.warning(tlsPolicyRef(policy), ready.explanation.reason, ready.explanation.message, 'Validate');
    }
    this.announceViolations(policy.metadata.name);
    return { requeueAfter: ready.backOffWhileNotReady === true ? this.backoff(policy, ready.ok) : RECHECK_MS };
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

  /** The usual recheck while ready; after failures (an ACME registration), a delay that grows per generation. */
  private backoff(policy: TLSPolicy, ok: boolean): number {
    const name = policy.metadata.name;
    const generation = policy.metadata.generation ?? 0;
    if (ok) {
      this.readinessFailures.delete(name);
      return RECHECK_MS;
    }
    const prev = this.readinessFailures.get(name);
    const count = prev !== undefined && prev.generation === generation ? prev.count + 1 : 1;
    this.readinessFailures.set(name, { generation, count });
    return accountRetryMs(count);
  }

  private async readiness(policy: TLSPolicy): Promise<{ kind: IssuerKindStatus; issuers?: IssuerStatus[] | undefined } & IssuerReadiness> {
    const entries = issuerEntries(policy);
    const [first] = entries;
    if (first === undefined) {
      return { kind: 'none', ok: true, explanation: { reason: Reason.ValidationOnly, message: 'no issuer: this policy only sets guardrails and validation' } };
    }
    if (!first.listed) return { kind: first.kind, ...(await this.deps.drivers[first.kind].readiness(policy)) };

    this.deps.health?.retain(policy.metadata.name, entries.map((e) => e.name));
    const issuers: IssuerStatus[] = [];
    let backOff = false;
    for (const e of entries) {
      const previous = policy.status?.issuers?.find((i) => i.name === e.name);
      const health = this.deps.health?.current(policy.metadata.name, e.name) ?? healthFromStatus(previous?.health);
      // An issuer that failed issuances is asked afresh (a CA that lost our account says so only then).
      const r = await this.deps.drivers[e.kind].readiness(e.policy, { recheck: health.failures > 0 });
      backOff ||= r.backOffWhileNotReady === true && !r.ok;
      const acme = r.acme ?? e.policy.status?.acme;
      const healthStatus = healthToStatus(health);
      issuers.push({
        name: e.name,
        kind: e.kind,
        ready: r.ok,
        reason: r.explanation.reason,
        message: r.explanation.message.slice(0, 4000),
        ...(acme === undefined ? {} : { acme }),
        ...(healthStatus === undefined ? {} : { health: healthStatus }),
      });
    }
    return { kind: first.kind, ...policyReadiness(issuers), acme: undefined, issuers, backOffWhileNotReady: backOff };
  }
}

/**
 * The policy's Ready from its issuers': ready while any can issue (Certificates
 * fail over to it), degraded when some cannot, not ready when none can.
 */
export function policyReadiness(issuers: readonly IssuerStatus[]): Pick<IssuerReadiness, 'ok' | 'explanation'> {
  const down = issuers.filter((i) => !i.ready || i.health?.unavailableUntil !== undefined);
  const [first] = issuers;
  if (first === undefined) throw new Error('unreachable: policyReadiness without issuers');
  const each = (list: readonly IssuerStatus[]) => list.map((i) => `"${i.name}" ${i.ready ? 'unavailable' : i.reason}: ${i.ready ? (i.health?.lastFailureMessage ?? '') : i.message}`).join('; ');
  if (down.length === 0) return { ok: true, explanation: { reason: Reason.IssuerReady, message: `all ${issuers.length} issuers can issue: ${issuers.map((i) => `"${i.name}"`).join(', ')}` } };
  if (issuers.every((i) => !i.ready)) return { ok: false, explanation: { reason: Reason.IssuerNotReady, message: `no issuer can issue: ${each(down)}` } };
  return {
    ok: true,
    explanation: { reason: Reason.IssuersDegraded, message: `${issuers.length - down.length} of ${issuers.length} issuers can issue; ${each(down)}` },
  };
}
