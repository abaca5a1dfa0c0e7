import type { ParsedCertificate } from '../model/certificate.js';
import type { Inventory } from '../inventory/model.js';
import { describeConsumers, type Consumers } from '../inventory/sources/consumers.js';
import type { ExpiryThresholds, ThresholdResolver } from '../inventory/thresholds.js';
import { type AlertSeverity, type DesiredAlert, type EndpointObservation, RESERVED_LABELS } from './model.js';

// What every alert rule reads, and the small helpers they share
// (rules.ts, source-rules.ts).

export interface AlertRuleInput {
  now: Date;
  certificates: readonly ParsedCertificate[];
  inventory: Inventory;
  thresholds: ThresholdResolver;
  /** Live endpoint findings; empty until live validation exists. */
  endpoints: readonly EndpointObservation[];
  /** A Certificate not Ready for longer than this alerts (default 10 min). */
  notReadyAfterMs: number;
  /** Severity of WebhookCAExpiring (default critical: an expired webhook CA fails every request the webhook intercepts). */
  apiServerCaSeverity?: AlertSeverity | undefined;
}

export type AlertRule = (input: AlertRuleInput) => DesiredAlert[];

export const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

/** Extra labels of the policy first, so certkeeper's own labels always win. */
export function labels(policyLabels: Record<string, string>, own: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(policyLabels)) if (!(RESERVED_LABELS as readonly string[]).includes(k)) out[k] = v;
  return { ...out, ...own };
}

export function policyText(t: ExpiryThresholds): string {
  return t.policy === undefined ? 'the default thresholds' : `TLSPolicy "${t.policy}"`;
}

/** " Used by Pod shop/web-1 (volume), Ingress shop/web (tls)." for a description; empty when nobody is known to use it. */
export function usedBy(consumers: Consumers | undefined): string {
  const text = describeConsumers(consumers);
  return text === undefined ? '' : ` Used by ${text}.`;
}

/** Consumers of each Secret the inventory holds, by "namespace/name": for alerts that start from a Certificate. */
export function secretConsumers(inventory: Inventory): Map<string, Consumers> {
  const out = new Map<string, Consumers>();
  for (const e of inventory.entries) for (const l of e.locations) if (l.type === 'secret' && l.consumers !== undefined) out.set(`${l.namespace}/${l.name}`, l.consumers);
  return out;
}
