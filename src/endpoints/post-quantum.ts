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
