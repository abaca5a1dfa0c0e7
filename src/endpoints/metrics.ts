// The endpoint metrics of the live validation (src/endpoints), one series per
// probed backend address: the PrometheusRule's endpoint alerts
// (charts/certkeeper/rules) read the stale and violation gauges. Registered by
// the operator at start and read at scrape time from the latest results, so a
// standby (which probes nothing) exports empty families.
//
// certkeeper_endpoint_grade is the SSL Labs-style letter as a number:
// A+=7, A=6, A-=5, B=4, C=3, D=2, E=1, F=0. certkeeper grades certificate
// trust and name problems F (SSL Labs shows T or M): those are 0 too.
//
// Cardinality: per backend address and Certificate (stale), per address and
// policy (violations, grade), per address and protocol version (5), and one
// not-after and one post-quantum series per address.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRIC_PREFIX, oncePerRegistry, ScrapeTimeGauges } from '../metrics/registry.js';
import type { EndpointReading } from './results.js';
import { gradeValue, servesStaleCertificate } from './verify.js';

export interface EndpointMetricRow {
  namespace: string;
  service: string;
  port: number;
  address: string;
  /** Certificates whose leaf this address must serve, and whether it serves another. */
  certificates: { name: string; stale: boolean }[];
  /** Policies judging this address: their violation count and the grade (numeric, see above). */
  policies: { name: string; violations: number; grade: number }[];
  /** Protocol versions probed (full scans): enabled or not. */
  protocols?: Record<string, boolean> | undefined;
  /** notAfter of the served leaf, seconds since the epoch. */
  notAfterSeconds?: number | undefined;
  /** Full scans that could tell: 1 when a browser's offer gets a post-quantum group, else 0. */
  postQuantum?: 0 | 1 | undefined;
}

/** The rows exported, and how many probed addresses were left out (see MAX_EXPORTED_ADDRESSES). */
export interface EndpointMetricRows {
  rows: readonly EndpointMetricRow[];
  dropped: number;
}

export type EndpointMetricSource = () => EndpointMetricRows;

const gauges = new ScrapeTimeGauges<EndpointMetricRows>((registry, current) => {
  const base = ['namespace', 'service', 'port', 'address'] as const;
  const at = (r: EndpointMetricRow) => ({ namespace: r.namespace, service: r.service, port: String(r.port), address: r.address });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_certificate_stale`,
    help: "1 when a backend address serves another certificate than its Certificate's current one (status.fingerprintSHA256), else 0.",
    labelNames: [...base, 'certificate'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of current().rows) for (const c of r.certificates) this.set({ ...at(r), certificate: c.name }, c.stale ? 1 : 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_policy_violations`,
    help: 'TLS profile violations found at the last probe of a backend address, per TLSPolicy.',
    labelNames: [...base, 'policy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of current().rows) for (const p of r.policies) this.set({ ...at(r), policy: p.name }, p.violations);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_grade`,
    help: 'Grade of a backend address at its last full scan: A+=7, A=6, A-=5, B=4, C=3, D=2, E=1, F=0 (untrusted or mismatched certificates are F).',
    labelNames: [...base, 'policy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of current().rows) for (const p of r.policies) this.set({ ...at(r), policy: p.name }, p.grade);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_protocol_enabled`,
    help: '1 when a backend address accepted the protocol version at its last full scan, else 0.',
    labelNames: [...base, 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of current().rows) for (const [version, on] of Object.entries(r.protocols ?? {})) this.set({ ...at(r), version }, on ? 1 : 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_post_quantum_key_exchange`,
    help: "1 when a browser's offer (X25519MLKEM768 and X25519) got a post-quantum group at the last full scan of a backend address, 0 when it got a classical one; no series when the scan could not tell.",
    labelNames: [...base],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of current().rows) if (r.postQuantum !== undefined) this.set(at(r), r.postQuantum);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_certificate_not_after_seconds`,
    help: 'notAfter of the leaf certificate a backend address served at its last probe, seconds since the epoch.',
    labelNames: [...base],
    registers: [registry],
    collect() {
      this.reset();
      for (const r of current().rows) if (r.notAfterSeconds !== undefined) this.set(at(r), r.notAfterSeconds);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_addresses_not_exported`,
    help: `Probed backend addresses left out of the address-labelled endpoint series (at most ${MAX_EXPORTED_ADDRESSES} are exported; those with nothing wrong go first).`,
    registers: [registry],
    collect() {
      this.set(current().dropped);
    },
  });
});

/** The scrape-time gauges, reading `current` (swapped on a second registration). */
export function registerEndpointMetrics(registry: Registry, current: EndpointMetricSource): void {
  gauges.register(registry, current);
}

export interface EndpointProbeMetrics {
  duration: Histogram;
  errors: Counter<'reason'>;
}

/** Probe durations and failures, counted as probes end; one set per registry. */
export const endpointProbeMetrics = oncePerRegistry((registry): EndpointProbeMetrics => ({
  duration: new Histogram({
    name: `${METRIC_PREFIX}endpoint_probe_duration_seconds`,
    help: 'Duration of one endpoint probe: a handshake for a Certificate endpoint, a full scan for a TLSPolicy endpoint.',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  errors: new Counter({
    name: `${METRIC_PREFIX}endpoint_probe_errors_total`,
    help: 'Endpoint probes that could not complete, by reason: connect, timeout, handshake, certificate.',
    labelNames: ['reason'],
    registers: [registry],
  }),
}));

/**
 * The most addresses exported with address labels (a few series each): past
 * it, the addresses with nothing wrong are left out first, and
 * certkeeper_endpoint_addresses_not_exported counts them, so a tenant with
 * thousands of addresses cannot blow up Prometheus's series count.
 */
export const MAX_EXPORTED_ADDRESSES = 5_000;

/** The read model as metric rows: one per probed backend address, at most `max`; `dropped` says how many more. */
export function endpointMetricRows(readings: Iterable<EndpointReading>, max = MAX_EXPORTED_ADDRESSES): EndpointMetricRows {
  const rows: EndpointMetricRow[] = [];
  for (const { target: t, result: r } of readings) {
    rows.push({
      namespace: t.namespace,
      service: t.service,
      port: t.port,
      address: t.address,
      certificates: t.certificates.map((c) => ({
        name: c.slice(c.indexOf('/') + 1),
        stale: r.served !== undefined && servesStaleCertificate(r.served.fingerprintSHA256, t.expected[c]),
      })),
      policies: t.judgements.map((j) => ({ name: j.policy, violations: r.verdicts?.[j.policy]?.violations.length ?? 0, grade: gradeValue(r.grade) })),
      protocols: r.protocols,
      notAfterSeconds: r.served === undefined ? undefined : Math.floor(Date.parse(r.served.notAfter) / 1000),
      postQuantum: r.postQuantum === undefined || r.postQuantum.readiness === 'unknown' ? undefined : r.postQuantum.readiness === 'ready' ? 1 : 0,
    });
  }
  if (rows.length <= max) return { rows, dropped: 0 };
  // What needs attention first: stale, then violating, then the rest, each in a stable order.
  const rank = (r: EndpointMetricRow) => (r.certificates.some((c) => c.stale) ? 0 : r.policies.some((p) => p.violations > 0) ? 1 : 2);
  const kept = rows
    .map((r) => ({ r, rank: rank(r), id: `${r.namespace}/${r.service}:${r.port}@${r.address}` }))
    .sort((a, b) => a.rank - b.rank || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, max)
    .map((x) => x.r);
  return { rows: kept, dropped: rows.length - max };
}
