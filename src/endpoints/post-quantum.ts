import type { NamespacePostQuantum } from '../api/tlspolicy.js';
import type { PostQuantumReadiness } from '../probe/findings.js';

// Post-quantum readiness per namespace: how many probed addresses a browser
// reaches with a post-quantum group, how many only could, how many cannot.
// One pure count shared by TLSPolicy status (`certkeeper status`) and the
// inventory, so both say the same.

export interface ReadinessItem {
  namespace: string;
  /** undefined: not fully scanned, or the scan did not reach the server. */
  readiness: PostQuantumReadiness | undefined;
}

/** Least ready first (most classical and partial addresses), then by name; at most `max` namespaces. */
export function postQuantumByNamespace(items: Iterable<ReadinessItem>, max = Number.POSITIVE_INFINITY): NamespacePostQuantum[] {
  const by = new Map<string, NamespacePostQuantum>();
  for (const { namespace, readiness } of items) {
    let row = by.get(namespace);
    if (row === undefined) {
      row = { namespace, ready: 0, partial: 0, classical: 0, unknown: 0 };
      by.set(namespace, row);
    }
    row[readiness ?? 'unknown']++;
  }
  const notReady = (r: NamespacePostQuantum) => r.classical + r.partial;
  return [...by.values()]
    .sort((a, b) => notReady(b) - notReady(a) || b.unknown - a.unknown || (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0))
    .slice(0, max);
}

const addresses = (r: NamespacePostQuantum): number => r.ready + r.partial + r.classical + r.unknown;

/**
 * One row per namespace from several policies' status.endpoints.postQuantum.
 * An address two policies probe is counted by each, so a namespace's counts
 * come from the policy that probes the most addresses there, not a sum.
 * Least ready first; `policies` names every policy reporting the namespace.
 */
export function mergePolicyPostQuantum(perPolicy: readonly { policy: string; rows: readonly NamespacePostQuantum[] }[]): (NamespacePostQuantum & { policies: string[] })[] {
  const best = new Map<string, NamespacePostQuantum & { policies: string[] }>();
  for (const { policy, rows } of perPolicy) {
    for (const row of rows) {
      const seen = best.get(row.namespace);
      if (seen === undefined) best.set(row.namespace, { ...row, policies: [policy] });
      else best.set(row.namespace, { ...(addresses(row) > addresses(seen) ? row : seen), policies: [...seen.policies, policy] });
    }
  }
  return [...best.values()]
    .map((r) => ({ ...r, policies: [...r.policies].sort() }))
    .sort((a, b) => b.classical + b.partial - (a.classical + a.partial) || (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
}
