import { describe, expect, it } from 'vitest';
import { endpointMetricRows } from '../../../src/endpoints/metrics.js';
import type { EndpointReading } from '../../../src/endpoints/results.js';
import type { EndpointTarget } from '../../../src/endpoints/targets.js';

// The address-labelled endpoint series are bounded: a namespace with thousands
// of addresses cannot blow up Prometheus; what needs attention is kept first.

const CURRENT = 'c'.repeat(64);
const OLD = 'o'.repeat(64);

function reading(address: string, served: string, violations = 0): EndpointReading {
  const target = {
    key: address,
    namespace: 'team-a',
    service: 'web',
    port: 443,
    address,
    certificates: ['team-a/web'],
    expected: { 'team-a/web': CURRENT },
    judgements: violations === 0 ? [] : [{ policy: 'edge', profile: 'intermediate' }],
  } as unknown as EndpointTarget;
  return {
    target,
    result: {
      probedAt: 0,
      durationMs: 1,
      expected: { 'team-a/web': CURRENT },
      reachable: true,
      served: { fingerprintSHA256: served, notAfter: '2027-01-01T00:00:00Z', facts: {} as never },
      since: 0,
      ...(violations === 0 ? {} : { verdicts: { edge: { violations: Array.from({ length: violations }, () => ({ id: 'protocol-not-allowed', message: 'TLSv1.0' })) } } }),
    },
  };
}

describe('endpointMetricRows', () => {
  it('exports every address under the bound', () => {
    const { rows, dropped } = endpointMetricRows([reading('10.0.0.1', CURRENT), reading('10.0.0.2', OLD)], 5);
    expect(rows.map((r) => r.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(dropped).toBe(0);
  });

  it('past the bound keeps stale, then violating, then the rest, and counts what it left out', () => {
    const readings = [
      ...Array.from({ length: 8 }, (_, i) => reading(`10.0.0.${i + 10}`, CURRENT)),
      reading('10.0.9.1', CURRENT, 2),
      reading('10.0.9.2', OLD),
    ];
    const { rows, dropped } = endpointMetricRows(readings, 3);
    expect(rows.map((r) => r.address)).toEqual(['10.0.9.2', '10.0.9.1', '10.0.0.10']);
    expect(dropped).toBe(7);
  });
});
