import type { KubeConfig } from '@kubernetes/client-node';
import { type Certificate, certificate as certificateSchema } from '../api/certificate.js';
import { type TLSPolicy, tlsPolicy as tlsPolicySchema } from '../api/tlspolicy.js';
import { SecretAnnotation } from '../model/secret.js';
import { summarizeTlsSecret } from '../secrets/summary.js';
import { type TlsSecretSummary } from '../model/secret.js';
import type { CertificateFacts } from '../model/certificate-facts.js';
import { certificateProblems, formatSpan, secretProblems } from '../inventory/problems.js';
import { type ExpiryThresholds, thresholdsOf } from '../inventory/thresholds.js';
import { AlertWindowRule, alertWindow, renewalScheduleOf, scheduleOf, type AlertWindow } from '../inventory/alert-window.js';
import { makeKubeClients } from '../kube/client.js';
import { apiErrorMessage } from '../kube/errors.js';
import { formatColumns } from './columns.js';

// `certkeeper status NAME -n NS`: everything a person needs when one
// Certificate is not Ready, on one screen — spec, conditions, the Secret as
// it really is (parsed here, never printed: no key material), renewal, the
// last failure, endpoints, recent events. Gathering does the reads; the
// renderer is pure.

export interface EventLine {
  at: Date | undefined;
  type: string;
  reason: string;
  note: string;
  count: number;
}

export type SecretView = { state: 'found'; summary: TlsSecretSummary } | { state: 'absent' } | { state: 'unreadable'; error: string };

export interface DescribeInput {
  /** The object as the API server returned it (unknown fields such as endpoint results are shown too). */
  raw: Record<string, unknown>;
  certificate: Certificate;
  /** Why the object does not match the schema, if it does not. */
  invalid?: string | undefined;
  secret: SecretView;
  policy?: TLSPolicy | undefined;
  events: EventLine[];
  now: Date;
}

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

function when(text: string | undefined, now: Date): string {
  if (text === undefined || text === '') return '-';
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) return text;
  const delta = ms - now.getTime();
  return `${iso(new Date(ms))} (${delta >= 0 ? `in ${formatSpan(delta)}` : `${formatSpan(-delta)} ago`})`;
}

function field(label: string, value: string | number | boolean | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  return `  ${`${label}:`.padEnd(22)}${String(value)}`;
}

function lines(...items: (string | undefined)[]): string[] {
  return items.filter((l): l is string => l !== undefined);
}

function specSection(c: Certificate): string[] {
  const s = c.spec;
  const key = s.privateKey;
  return [
    'Spec:',
    ...lines(
      field('Secret', s.secretName),
      field('Common name', s.commonName),
      field('DNS names', s.dnsNames?.join(', ')),
      field('IP addresses', s.ipAddresses?.join(', ')),
      field('URIs', s.uris?.join(', ')),
      field('Email addresses', s.emailAddresses?.join(', ')),
      field('Duration', s.duration ?? 'policy default, else 2160h'),
      field('Renew before', s.renewBefore ?? (s.renewBeforePercentage === undefined ? 'default (at 2/3 of the lifetime)' : `${s.renewBeforePercentage}% of the lifetime`)),
      field('Private key', key === undefined ? 'RSA (default)' : `${key.algorithm}${key.size === undefined ? '' : ` ${key.size}`}, ${key.encoding}, rotation ${key.rotationPolicy}`),
      field('Usages', s.usages?.join(', ')),
      field('Is CA', s.isCA),
      field('Policy reference', s.policyRef?.name),
    ),
  ];
}

function conditionsSection(c: Certificate, now: Date): string[] {
  const conditions = c.status?.conditions ?? [];
  if (conditions.length === 0) return ['Conditions:', '  none yet: the operator has not reconciled this Certificate (is it running?)'];
  const rows = conditions.map((x) => [x.type, x.status, x.reason, when(x.lastTransitionTime, now), x.message]);
  return ['Conditions:', ...formatColumns(['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'], rows).split('\n').map((l) => `  ${l}`)];
}

function issuedSection(c: Certificate, now: Date): string[] {
  const s = c.status;
  if (s?.notAfter === undefined) return ['Issued certificate:', '  none yet'];
  return [
    'Issued certificate:',
    ...lines(
      field('Revision', s.revision),
      field('Serial number', s.serialNumber),
      field('SHA-256 fingerprint', s.fingerprintSHA256),
      field('Not before', when(s.notBefore, now)),
      field('Not after', when(s.notAfter, now)),
    ),
  ];
}

function alertsText(t: ExpiryThresholds, window: AlertWindow): string {
  const source = t.policy === undefined ? ' (defaults)' : '';
  if (window.rule === AlertWindowRule.RenewalOverdue) {
    return `if renewal is overdue: warning ${formatSpan(window.warningMs)} and critical ${formatSpan(window.criticalMs)} before expiry (renewal time + ${Math.round(t.renewalGraceFraction * 100)} % of the lifetime, two thirds of the renewal window)${source}`;
  }
  return `warning ${formatSpan(window.warningMs)} and critical ${formatSpan(window.criticalMs)} before expiry${source}`;
}

function renewalSection(c: Certificate, now: Date, t: ExpiryThresholds): string[] {
  const s = c.status;
  return [
    'Renewal:',
    ...lines(
      field('Renews at', when(s?.renewalTime, now)),
      field('Because of', s?.renewalBasis),
      field('Governing policy', s?.policy ?? c.spec.policyRef?.name ?? 'none resolved'),
      field('Issued by', s?.issuer),
      field('Issuers passed over', s?.skippedIssuers?.map((i) => `${i.name} (${i.reason}: ${i.message})`).join('; ')),
      field('Alerts', alertsText(t, alertWindow(t, scheduleOf(s)))),
    ),
  ];
}

function failureSection(c: Certificate, now: Date): string[] {
  const s = c.status;
  if (s?.lastFailureTime === undefined && (s?.failedIssuanceAttempts ?? 0) === 0) return ['Last failure:', '  none'];
  return [
    'Last failure:',
    ...lines(
      field('Failed attempts', s?.failedIssuanceAttempts ?? 0),
      field('At', when(s?.lastFailureTime, now)),
      field('Message', s?.lastFailureMessage),
    ),
  ];
}

function factsLines(f: CertificateFacts, now: Date): string[] {
  return lines(
    field('Subject', f.subject),
    field('Issuer', f.issuer),
    field('Names', [...f.dnsNames, ...f.ipAddresses, ...f.uris, ...f.emailAddresses].join(', ')),
    field('Serial number', f.serialNumber),
    field('Not after', when(f.notAfter.toISOString(), now)),
    field('Key', `${f.keyAlgorithm}${f.keySize === undefined ? '' : ` ${f.keySize}`}`),
    field('Is CA', f.isCA),
  );
}

function secretSection(c: Certificate, view: SecretView, now: Date, t: ExpiryThresholds): string[] {
  const title = `Secret ${c.metadata.namespace ?? ''}/${c.spec.secretName}:`;
  if (view.state === 'absent') return [title, '  does not exist'];
  if (view.state === 'unreadable') return [title, `  cannot be read: ${view.error}`];
  const s = view.summary;
  const state = s.state.state;
  const leaf = s.certificates.leaf;
  const problems = [...(leaf === undefined ? [] : certificateProblems(leaf, alertWindow(t, renewalScheduleOf(c.status, leaf)), now)), ...secretProblems(s, '')];
  const writer = s.annotations[SecretAnnotation.certificateName];
  return [
    title,
    ...lines(
      field('State', state === 'mismatched' ? 'tls.key does not match tls.crt' : state === 'invalid' ? `invalid: ${s.state.state === 'invalid' ? s.state.error : ''}` : state),
      field('Written by', writer === undefined ? 'not certkeeper (no certkeeper.dev/certificate-name annotation)' : `Certificate ${writer}, revision ${s.annotations[SecretAnnotation.revision] ?? '?'}`),
      s.certificates.leafError === undefined ? undefined : field('tls.crt', s.certificates.leafError),
    ),
    ...(s.certificates.leaf === undefined ? [] : factsLines(s.certificates.leaf, now)),
    ...lines(field('Chain', `${s.certificates.chainLength} certificate(s) in tls.crt, ${s.certificates.caCertificates.length} in ca.crt`)),
    ...problems.map((p) => `  Problem:              ${p.id} (${p.severity}): ${p.message}`),
  ];
}

function endpointsSection(input: DescribeInput): string[] {
  const endpoints = input.certificate.spec.endpoints ?? [];
  if (endpoints.length === 0) return ['Endpoints:', '  none listed'];
  const status = input.raw.status;
  const results = typeof status === 'object' && status !== null && 'endpoints' in status && Array.isArray(status.endpoints) ? (status.endpoints as unknown[]) : [];
  const out = ['Endpoints:'];
  for (const e of endpoints) {
    // One status entry per backend address (see src/endpoints): show each, lagging ones first as stored.
    const matching = results.filter(
      (r): r is Record<string, unknown> => typeof r === 'object' && r !== null && 'service' in r && r.service === e.service && 'port' in r && r.port === e.port,
    );
    const show = (result: Record<string, unknown>) =>
      Object.entries(result)
        .filter(([k]) => k !== 'service' && k !== 'port')
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
    const head = `  ${e.service}:${e.port}${e.serverName === undefined ? '' : ` (SNI ${e.serverName})`}:`;
    if (matching.length === 0) out.push(`${head} not checked yet`);
    else if (matching.length === 1 && matching[0] !== undefined) out.push(`${head} ${show(matching[0])}`);
    else {
      out.push(head);
      for (const r of matching) out.push(`    ${show(r)}`);
    }
  }
  return out;
}

function eventsSection(events: EventLine[], now: Date): string[] {
  if (events.length === 0) return ['Events:', '  none'];
  const rows = [...events]
    .sort((a, b) => (b.at?.getTime() ?? 0) - (a.at?.getTime() ?? 0))
    .slice(0, 15)
    .map((e) => [e.at === undefined ? '?' : formatSpan(now.getTime() - e.at.getTime()), e.type, e.reason, e.count > 1 ? `x${e.count}` : '', e.note]);
  return ['Events (newest first):', ...formatColumns(['AGO', 'TYPE', 'REASON', 'COUNT', 'MESSAGE'], rows).split('\n').map((l) => `  ${l}`)];
}

export function renderDescribe(input: DescribeInput): string {
  const c = input.certificate;
  const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
  const t = thresholdsOf(input.policy);
  const header = [
    `Certificate ${c.metadata.namespace ?? ''}/${c.metadata.name}`,
    `  Ready: ${ready === undefined ? 'Unknown (not reconciled)' : `${ready.status} (${ready.reason}) ${ready.message}`}`,
    ...(input.invalid === undefined ? [] : [`  The object does not match the Certificate schema: ${input.invalid}`]),
  ];
  const sections = [
    header,
    specSection(c),
    conditionsSection(c, input.now),
    issuedSection(c, input.now),
    renewalSection(c, input.now, t),
    failureSection(c, input.now),
    secretSection(c, input.secret, input.now, t),
    endpointsSection(input),
    eventsSection(input.events, input.now),
  ];
  return sections.map((s) => s.join('\n')).join('\n\n');
}

function parseTime(v: unknown): Date | undefined {
  if (v instanceof Date) return v;
  if (typeof v !== 'string') return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

export class CertificateNotFound extends Error {}

/** Reads the Certificate, its Secret, its policy and its events. */
export async function gatherDescribe(kc: KubeConfig, namespace: string, name: string, now: Date): Promise<DescribeInput> {
  const clients = makeKubeClients(kc);
  const eventsApi = clients.events;
  // Raw, not through the typed client's parse: an object that does not parse is shown with why.
  const raw = (await clients.certificates.getRaw(name, namespace)) as Record<string, unknown> | undefined;
  if (raw === undefined) throw new CertificateNotFound(`Certificate ${namespace}/${name} not found`);
  const parsed = certificateSchema.safeParse(raw);
  const certificate = parsed.success ? parsed.data : (raw as unknown as Certificate);
  const invalid = parsed.success ? undefined : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  const secretName = certificate.spec?.secretName;
  const [secret, policy, events] = await Promise.all([
    secretName === undefined
      ? Promise.resolve<SecretView>({ state: 'absent' })
      : clients.secrets.get(namespace, secretName).then(
          (s): SecretView => (s === undefined ? { state: 'absent' } : { state: 'found', summary: summarizeTlsSecret(s) }),
          (err: unknown): SecretView => ({ state: 'unreadable', error: apiErrorMessage(err) }),
        ),
    (async () => {
      const policyName = certificate.status?.policy ?? certificate.spec?.policyRef?.name;
      if (policyName === undefined) return undefined;
      try {
        const p = tlsPolicySchema.safeParse(await clients.tlsPolicies.getRaw(policyName));
        return p.success ? p.data : undefined;
      } catch {
        return undefined;
      }
    })(),
    eventsApi
      .listNamespacedEvent({ namespace, fieldSelector: `regarding.kind=Certificate,regarding.name=${name}`, limit: 100 })
      .then((list) =>
        list.items.map(
          (e): EventLine => ({
            at: parseTime(e.series?.lastObservedTime) ?? parseTime(e.eventTime) ?? parseTime(e.deprecatedLastTimestamp) ?? parseTime(e.metadata?.creationTimestamp),
            type: e.type ?? '',
            reason: e.reason ?? '',
            note: e.note ?? '',
            count: e.series?.count ?? e.deprecatedCount ?? 1,
          }),
        ),
      )
      .catch((): EventLine[] => []),
  ]);
  return { raw, certificate, invalid, secret, policy, events, now };
}
