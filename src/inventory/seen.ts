import type { EndpointReading } from '../endpoints/results.js';
import { compareText } from '../text-order.js';

// What the endpoints' latest scans saw, for the CBOM (cbom.ts): TLS versions
// accepted and key exchange groups chosen. Apart from cbom.ts so the operator
// can gather them without loading the CycloneDX library, which only a CBOM
// request needs (it is imported then).

/** A TLS version an endpoint accepted in its last full scan, and where. */
export interface SeenProtocol {
  /** "TLSv1.3", "TLSv1.2", ... as the prober names them. */
  version: string;
  /** "namespace/service:port@address", at most a few hundred. */
  endpoints: string[];
}

/** Each name `namesOf` gives a reading, with the endpoints it was seen at (at most `maxEndpoints` each), sorted by name. */
function seenAtEndpoints(readings: readonly EndpointReading[], namesOf: (r: EndpointReading) => readonly string[], maxEndpoints: number): [string, string[]][] {
  const byName = new Map<string, string[]>();
  for (const r of readings) {
    for (const name of namesOf(r)) {
      const list = byName.get(name) ?? [];
      if (list.length < maxEndpoints) list.push(`${r.target.namespace}/${r.target.service}:${r.target.port}@${r.target.address}`);
      byName.set(name, list);
    }
  }
  return [...byName.entries()].sort(([a], [b]) => compareText(a, b));
}

/** The protocol versions accepted by the endpoints TLSPolicies scan, from the operator's latest readings. */
export function protocolsSeen(readings: readonly EndpointReading[], maxEndpoints = 200): SeenProtocol[] {
  const accepted = (r: EndpointReading) => Object.entries(r.result.protocols ?? {}).flatMap(([version, yes]) => (yes === true ? [version] : []));
  return seenAtEndpoints(readings, accepted, maxEndpoints).map(([version, endpoints]) => ({ version, endpoints }));
}

/** A key exchange group an endpoint chose for a browser's offer (X25519MLKEM768 + X25519) in its last full scan, and where. */
export interface SeenGroup {
  /** As the prober names it: "X25519MLKEM768", "x25519", ... */
  name: string;
  endpoints: string[];
}

/** The groups endpoints chose for a browser's offer, from the operator's latest readings (full scans of TLS 1.3 servers). */
export function groupsSeen(readings: readonly EndpointReading[], maxEndpoints = 200): SeenGroup[] {
  const chosen = (r: EndpointReading) => (r.result.postQuantum?.browserChoice === undefined ? [] : [r.result.postQuantum.browserChoice]);
  return seenAtEndpoints(readings, chosen, maxEndpoints).map(([name, endpoints]) => ({ name, endpoints }));
}

