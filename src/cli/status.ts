import { type Certificate, certificate as certificateSchema } from '../api/certificate.js';
import { type TLSPolicy, tlsPolicy as tlsPolicySchema } from '../api/tlspolicy.js';
import { mergePolicyPostQuantum } from '../endpoints/post-quantum.js';
import { certificatesClient, tlsPoliciesClient, type CustomObjectCalls } from '../kube/resources.js';
import { formatColumns } from './columns.js';

// `certkeeper status`: what on-call needs first — which certificates are not
// Ready, why, and when each one expires and renews.

export interface StatusRow {
  namespace: string;
  name: string;
  ready: string;
  reason: string;
  secret: string;
  policy: string;
  notAfter: string;
  renewalTime: string;
  message: string;
}

export function certificateRow(c: Certificate): StatusRow {
  const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
  return {
    namespace: c.metadata.namespace ?? '',
    name: c.metadata.name,
    ready: ready?.status ?? 'Unknown',
    reason: ready?.reason ?? 'Pending',
    secret: c.spec.secretName,
    policy: c.status?.policy ?? '',
    notAfter: c.status?.notAfter ?? '',
    renewalTime: c.status?.renewalTime ?? '',
    message: ready?.message ?? 'not reconciled yet',
  };
}

/** Not-Ready first, then soonest expiry: the order someone paged wants to read in. */
export function sortRows(rows: StatusRow[]): StatusRow[] {
  return [...rows].sort(
    (a, b) =>
      Number(a.ready === 'True') - Number(b.ready === 'True') ||
      (a.notAfter || '9999').localeCompare(b.notAfter || '9999') ||
      `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`),
  );
}

/** Certificates that parse (others have nothing to show here; `certkeeper status NAME` explains them), page by page. */
export async function listCertificates(api: CustomObjectCalls, namespace?: string): Promise<Certificate[]> {
  return (await certificatesClient(api).listRaw(namespace)).flatMap((item) => {
    const parsed = certificateSchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

export async function listPolicies(api: CustomObjectCalls): Promise<TLSPolicy[]> {
  return (await tlsPoliciesClient(api).listRaw()).flatMap((item) => {
    const parsed = tlsPolicySchema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

export function renderStatus(certs: Certificate[], policies: TLSPolicy[], wide: boolean): string {
  const policyRows = policies.map((p) => {
    const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
    return [p.metadata.name, ready?.status ?? 'Unknown', ready?.reason ?? '', p.status?.issuerKind ?? '', String(p.spec.priority ?? 0), String(p.status?.certificates ?? 0)];
  });
  const rows = sortRows(certs.map(certificateRow));
  const headers = ['NAMESPACE', 'NAME', 'READY', 'REASON', 'SECRET', 'EXPIRES', 'RENEWS'];
  if (wide) headers.push('POLICY', 'MESSAGE');
  const certRows = rows.map((r) => {
    const cells = [r.namespace, r.name, r.ready, r.reason, r.secret, r.notAfter, r.renewalTime];
    if (wide) cells.push(r.policy, r.message);
    return cells;
  });
  const notReady = rows.filter((r) => r.ready !== 'True').length;
  const pq = postQuantumRows(policies);
  return [
    `TLS policies (${policies.length})`,
    formatColumns(['NAME', 'READY', 'REASON', 'ISSUER', 'PRIORITY', 'CERTIFICATES'], policyRows),
    ...(pq.length === 0 ? [] : ['', 'Post-quantum key exchange by namespace (addresses the TLS policies probe)', formatColumns(['NAMESPACE', 'READY', 'PARTIAL', 'CLASSICAL', 'UNKNOWN', 'POLICIES'], pq)]),
    '',
    `Certificates (${rows.length}, ${notReady} not ready)`,
    formatColumns(headers, certRows),
  ].join('\n');
}

/** One row per namespace from the policies' status.endpoints.postQuantum (see mergePolicyPostQuantum). */
export function postQuantumRows(policies: readonly TLSPolicy[]): string[][] {
  return mergePolicyPostQuantum(policies.map((p) => ({ policy: p.metadata.name, rows: p.status?.endpoints?.postQuantum ?? [] }))).map((r) => [
    r.namespace,
    String(r.ready),
    String(r.partial),
    String(r.classical),
    String(r.unknown),
    r.policies.join(','),
  ]);
}
