import type { CustomObjectsApi } from '@kubernetes/client-node';
import { type Certificate, certificate as certificateSchema } from '../api/certificate.js';
import { GROUP, VERSION } from '../api/meta.js';
import { type TLSPolicy, tlsPolicy as tlsPolicySchema } from '../api/tlspolicy.js';

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

export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export async function listCertificates(api: CustomObjectsApi, namespace?: string): Promise<Certificate[]> {
  const out: Certificate[] = [];
  let cont: string | undefined;
  do {
    const page = (namespace === undefined
      ? await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', limit: 500, _continue: cont })
      : await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace, limit: 500, _continue: cont })) as {
      items: unknown[];
      metadata?: { _continue?: string; continue?: string };
    };
    for (const item of page.items) {
      const parsed = certificateSchema.safeParse(item);
      if (parsed.success) out.push(parsed.data);
    }
    cont = page.metadata?.continue ?? page.metadata?._continue;
  } while (cont);
  return out;
}

export async function listPolicies(api: CustomObjectsApi): Promise<TLSPolicy[]> {
  const page = (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies' })) as { items: unknown[] };
  return page.items.flatMap((i) => {
    const p = tlsPolicySchema.safeParse(i);
    return p.success ? [p.data] : [];
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
  return [
    `TLS policies (${policies.length})`,
    renderTable(['NAME', 'READY', 'REASON', 'ISSUER', 'PRIORITY', 'CERTIFICATES'], policyRows),
    '',
    `Certificates (${rows.length}, ${notReady} not ready)`,
    renderTable(headers, certRows),
  ].join('\n');
}
