// Per-Certificate gauges, cert-manager's names with our prefix, read from the
// Certificate cache at scrape time (see inventory/live.ts for why on scrape).
//
// Cardinality: one series per Certificate for each timestamp gauge, three per
// Certificate for ready_status (condition="True|False|Unknown"), two for the
// alert thresholds (severity="warning|critical"). Labels are namespace and
// name only, so a Certificate never changes series when its policy, issuer or
// Secret changes; the exceptions say what they are about: the thresholds'
// rule (which changes only when a policy switches how managed certificates
// are judged, or before the first issuance) and the fallback gauge's issuer.
// Only the leader reports (a standby has no caches).

import type { Registry } from 'prom-client';
import type { Certificate } from '../api/certificate.js';
import { certificateOf, fallbackIssuer, reloadDidNotFix } from '../model/certificate.js';
import type { InventorySnapshot } from './live.js';
import { ComputedGauge, METRIC_PREFIX, ScrapeTimeGauges } from '../metrics/registry.js';
import { alertWindow, scheduleOf } from './alert-window.js';

export type SnapshotSource = () => InventorySnapshot | undefined;

const READY_VALUES = ['True', 'False', 'Unknown'] as const;

function seconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms / 1000 : undefined;
}

function identity(c: Certificate): { namespace: string; name: string } | undefined {
  const name = c.metadata?.name;
  return name === undefined ? undefined : { namespace: c.metadata.namespace ?? 'default', name };
}

function eachCertificate(source: SnapshotSource, fn: (c: Certificate, labels: { namespace: string; name: string }, s: InventorySnapshot) => void): void {
  const snapshot = source();
  if (snapshot === undefined) return;
  for (const cached of snapshot.certificates) {
    const c = certificateOf(cached);
    const labels = identity(c);
    if (labels !== undefined) fn(c, labels, snapshot);
  }
}

function timestampGauge(registry: Registry, source: SnapshotSource, name: string, help: string, field: 'notAfter' | 'notBefore' | 'renewalTime'): void {
  new ComputedGauge({ name: `${METRIC_PREFIX}${name}`, help, labelNames: ['namespace', 'name'], registers: [registry] }, (emit) => {
    eachCertificate(source, (c, labels) => {
      const v = seconds(c.status?.[field]);
      if (v !== undefined) emit(labels, v);
    });
  });
}

const certificateGauges = new ScrapeTimeGauges<ReturnType<SnapshotSource>>((registry, source) => {
  timestampGauge(registry, source, 'certificate_expiration_timestamp_seconds', 'notAfter of the certificate in the Secret, as the Certificate status reports it (Unix seconds).', 'notAfter');
  timestampGauge(registry, source, 'certificate_not_before_timestamp_seconds', 'notBefore of the certificate in the Secret (Unix seconds).', 'notBefore');
  timestampGauge(registry, source, 'certificate_renewal_timestamp_seconds', 'When certkeeper will renew the certificate (Unix seconds).', 'renewalTime');
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}certificate_ready_status`,
      help: 'The Ready condition of each Certificate: 1 for its current status (condition="True|False|Unknown"), 0 for the other two.',
      labelNames: ['namespace', 'name', 'condition'],
      registers: [registry],
    },
    (emit) => {
      eachCertificate(source, (c, labels) => {
        const ready = c.status?.conditions?.find((x) => x.type === 'Ready')?.status ?? 'Unknown';
        for (const condition of READY_VALUES) emit({ ...labels, condition }, ready === condition ? 1 : 0);
      });
    },
  );
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}certificate_failed_issuance_attempts`,
      help: 'Consecutive failed issuance attempts of each Certificate (0 after a success).',
      labelNames: ['namespace', 'name'],
      registers: [registry],
    },
    (emit) => {
      eachCertificate(source, (c, labels) => emit(labels, c.status?.failedIssuanceAttempts ?? 0));
    },
  );
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}certificate_issued_by_fallback`,
      help: "1 when the current certificate was issued by an issuer after the TLSPolicy's first choice because those before it failed or were not ready (status.issuer, status.skippedIssuers); 0 otherwise.",
      labelNames: ['namespace', 'name', 'issuer'],
      registers: [registry],
    },
    (emit) => {
      eachCertificate(source, (c, labels) => {
        const issuer = c.status?.issuer;
        if (issuer !== undefined) emit({ ...labels, issuer }, fallbackIssuer(c) === undefined ? 0 : 1);
      });
    },
  );
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}certificate_reload_failed`,
      help: 'For Certificates with spec.reload: 1 when restarting the workloads of stale pods did not make them serve the current certificate (status.reload.state StillStale), else 0.',
      labelNames: ['namespace', 'name'],
      registers: [registry],
    },
    (emit) => {
      eachCertificate(source, (c, labels) => {
        if (c.status?.reload !== undefined) emit(labels, reloadDidNotFix(c) ? 1 : 0);
      });
    },
  );
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}certificate_expiry_alert_threshold_seconds`,
      help: 'How long before notAfter each Certificate alerts, by severity, from the rule the pushed alerts and the inventory use (alert-window.ts): rule="renewal_overdue" for a certificate certkeeper renews on a known schedule (its renewal time plus a grace relative to the lifetime; CertificateRenewalOverdue), rule="expiry" for the fixed thresholds of spec.alerts.expiryWarning / expiryCritical (defaults 21d / 7d; CertificateExpiringSoon).',
      labelNames: ['namespace', 'name', 'severity', 'rule'],
      registers: [registry],
    },
    (emit) => {
      eachCertificate(source, (c, labels, s) => {
        const w = alertWindow(s.thresholds.forCertificate(c), scheduleOf(c.status));
        emit({ ...labels, severity: 'warning', rule: w.rule }, w.warningMs / 1000);
        emit({ ...labels, severity: 'critical', rule: w.rule }, w.criticalMs / 1000);
      });
    },
  );
});

/** Registers the per-Certificate gauges once per registry. */
export function registerCertificateMetrics(registry: Registry, current: SnapshotSource): void {
  certificateGauges.register(registry, current);
}
