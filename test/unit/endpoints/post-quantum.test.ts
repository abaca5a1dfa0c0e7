import { describe, expect, it } from 'vitest';
import { renderInventoryTable } from '../../../src/cli/inventory-table.js';
import { postQuantumRows, renderStatus } from '../../../src/cli/status.js';
import { endpointMetricRows } from '../../../src/endpoints/metrics.js';
import { postQuantumByNamespace, type ReadinessItem } from '../../../src/endpoints/post-quantum.js';
import type { EndpointReading } from '../../../src/endpoints/results.js';
import type { EndpointTarget } from '../../../src/endpoints/targets.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import type { PostQuantumReadiness } from '../../../src/probe/findings.js';

// Post-quantum readiness per namespace: one count for TLSPolicy status and
// the inventory, the per-address metric, and `certkeeper status`'s table.

describe('postQuantumByNamespace', () => {
  it('counts addresses per namespace, least ready first, unknown for unscanned ones', () => {
    const rows = postQuantumByNamespace([
      { namespace: 'shop', readiness: 'ready' },
      { namespace: 'shop', readiness: 'ready' },
      { namespace: 'legacy', readiness: 'classical' },
      { namespace: 'legacy', readiness: 'partial' },
      { namespace: 'legacy', readiness: undefined },
      { namespace: 'batch', readiness: 'unknown' },
    ]);
    expect(rows).toEqual([
      { namespace: 'legacy', ready: 0, partial: 1, classical: 1, unknown: 1 },
      { namespace: 'batch', ready: 0, partial: 0, classical: 0, unknown: 1 },
      { namespace: 'shop', ready: 2, partial: 0, classical: 0, unknown: 0 },
    ]);
  });

  it('keeps at most `max` namespaces, the least ready', () => {
    const items = Array.from({ length: 10 }, (_, i): ReadinessItem => ({ namespace: `ns-${i}`, readiness: i < 3 ? 'classical' : 'ready' }));
    expect(postQuantumByNamespace(items, 3).map((r) => r.namespace)).toEqual(['ns-0', 'ns-1', 'ns-2']);
    expect(postQuantumByNamespace([])).toEqual([]);
  });
});

function reading(address: string, readiness: PostQuantumReadiness | undefined): EndpointReading {
  const target = { key: address, namespace: 'shop', service: 'web', port: 443, address, certificates: [], expected: {}, judgements: [{ policy: 'edge', profile: 'intermediate' }] } as unknown as EndpointTarget;
  return {
    target,
    result: { probedAt: 0, durationMs: 1, expected: {}, reachable: true, since: 0, ...(readiness === undefined ? {} : { postQuantum: { readiness } }) },
  };
}

describe('certkeeper_endpoint_post_quantum_key_exchange', () => {
  it('is 1 for ready, 0 for partial and classical, absent when unknown or not scanned', () => {
    const { rows } = endpointMetricRows([reading('10.0.0.1', 'ready'), reading('10.0.0.2', 'partial'), reading('10.0.0.3', 'classical'), reading('10.0.0.4', 'unknown'), reading('10.0.0.5', undefined)]);
    expect(rows.map((r) => r.postQuantum)).toEqual([1, 0, 0, undefined, undefined]);
  });
});

function policy(name: string, postQuantum: { namespace: string; ready: number; partial: number; classical: number; unknown: number }[]): TLSPolicy {
  return {
    apiVersion: 'certkeeper.dev/v1alpha1',
    kind: 'TLSPolicy',
    metadata: { name },
    spec: { priority: 0 },
    status: { endpoints: { total: 0, compliant: 0, violating: 0, unreachable: 0, worst: [], postQuantum } },
  } as unknown as TLSPolicy;
}

describe('certkeeper inventory: post-quantum by namespace', () => {
  it('prints the readiness table under the certificates when there is one', () => {
    const table = renderInventoryTable({ generatedAt: new Date(0), entries: [], postQuantum: [{ namespace: 'shop', ready: 2, partial: 0, classical: 1, unknown: 0 }] });
    expect(table).toContain('Post-quantum key exchange of the probed endpoints, by namespace\nNAMESPACE  READY  PARTIAL  CLASSICAL  UNKNOWN\nshop       2      0        1          0');
    expect(renderInventoryTable({ generatedAt: new Date(0), entries: [] })).not.toContain('Post-quantum');
  });
});

describe('certkeeper status: post-quantum by namespace', () => {
  it('takes each namespace from the policy that probes most of it, names every policy, least ready first', () => {
    const rows = postQuantumRows([
      policy('edge', [{ namespace: 'shop', ready: 3, partial: 0, classical: 1, unknown: 0 }]),
      policy('all', [
        { namespace: 'shop', ready: 1, partial: 0, classical: 0, unknown: 0 },
        { namespace: 'legacy', ready: 0, partial: 0, classical: 5, unknown: 0 },
      ]),
    ]);
    expect(rows).toEqual([
      ['legacy', '0', '0', '5', '0', 'all'],
      ['shop', '3', '0', '1', '0', 'all,edge'],
    ]);
  });

  it('prints the table only when some policy reports readiness', () => {
    expect(renderStatus([], [policy('edge', [{ namespace: 'shop', ready: 2, partial: 0, classical: 0, unknown: 0 }])], false)).toContain('Post-quantum key exchange by namespace');
    expect(renderStatus([], [policy('edge', [])], false)).not.toContain('Post-quantum');
  });
});
