// The alerts certkeeper sends to Alertmanager. Names and labels are API:
// routes, silences and inhibitions match on them, so they are constants here
// and in the PrometheusRule file (charts/certkeeper/rules/), which a unit test
// keeps in step with this list.

export const AlertName = {
  CertificateExpiringSoon: 'CertificateExpiringSoon',
  CertificateRenewalOverdue: 'CertificateRenewalOverdue',
  CertificateExpired: 'CertificateExpired',
  CertificateNotReady: 'CertificateNotReady',
  CertificateRenewalFailing: 'CertificateRenewalFailing',
  CertificateIssuedByFallback: 'CertificateIssuedByFallback',
  CertificateReloadDidNotFix: 'CertificateReloadDidNotFix',
  EndpointServesStaleCertificate: 'EndpointServesStaleCertificate',
  EndpointPolicyViolation: 'EndpointPolicyViolation',
  UnmanagedCertificateExpiring: 'UnmanagedCertificateExpiring',
  WebhookCAExpiring: 'WebhookCAExpiring',
  BundledCertificateExpiring: 'BundledCertificateExpiring',
} as const;
export type AlertName = (typeof AlertName)[keyof typeof AlertName];
export const ALERT_NAMES: readonly AlertName[] = Object.values(AlertName);

export type AlertSeverity = 'critical' | 'warning';

/** Labels certkeeper sets itself; a TLSPolicy's extra alert labels never override them. */
export const RESERVED_LABELS = ['alertname', 'severity', 'namespace', 'certificate', 'secret', 'service', 'port', 'managed_by', 'issuer', 'kind', 'name', 'key'] as const;

/** An alert that should be firing now. */
export interface DesiredAlert {
  labels: Record<string, string>;
  /** summary, description (with the numbers), runbook (what to look at first). */
  annotations: Record<string, string>;
  /** When the condition began, derived from the data (so a restart or a new leader sends the same time). */
  startsAt: Date;
}

/** The Alertmanager v2 API's postableAlert. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** Identity of an alert, as Alertmanager sees it: its label set. */
export function alertKey(labels: Record<string, string>): string {
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}

/**
 * What a live probe of an endpoint found (filled by the live-validation work;
 * empty until then). `stale`: it serves another certificate than the current
 * one in the Secret of the Certificate listing the endpoint.
 */
export interface EndpointObservation {
  namespace: string;
  service: string;
  port: number;
  /** The Certificate that lists this endpoint, if any. */
  certificate?: string | undefined;
  stale: boolean;
  servedFingerprintSHA256?: string | undefined;
  expectedFingerprintSHA256?: string | undefined;
  /** Since when it has served a stale certificate / violated the policy. */
  since: Date;
  policy?: string | undefined;
  violations: { id: string; message: string }[];
}
