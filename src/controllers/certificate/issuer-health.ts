import { Counter, Gauge, type Registry } from 'prom-client';
import type { IssuerHealthStatus, TLSPolicy } from '../../api/tlspolicy.js';
import { formatTime } from '../../kube/conditions.js';
import { METRIC_PREFIX, oncePerRegistry } from '../../metrics/registry.js';
import { HEALTHY, type IssuerHealth } from './failover.js';

// The health of each issuer of each policy, shared by all its Certificates:
// one Certificate's CA-side failure makes the others pass the issuer over
// until it may be tried again, so a CA that is down sees a trickle of requests,
// not one per Certificate. Kept in memory for speed, and in the policy's
// status.issuers[].health (written by the TLSPolicy reconciler when told of a
// change), from which a new leader starts.

export interface IssuerHealthMetrics {
  failures: Gauge<'policy' | 'issuer'>;
  failovers: Counter<'policy' | 'issuer'>;
}

export const issuerHealthMetrics = oncePerRegistry((registry): IssuerHealthMetrics => ({
  failures: new Gauge({
    name: `${METRIC_PREFIX}issuer_consecutive_failures`,
    help: 'Consecutive CA-side failures of each issuer of a TLSPolicy (0 = healthy); while above 0 its Certificates use the next issuer of spec.issuers.',
    labelNames: ['policy', 'issuer'],
    registers: [registry],
  }),
  failovers: new Counter({
    name: `${METRIC_PREFIX}issuer_failovers_total`,
    help: 'Issuances that moved on from this issuer to the next one of spec.issuers after a CA-side failure.',
    labelNames: ['policy', 'issuer'],
    registers: [registry],
  }),
}));

function parseTime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/** The health a policy's status recorded for an issuer (what a new leader starts from). */
export function healthFromStatus(s: IssuerHealthStatus | undefined): IssuerHealth {
  if (s === undefined || s.failures <= 0) return HEALTHY;
  return { failures: s.failures, unavailableUntil: parseTime(s.unavailableUntil), lastFailureAt: parseTime(s.lastFailureTime), lastFailure: s.lastFailureMessage };
}

/** What status.issuers[].health says; undefined for a healthy issuer. */
export function healthToStatus(h: IssuerHealth): IssuerHealthStatus | undefined {
  if (h.failures <= 0) return undefined;
  return {
    failures: h.failures,
    ...(h.unavailableUntil === undefined ? {} : { unavailableUntil: formatTime(new Date(h.unavailableUntil)) }),
    ...(h.lastFailureAt === undefined ? {} : { lastFailureTime: formatTime(new Date(h.lastFailureAt)) }),
    ...(h.lastFailure === undefined ? {} : { lastFailureMessage: h.lastFailure.slice(0, 1000) }),
  };
}

export class IssuerHealthRegistry {
  /** policy name -> issuer name -> its health and the issuer identity it is for. */
  private readonly byPolicy = new Map<string, Map<string, { identity: string; health: IssuerHealth }>>();
  private readonly metrics: IssuerHealthMetrics | undefined;

  constructor(private readonly deps: { onChange?: (policyName: string) => void; registry?: Registry | undefined } = {}) {
    this.metrics = deps.registry === undefined ? undefined : issuerHealthMetrics(deps.registry);
  }

  /** The health of one issuer of `policy`; the first look starts from the policy's status. A changed issuer (identity) starts healthy. */
  get(policy: TLSPolicy, issuer: string, identity: string): IssuerHealth {
    const known = this.byPolicy.get(policy.metadata.name)?.get(issuer);
    if (known !== undefined) return known.identity === identity ? known.health : HEALTHY;
    const seeded = healthFromStatus(policy.status?.issuers?.find((i) => i.name === issuer)?.health);
    this.store(policy.metadata.name, issuer, identity, seeded);
    return seeded;
  }

  /** Records a new health; the policy is told when more than the trial changed (its status shows failures, not trials). */
  set(policyName: string, issuer: string, identity: string, health: IssuerHealth): void {
    const before = this.byPolicy.get(policyName)?.get(issuer)?.health ?? HEALTHY;
    this.store(policyName, issuer, identity, health);
    this.metrics?.failures.set({ policy: policyName, issuer }, health.failures);
    if (before.failures !== health.failures || before.unavailableUntil !== health.unavailableUntil) this.deps.onChange?.(policyName);
  }

  /** A Certificate moved on from this issuer. */
  countFailover(policyName: string, issuer: string): void {
    this.metrics?.failovers.inc({ policy: policyName, issuer });
  }

  /** What the policy's status should say about this issuer (in memory wins over what status said). */
  current(policyName: string, issuer: string): IssuerHealth | undefined {
    return this.byPolicy.get(policyName)?.get(issuer)?.health;
  }

  /** The policy is gone (or lists other issuers): drop what is kept for its issuers not in `keep`. */
  retain(policyName: string, keep: readonly string[]): void {
    const issuers = this.byPolicy.get(policyName);
    if (issuers === undefined) return;
    for (const name of issuers.keys()) {
      if (keep.includes(name)) continue;
      issuers.delete(name);
      this.metrics?.failures.remove({ policy: policyName, issuer: name });
    }
    if (issuers.size === 0) this.byPolicy.delete(policyName);
  }

  private store(policyName: string, issuer: string, identity: string, health: IssuerHealth): void {
    let issuers = this.byPolicy.get(policyName);
    if (issuers === undefined) this.byPolicy.set(policyName, (issuers = new Map<string, { identity: string; health: IssuerHealth }>()));
    issuers.set(issuer, { identity, health });
  }
}
