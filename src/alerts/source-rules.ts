import type { BundleLocation, InventoryEntry } from '../inventory/model.js';
import { API_SERVER_TRUST_KINDS, locationName } from '../inventory/model.js';
import { formatSpan } from '../inventory/problems.js';
import { AlertName, type DesiredAlert } from './model.js';
import { iso, labels, policyText, usedBy, type AlertRule, type AlertRuleInput } from './rule-input.js';

// Alerts for certificates found outside TLS Secrets (inventory/sources/):
// the CAs the API server trusts for webhooks, aggregated APIs and CRD
// conversion, and bundles and keystores in ConfigMaps and Opaque Secrets.
// One alert per location (object + item), about its earliest-expiring
// certificate, so a trust bundle of 40 CAs is one alert, not 40.

interface Worst {
  location: BundleLocation;
  entry: InventoryEntry & { certificate: NonNullable<InventoryEntry['certificate']> };
}

/** Per bundle location, the entry whose certificate expires first. */
function worstPerLocation(input: AlertRuleInput, accept: (l: BundleLocation) => boolean): Worst[] {
  const byLocation = new Map<string, Worst>();
  for (const e of input.inventory.entries) {
    const c = e.certificate;
    if (c === undefined) continue;
    for (const l of e.locations) {
      if (l.type !== 'bundle' || !accept(l)) continue;
      const id = locationName({ ...l, alias: undefined });
      const known = byLocation.get(id);
      if (known === undefined || c.notAfter < known.entry.certificate.notAfter) byLocation.set(id, { location: l, entry: { ...e, certificate: c } });
    }
  }
  return [...byLocation.values()];
}

const KIND_TEXT: Record<string, string> = {
  validating_webhook: 'ValidatingWebhookConfiguration',
  mutating_webhook: 'MutatingWebhookConfiguration',
  api_service: 'APIService',
  crd_conversion: 'CustomResourceDefinition',
  configmap: 'ConfigMap',
  secret_pem: 'Secret',
  secret_pkcs12: 'Secret',
  secret_jks: 'Secret',
};

function objectText(l: BundleLocation): string {
  return `${KIND_TEXT[l.kind] ?? l.kind} ${l.namespace === undefined ? '' : `${l.namespace}/`}${l.name}`;
}

function certificateText(e: Worst['entry']): string {
  const c = e.certificate;
  return `"${c.commonName ?? c.subject}" (issued by ${c.issuer}, SHA-256 ${c.fingerprintSHA256.slice(0, 16)}...)`;
}

/** WebhookCAExpiring: a caBundle the API server uses for a webhook, an aggregated API or a CRD conversion is inside the warning window, or expired. */
export const webhookCAExpiring: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  const t = input.thresholds.forPolicy(undefined);
  for (const { location: l, entry } of worstPerLocation(input, (x) => API_SERVER_TRUST_KINDS.includes(x.kind))) {
    const left = entry.certificate.notAfter.getTime() - input.now.getTime();
    if (left > t.warningMs) continue;
    const what = l.kind === 'api_service' ? 'every request to this aggregated API' : l.kind === 'crd_conversion' ? 'every conversion of this resource' : `every request webhook "${l.key}" intercepts`;
    out.push({
      labels: labels({}, { alertname: AlertName.WebhookCAExpiring, severity: input.apiServerCaSeverity ?? 'critical', kind: l.kind, name: l.name, key: l.key }),
      annotations: {
        summary: left <= 0 ? `The CA of ${objectText(l)} (${l.key}) has expired` : `The CA of ${objectText(l)} (${l.key}) expires in ${formatSpan(left)}`,
        description: `The caBundle of ${objectText(l)} (${l.key}) holds ${certificateText(entry)}, ${left <= 0 ? `expired ${formatSpan(-left)} ago` : `expiring in ${formatSpan(left)}`} at ${iso(entry.certificate.notAfter)}. Once it has expired the API server can no longer verify the webhook's serving certificate: ${what} fails.`,
        runbook: `Rotate the webhook's CA and serving certificate together and update the caBundle (often a cert-manager CA injector or the chart that installed it does this). "certkeeper inventory -o json" lists every location of this CA.`,
      },
      startsAt: left <= 0 ? entry.certificate.notAfter : new Date(entry.certificate.notAfter.getTime() - t.warningMs),
    });
  }
  return out;
};

/** BundledCertificateExpiring: a certificate in an opted-in ConfigMap or an Opaque Secret (PEM, PKCS#12, JKS) is inside the warning window, or expired. */
export const bundledCertificateExpiring: AlertRule = (input) => {
  const out: DesiredAlert[] = [];
  for (const { location: l, entry } of worstPerLocation(input, (x) => !API_SERVER_TRUST_KINDS.includes(x.kind) && x.namespace !== undefined)) {
    const namespace = l.namespace ?? '';
    const t = input.thresholds.forNamespace(namespace);
    const left = entry.certificate.notAfter.getTime() - input.now.getTime();
    if (left > t.warningMs) continue;
    const critical = left <= t.criticalMs;
    out.push({
      labels: labels(t.labels, { alertname: AlertName.BundledCertificateExpiring, severity: critical ? 'critical' : 'warning', kind: l.kind, namespace, name: l.name, key: l.key }),
      annotations: {
        summary: left <= 0 ? `A certificate in ${objectText(l)} (${l.key}) has expired` : `A certificate in ${objectText(l)} (${l.key}) expires in ${formatSpan(left)}`,
        description: `${objectText(l)} key ${l.key}${l.alias === undefined ? '' : ` (alias "${l.alias}")`} holds ${certificateText(entry)}, ${left <= 0 ? `expired ${formatSpan(-left)} ago` : `expiring in ${formatSpan(left)}`} at ${iso(entry.certificate.notAfter)}; ${critical ? 'critical' : 'warning'} threshold ${formatSpan(critical ? t.criticalMs : t.warningMs)} (${policyText(t)}).${usedBy(l.consumers)}`,
        runbook: `Nothing renews a certificate kept in a ${KIND_TEXT[l.kind] ?? l.kind} by itself: replace it there, and restart what reads it. "certkeeper inventory -n ${namespace}" lists where else it is used.`,
      },
      startsAt: left <= 0 ? entry.certificate.notAfter : new Date(entry.certificate.notAfter.getTime() - (critical ? t.criticalMs : t.warningMs)),
    });
  }
  return out;
};
