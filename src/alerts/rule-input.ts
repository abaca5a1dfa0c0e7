import type { ParsedCertificate } from '../model/certificate.js';
import type { Inventory } from '../inventory/model.js';
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
