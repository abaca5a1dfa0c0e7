import type { EndpointReading } from '../endpoints/results.js';
import type { ServedCertificate } from './build.js';

/** The leaves live endpoints served at their last probe: the inventory's endpoint locations. */
export function servedCertificates(readings: Iterable<EndpointReading>): ServedCertificate[] {
  const out: ServedCertificate[] = [];
  for (const { target: t, result: r } of readings) {
    if (r.served === undefined) continue;
    out.push({
      namespace: t.namespace,
      service: t.service,
      port: t.port,
      address: t.address,
      serverName: t.serverName,
      certificate: r.served.facts,
      ...(r.postQuantum === undefined ? {} : { postQuantum: r.postQuantum.readiness }),
    });
  }
  return out;
}
