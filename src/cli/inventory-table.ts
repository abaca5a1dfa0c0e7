import { formatColumns } from './columns.js';
import type { Inventory, InventoryEntry, Location } from '../inventory/model.js';
import { formatSpan } from '../inventory/problems.js';

// The terminal view of the inventory: one line per certificate, soonest
// expiry first (the builder's order), problems spelled by their ids.

function shortLocation(l: Location): string {
  switch (l.type) {
    case 'secret':
      return l.key === 'tls.crt' ? `${l.namespace}/${l.name}` : `${l.namespace}/${l.name} (${l.key})`;
    case 'endpoint':
      return l.service === undefined ? l.address : `service ${l.namespace ?? ''}/${l.service}:${l.port}`;
    case 'certificate':
      return `Certificate ${l.namespace}/${l.name}`;
    case 'bundle':
      return `${l.kind} ${l.namespace === undefined ? '' : `${l.namespace}/`}${l.name} (${l.key})`;
  }
}

/** "CN=Example CA, O=Org" -> "Example CA"; whole name when it has no CN. */
export function commonNameOf(name: string): string {
  const m = /(?:^|,\s*)CN=((?:\\.|[^,])*)/.exec(name);
  return m?.[1] ?? name;
}

function names(e: InventoryEntry): string {
  const c = e.certificate;
  if (c === undefined) return '';
  const sans = [...c.dnsNames, ...c.ipAddresses, ...c.uris, ...c.emailAddresses];
  const first = sans[0] ?? c.commonName ?? c.subject;
  const more = sans.length > 1 ? ` (+${sans.length - 1})` : '';
  return `${first}${more}`;
}

function managed(e: InventoryEntry): string {
  const m = e.managedBy;
  if (m.managed === 'unmanaged') return 'unmanaged';
  return m.controller ?? m.managed;
}

/** Who uses the entry's Secrets and ConfigMaps: "Ingress shop/web, Pod shop/web-1 (+3)". */
function consumers(e: InventoryEntry): string {
  const seen: string[] = [];
  let omitted = 0;
  for (const l of e.locations) {
    if ((l.type !== 'secret' && l.type !== 'bundle') || l.consumers === undefined) continue;
    omitted += l.consumers.omitted;
    for (const c of l.consumers.consumers) {
      const text = `${c.kind} ${c.namespace}/${c.name}`;
      if (!seen.includes(text)) seen.push(text);
    }
  }
  if (seen.length === 0) return '-';
  const more = seen.length - 2 + omitted;
  return `${seen.slice(0, 2).join(', ')}${more > 0 ? ` (+${more})` : ''}`;
}

export function inventoryRows(inventory: Inventory, o: { consumers?: boolean } = {}): string[][] {
  const now = inventory.generatedAt.getTime();
  return inventory.entries.map((e) => {
    const c = e.certificate;
    const left = c === undefined ? undefined : c.notAfter.getTime() - now;
    const problems = [...new Set([e.primaryProblem, ...e.problems.map((p) => p.id)])].filter((p) => p !== 'none');
    const first = e.locations[0];
    const location = first === undefined ? '' : `${shortLocation(first)}${e.locations.length > 1 ? ` (+${e.locations.length - 1})` : ''}`;
    return [
      c === undefined ? '-' : c.notAfter.toISOString().slice(0, 16).replace('T', ' '),
      left === undefined ? '-' : left <= 0 ? `-${formatSpan(left)}` : formatSpan(left),
      problems.length === 0 ? '-' : problems.join(','),
      managed(e),
      c === undefined ? (e.error ?? '') : names(e),
      c === undefined ? '' : commonNameOf(c.issuer) + (c.isCA ? ' [CA]' : ''),
      location,
      ...(o.consumers === true ? [consumers(e)] : []),
    ];
  });
}

export function renderInventoryTable(inventory: Inventory, o: { consumers?: boolean } = {}): string {
  const counts = { expired: 0, expiring: 0, overdue: 0, errors: 0 };
  for (const e of inventory.entries) {
    if (e.problems.some((p) => p.id === 'expired')) counts.expired++;
    else if (e.problems.some((p) => p.id === 'renewal_overdue')) counts.overdue++;
    else if (e.problems.some((p) => p.id === 'expiring')) counts.expiring++;
    if (e.certificate === undefined) counts.errors++;
  }
  const headers = ['EXPIRES (UTC)', 'IN', 'PROBLEMS', 'MANAGED BY', 'NAMES', 'ISSUER', 'LOCATION', ...(o.consumers === true ? ['USED BY'] : [])];
  const table = formatColumns(headers, inventoryRows(inventory, o));
  // Renewals that are late are named only when there are some: most inventories have none.
  const overdue = counts.overdue === 0 ? '' : `, ${counts.overdue} not renewed on schedule`;
  const summary = `${inventory.entries.length} certificates: ${counts.expired} expired, ${counts.expiring} expiring${overdue}, ${counts.errors} without a readable certificate`;
  const pq = inventory.postQuantum ?? [];
  const readiness =
    pq.length === 0
      ? ''
      : `\n\nPost-quantum key exchange of the probed endpoints, by namespace\n${formatColumns(
          ['NAMESPACE', 'READY', 'PARTIAL', 'CLASSICAL', 'UNKNOWN'],
          pq.map((r) => [r.namespace, String(r.ready), String(r.partial), String(r.classical), String(r.unknown)]),
        )}`;
  return `${table}\n\n${summary}${readiness}`;
}
