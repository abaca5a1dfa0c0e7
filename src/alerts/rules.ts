import type { Certificate } from '../api/certificate.js';
import { certificateOf, fallbackIssuer, reloadDidNotFix } from '../model/certificate.js';
import { formatSpan } from '../inventory/problems.js';
import type { ExpiryThresholds } from '../inventory/thresholds.js';
import { AlertWindowRule, alertWindow, scheduleOf, type AlertWindow } from '../inventory/alert-window.js';
import { bundledCertificateExpiring, webhookCAExpiring } from './source-rules.js';
import { iso, labels, policyText, secretConsumers, usedBy, type AlertRule, type AlertRuleInput } from './rule-input.js';
import { AlertName, type AlertSeverity, type DesiredAlert, type EndpointObservation, alertKey } from './model.js';

// Pure: inventory + Certificate statuses + TLSPolicy thresholds + now ->
// the alerts that should be firing. Each rule is a named function over the
// whole input; `desiredAlerts` runs them all. Nothing here knows about
// Alertmanager, time passing or retries (see sender.ts).

export type { AlertRule, AlertRuleInput } from './rule-input.js';

function time(text: string | Date | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const ms = text instanceof Date ? text.getTime() : Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

interface CertificateView {
  c: Certificate;
  namespace: string;
  name: string;
  thresholds: ExpiryThresholds;
  /** When its time becomes a problem: the one rule the inventory, metrics and PrometheusRule use too. */
  window: AlertWindow;
  base: (alertname: AlertName, severity: AlertSeverity) => Record<string, string>;
  status: string;
}

function certificates(input: AlertRuleInput): CertificateView[] {
  const out: CertificateView[] = [];
  for (const cached of input.certificates) {
    const c = certificateOf(cached);
    const name = c.metadata?.name;
    if (name === undefined || c.metadata.deletionTimestamp !== undefined) continue;
    const namespace = c.metadata.namespace ?? 'default';
    const thresholds = input.thresholds.forCertificate(c);
    out.push({
      c,
      namespace,
      name,
      thresholds,
      window: alertWindow(thresholds, scheduleOf(c.status)),
      base: (alertname, severity) =>
        labels(thresholds.labels, { alertname, severity, namespace, certificate: name, ...(c.spec?.secretName === undefined ? {} : { secret: c.spec.secretName }) }),
      status: `certkeeper status ${name} -n ${namespace}`,
    });
  }
  return out;
}


/**
 * CertificateExpired: notAfter has passed. CertificateRenewalOverdue: a
 * certificate certkeeper renews was not renewed on schedule (alert-window.ts).
 * CertificateExpiringSoon: within the policy's fixed warning / critical
 * window, when the policy judges managed certificates by ExpiryThresholds or
 * no renewal schedule is known.
 */
export const certificateExpiry: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  const consumers = secretConsumers(input.inventory);
  for (const v of certificates(input)) {
    const notAfter = time(v.c.status?.notAfter);
    if (notAfter === undefined) continue;
    const left = notAfter.getTime() - input.now.getTime();
    const secret = `Secret ${v.namespace}/${v.c.spec?.secretName ?? '?'}`;
    const renewal = time(v.c.status?.renewalTime);
    const renewalText = renewal === undefined ? 'no renewal time is known' : `renewal was due at ${iso(renewal)}`;
    if (left <= 0) {
      out.push({
        labels: v.base(AlertName.CertificateExpired, 'critical'),
        annotations: {
          summary: `Certificate ${v.namespace}/${v.name} has expired`,
          description: `The certificate in ${secret} (serial ${v.c.status?.serialNumber ?? '?'}) expired ${formatSpan(-left)} ago, at ${iso(notAfter)}; ${renewalText}. Clients now reject it.${usedBy(consumers.get(`${v.namespace}/${v.c.spec?.secretName ?? ''}`))}`,
          runbook: `Run "${v.status}": read the Issuing condition and the last failure, fix the issuer, then "certkeeper renew ${v.name} -n ${v.namespace}".`,
        },
        startsAt: notAfter,
      });
      continue;
    }
    if (left > v.window.warningMs) continue;
    const critical = left <= v.window.criticalMs;
    const severity = critical ? 'critical' : 'warning';
    const threshold = critical ? v.window.criticalMs : v.window.warningMs;
    const startsAt = new Date(notAfter.getTime() - threshold);
    const usedByText = usedBy(consumers.get(`${v.namespace}/${v.c.spec?.secretName ?? ''}`));
    if (v.window.rule === AlertWindowRule.RenewalOverdue && renewal !== undefined) {
      out.push({
        labels: v.base(AlertName.CertificateRenewalOverdue, severity),
        annotations: {
          summary: `Certificate ${v.namespace}/${v.name} was not renewed: ${formatSpan(input.now.getTime() - renewal.getTime())} overdue, expires in ${formatSpan(left)}`,
          description: `The certificate in ${secret} (serial ${v.c.status?.serialNumber ?? '?'}, valid ${formatSpan(notAfter.getTime() - (time(v.c.status?.notBefore) ?? notAfter).getTime())}) should have been renewed at ${iso(renewal)} and was not; it expires at ${iso(notAfter)}, in ${formatSpan(left)}. ${critical ? 'Critical: two thirds of the time between renewal and expiry are gone' : `Warning: renewal is late by more than its grace (${formatSpan(v.window.renewalTime === undefined ? 0 : notAfter.getTime() - v.window.warningMs - v.window.renewalTime.getTime())}: ${Math.round(v.thresholds.renewalGraceFraction * 100)} % of the lifetime, by ${policyText(v.thresholds)})`}.${usedByText}`,
          runbook: `Run "${v.status}": the Issuing condition and the last failure say why renewal has not happened; "certkeeper renew ${v.name} -n ${v.namespace}" retries now.`,
        },
        startsAt,
      });
      continue;
    }
    out.push({
      labels: v.base(AlertName.CertificateExpiringSoon, severity),
      annotations: {
        summary: `Certificate ${v.namespace}/${v.name} expires in ${formatSpan(left)}`,
        description: `The certificate in ${secret} (serial ${v.c.status?.serialNumber ?? '?'}) expires at ${iso(notAfter)}, in ${formatSpan(left)}: inside the ${formatSpan(threshold)} ${severity} window of ${policyText(v.thresholds)}; ${renewalText}.${usedByText}`,
        runbook: `Run "${v.status}": a renewal that keeps failing shows in the Issuing condition and the last failure.`,
      },
      startsAt,
    });
  }
  return out;
};

/** CertificateNotReady: Ready is not True, and has not been for longer than the grace period. */
export const certificateNotReady: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  for (const v of certificates(input)) {
    const ready = v.c.status?.conditions?.find((x) => x.type === 'Ready');
    if (ready?.status === 'True') continue;
    const since = time(ready?.lastTransitionTime) ?? time(v.c.metadata.creationTimestamp);
    if (since === undefined || input.now.getTime() - since.getTime() < input.notReadyAfterMs) continue;
    const why = ready === undefined ? 'it has not been reconciled' : `${ready.reason}: ${ready.message}`;
    out.push({
      labels: v.base(AlertName.CertificateNotReady, 'warning'),
      annotations: {
        summary: `Certificate ${v.namespace}/${v.name} is not Ready`,
        description: `Certificate ${v.namespace}/${v.name} has not been Ready for ${formatSpan(input.now.getTime() - since.getTime())} (since ${iso(since)}): ${why}`,
        runbook: `Run "${v.status}": the Ready condition's reason names the problem (policy, issuer, Secret).`,
      },
      startsAt: since,
    });
  }
  return out;
};

/** CertificateRenewalFailing: a certificate was issued, and the issuance of its successor keeps failing. */
export const certificateRenewalFailing: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  for (const v of certificates(input)) {
    const attempts = v.c.status?.failedIssuanceAttempts ?? 0;
    const notAfter = time(v.c.status?.notAfter);
    if (attempts < 1 || notAfter === undefined) continue;
    const last = time(v.c.status?.lastFailureTime) ?? input.now;
    out.push({
      labels: v.base(AlertName.CertificateRenewalFailing, 'warning'),
      annotations: {
        summary: `Renewal of Certificate ${v.namespace}/${v.name} is failing`,
        description: `${attempts} issuance attempt${attempts === 1 ? '' : 's'} failed, the last at ${iso(last)}: ${v.c.status?.lastFailureMessage ?? 'no message'}. The current certificate expires at ${iso(notAfter)}, in ${formatSpan(notAfter.getTime() - input.now.getTime())}.`,
        runbook: `Run "${v.status}": fix what the last failure names (issuer, CA Secret, ACME account); certkeeper retries with backoff.`,
      },
      startsAt: last,
    });
  }
  return out;
};

/**
 * CertificateIssuedByFallback: the current certificate comes from an issuer
 * after the policy's first choice, because those before it failed or were not
 * ready. It is valid; the alert says a CA is (or was) down and which one
 * stands in, until the next renewal goes back to the first issuer.
 */
export const certificateIssuedByFallback: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  for (const v of certificates(input)) {
    const issuer = fallbackIssuer(v.c);
    if (issuer === undefined) continue;
    const skipped = (v.c.status?.skippedIssuers ?? []).map((s) => `"${s.name}" (${s.reason}: ${s.message})`).join('; ');
    const issuedAt = time(v.c.status?.notBefore) ?? input.now;
    const renewal = time(v.c.status?.renewalTime);
    out.push({
      labels: { ...v.base(AlertName.CertificateIssuedByFallback, 'warning'), issuer },
      annotations: {
        summary: `Certificate ${v.namespace}/${v.name} was issued by fallback issuer "${issuer}"`,
        description: `The current certificate (serial ${v.c.status?.serialNumber ?? '?'}) of Certificate ${v.namespace}/${v.name} was issued by "${issuer}" of TLSPolicy "${v.c.status?.policy ?? '?'}" after passing over ${skipped}. The first issuer is tried again at the next renewal${renewal === undefined ? '' : `, at ${iso(renewal)}`}.`,
        runbook: `Run "kubectl get tlspolicy ${v.c.status?.policy ?? '<policy>'} -o yaml": status.issuers says which issuer is not ready or failing and why; "certkeeper renew ${v.name} -n ${v.namespace}" goes back to the first issuer once it is healthy.`,
      },
      startsAt: issuedAt,
    });
  }
  return out;
};

/** CertificateReloadDidNotFix: spec.reload restarted the workloads of stale pods, and they still serve a stale certificate. */
export const certificateReloadDidNotFix: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  for (const v of certificates(input)) {
    if (!reloadDidNotFix(v.c)) continue;
    const r = v.c.status?.reload;
    out.push({
      labels: v.base(AlertName.CertificateReloadDidNotFix, 'warning'),
      annotations: {
        summary: `Restarting the workloads of Certificate ${v.namespace}/${v.name} did not make them serve its current certificate`,
        description: `${r?.message ?? ''} (restarted ${(r?.workloads ?? []).join(', ')} at ${r?.time ?? '?'}; current serial ${v.c.status?.serialNumber ?? '?'}).`,
        runbook: `Run "${v.status}": the endpoints section names each stale pod. Check that the server reads tls.crt/tls.key from the mounted Secret "${v.c.spec?.secretName ?? '?'}" (not a copy baked into the image or an init container's copy).`,
      },
      startsAt: time(r?.time) ?? input.now,
    });
  }
  return out;
};

/** UnmanagedCertificateExpiring: a TLS Secret no certkeeper Certificate writes holds a certificate inside the warning window, or expired. */
export const unmanagedCertificateExpiring: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  for (const e of input.inventory.entries) {
    const cert = e.certificate;
    if (cert === undefined) continue;
    const left = cert.notAfter.getTime() - input.now.getTime();
    for (const l of e.locations) {
      if (l.type !== 'secret' || l.key !== 'tls.crt' || l.managedBy.managed === 'certkeeper') continue;
      const t = input.thresholds.forNamespace(l.namespace);
      if (left > t.warningMs) continue;
      const critical = left <= t.criticalMs;
      const managedBy = l.managedBy.controller ?? 'none';
      const names = [...cert.dnsNames, ...cert.ipAddresses].slice(0, 5).join(', ') || (cert.commonName ?? cert.subject);
      out.push({
        labels: labels(t.labels, { alertname: AlertName.UnmanagedCertificateExpiring, severity: critical ? 'critical' : 'warning', namespace: l.namespace, secret: l.name, managed_by: managedBy }),
        annotations: {
          summary: left <= 0 ? `Certificate in Secret ${l.namespace}/${l.name} has expired` : `Certificate in Secret ${l.namespace}/${l.name} expires in ${formatSpan(left)}`,
          description: `Secret ${l.namespace}/${l.name} (managed by ${managedBy === 'none' ? 'nobody certkeeper can tell' : managedBy}) holds a certificate for ${names}, issued by ${cert.issuer}, ${left <= 0 ? `expired ${formatSpan(-left)} ago` : `expiring in ${formatSpan(left)}`} at ${iso(cert.notAfter)}; ${critical ? 'critical' : 'warning'} threshold ${formatSpan(critical ? t.criticalMs : t.warningMs)} (${policyText(t)}).${usedBy(l.consumers)}`,
          runbook: `No certkeeper Certificate renews it: replace it, or let certkeeper manage it with a Certificate whose secretName is "${l.name}". "certkeeper inventory -n ${l.namespace}" lists where else it is used.`,
        },
        startsAt: left <= 0 ? cert.notAfter : new Date(cert.notAfter.getTime() - (critical ? t.criticalMs : t.warningMs)),
      });
    }
  }
  return out;
};

function endpointLabels(input: AlertRuleInput, o: EndpointObservation, alertname: AlertName): Record<string, string> {
  const t = input.thresholds.forNamespace(o.namespace);
  return labels(t.labels, {
    alertname,
    severity: 'warning',
    namespace: o.namespace,
    service: o.service,
    port: String(o.port),
    ...(o.certificate === undefined ? {} : { certificate: o.certificate }),
  });
}

/** EndpointServesStaleCertificate: a Service serves another certificate than the current one. */
export const endpointServesStaleCertificate: AlertRule = (input) =>
  input.endpoints
    .filter((o) => o.stale)
    .map((o) => ({
      labels: endpointLabels(input, o, AlertName.EndpointServesStaleCertificate),
      annotations: {
        summary: `Service ${o.namespace}/${o.service}:${o.port} serves a stale certificate`,
        description: `It serves the certificate with SHA-256 ${o.servedFingerprintSHA256 ?? '?'} since ${iso(o.since)}, but the current one is ${o.expectedFingerprintSHA256 ?? '?'}${o.certificate === undefined ? '' : ` (Certificate ${o.namespace}/${o.certificate})`}.`,
        runbook: 'The pods have not reloaded the Secret: restart them or make the server watch its certificate files.',
      },
      startsAt: o.since,
    }));

/** EndpointPolicyViolation: a Service's TLS configuration breaks its TLSPolicy. */
export const endpointPolicyViolation: AlertRule = (input) =>
  input.endpoints
    .filter((o) => o.violations.length > 0)
    .map((o) => ({
      labels: endpointLabels(input, o, AlertName.EndpointPolicyViolation),
      annotations: {
        summary: `Service ${o.namespace}/${o.service}:${o.port} violates ${o.policy === undefined ? 'its TLS policy' : `TLSPolicy "${o.policy}"`}`,
        description: `${o.violations.length} violation${o.violations.length === 1 ? '' : 's'} since ${iso(o.since)}: ${o.violations.map((v) => `${v.id}: ${v.message}`).join('; ')}`,
        runbook: `Run "certkeeper probe" against the Service to see the full findings.`,
      },
      startsAt: o.since,
    }));

/** Every rule, in the order their alerts are listed. */
export const ALERT_RULES: readonly AlertRule[] = [
  certificateExpiry,
  certificateNotReady,
  certificateRenewalFailing,
  certificateIssuedByFallback,
  certificateReloadDidNotFix,
  unmanagedCertificateExpiring,
  endpointServesStaleCertificate,
  endpointPolicyViolation,
  webhookCAExpiring,
  bundledCertificateExpiring,
];

/** All alerts that should fire now, one per label set. */
export function desiredAlerts(input: AlertRuleInput, rules: readonly AlertRule[] = ALERT_RULES): DesiredAlert[] {
  const byKey = new Map<string, DesiredAlert>();
  for (const rule of rules) for (const alert of rule(input)) if (!byKey.has(alertKey(alert.labels))) byKey.set(alertKey(alert.labels), alert);
  return [...byKey.values()];
}
