import type { EndpointReading } from '../endpoints/results.js';
import { servesStaleCertificate } from '../endpoints/verify.js';
import type { EndpointObservation } from './model.js';

/**
 * The endpoint read model as the alert rules see it: one observation per
 * Service port and Certificate (stale or not) and per Service port and policy
 * (its violations), since alert labels name the Service port, not the address.
 * Of several addresses behind one port, the worst (and, among stale ones, the
 * longest stale) speaks for it.
 */
export function endpointObservations(readings: Iterable<EndpointReading>): EndpointObservation[] {
  const byKey = new Map<string, EndpointObservation>();
  for (const { target: t, result: r } of readings) {
    for (const c of t.certificates) {
      const expected = t.expected[c];
      const stale = r.served !== undefined && servesStaleCertificate(r.served.fingerprintSHA256, expected);
      const id = `c/${t.namespace}/${t.service}/${t.port}/${c}`;
      const seen = byKey.get(id);
      if (seen === undefined || (stale && (!seen.stale || r.since < seen.since.getTime()))) {
        byKey.set(id, {
          namespace: t.namespace,
          service: t.service,
          port: t.port,
          certificate: c.slice(c.indexOf('/') + 1),
          stale,
          servedFingerprintSHA256: r.served?.fingerprintSHA256,
          expectedFingerprintSHA256: expected,
          since: new Date(r.since),
          violations: [],
        });
      }
    }
    for (const j of t.judgements) {
      const violations = r.verdicts?.[j.policy]?.violations ?? [];
      const id = `p/${t.namespace}/${t.service}/${t.port}/${j.policy}`;
      const seen = byKey.get(id);
      if (seen === undefined || violations.length > seen.violations.length) {
        byKey.set(id, { namespace: t.namespace, service: t.service, port: t.port, stale: false, since: new Date(r.since), policy: j.policy, violations });
      }
    }
  }
  return [...byKey.values()];
}
