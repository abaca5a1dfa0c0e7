import type { Certificate } from '../api/certificate.js';
import { parseDuration } from '../api/duration.js';
import type { ManagedCertificateAlertRule, TLSPolicy } from '../api/tlspolicy.js';
import { selectPolicy } from '../policy/selection.js';

// When "expiring" starts: the TLSPolicy `alerts` block of the policy that
// governs a certificate (or, for a Secret no Certificate writes, the policy
// that selects its namespace), else 21 days / 7 days. How a managed
// certificate is judged with them is alert-window.ts.

export const DEFAULT_EXPIRY_WARNING_MS = 21 * 24 * 3_600_000;
export const DEFAULT_EXPIRY_CRITICAL_MS = 7 * 24 * 3_600_000;
export const DEFAULT_RENEWAL_GRACE_PERCENTAGE = 10;

export interface ExpiryThresholds {
  warningMs: number;
  criticalMs: number;
  /** How certificates a Certificate renews are judged (spec.alerts.managedCertificates). */
  managed: ManagedCertificateAlertRule;
  /** RenewalOverdue's grace after the renewal time, as a fraction of the lifetime. */
  renewalGraceFraction: number;
  /** The policy they come from; undefined for the defaults. */
  policy?: string | undefined;
  /** The policy's extra alert labels. */
  labels: Record<string, string>;
}

export const DEFAULT_THRESHOLDS: ExpiryThresholds = Object.freeze({
  warningMs: DEFAULT_EXPIRY_WARNING_MS,
  criticalMs: DEFAULT_EXPIRY_CRITICAL_MS,
  managed: 'RenewalOverdue',
  renewalGraceFraction: DEFAULT_RENEWAL_GRACE_PERCENTAGE / 100,
  labels: {},
});

function durationOr(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  try {
    return parseDuration(text);
  } catch {
    // The CRD schema already refuses malformed durations; an old object falls back.
    return fallback;
  }
}

/** A policy's thresholds; critical never exceeds warning, so a policy setting only one still makes sense. */
export function thresholdsOf(policy: TLSPolicy | undefined): ExpiryThresholds {
  if (policy === undefined) return DEFAULT_THRESHOLDS;
  const alerts = policy.spec.alerts;
  const warningMs = durationOr(alerts?.expiryWarning, DEFAULT_EXPIRY_WARNING_MS);
  const criticalMs = Math.min(warningMs, durationOr(alerts?.expiryCritical, DEFAULT_EXPIRY_CRITICAL_MS));
  return {
    warningMs,
    criticalMs,
    managed: alerts?.managedCertificates ?? 'RenewalOverdue',
    renewalGraceFraction: (alerts?.renewalGracePercentage ?? DEFAULT_RENEWAL_GRACE_PERCENTAGE) / 100,
    policy: policy.metadata.name,
    labels: { ...(alerts?.labels ?? {}) },
  };
}

export interface ThresholdSources {
  policies: readonly TLSPolicy[];
  /** Labels of a namespace, undefined when unknown. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
}

/** Looks thresholds up once per policy and namespace: cheap for thousands of Secrets. */
export class ThresholdResolver {
  private readonly byPolicy = new Map<string, ExpiryThresholds>();
  private readonly byNamespace = new Map<string, ExpiryThresholds>();

  constructor(private readonly sources: ThresholdSources) {
    for (const p of sources.policies) this.byPolicy.set(p.metadata.name, thresholdsOf(p));
  }

  /** The policy the Certificate's status names (what the operator resolved), else policyRef, else the namespace's. */
  forCertificate(certificate: Certificate): ExpiryThresholds {
    const named = certificate.status?.policy ?? certificate.spec?.policyRef?.name;
    const known = named === undefined ? undefined : this.byPolicy.get(named);
    return known ?? this.forNamespace(certificate.metadata.namespace ?? 'default');
  }

  forPolicy(name: string | undefined): ExpiryThresholds {
    return (name === undefined ? undefined : this.byPolicy.get(name)) ?? DEFAULT_THRESHOLDS;
  }

  forNamespace(namespace: string): ExpiryThresholds {
    const cached = this.byNamespace.get(namespace);
    if (cached !== undefined) return cached;
    const labels = this.sources.namespaceLabels(namespace);
    let result = DEFAULT_THRESHOLDS;
    if (labels !== undefined) {
      const selection = selectPolicy({ namespace, namespaceLabels: labels, policies: this.sources.policies });
      if ('policy' in selection) result = this.byPolicy.get(selection.policy.metadata.name) ?? DEFAULT_THRESHOLDS;
    }
    this.byNamespace.set(namespace, result);
    return result;
  }
}
