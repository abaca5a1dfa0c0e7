// Inventory gauges, computed from the inventory at scrape time.
//
// Cardinality:
// - certkeeper_inventory_certificates{managed,problem}: 3 x 8 series, always
//   all of them (zeros included), each certificate identity counted once under
//   its most severe problem ("none" when it has none).
// - certkeeper_secret_certificate_expiration_timestamp_seconds{namespace,secret,managed}:
//   one series per kubernetes.io/tls Secret NOT written by a certkeeper
//   Certificate (those have certkeeper_certificate_*), managed="other|unmanaged".
//   Bounded by the number of such Secrets; Secrets whose tls.crt does not parse
//   have none (they count under problem="unparsable").
// - certkeeper_namespace_expiry_alert_threshold_seconds{namespace,severity}: two
//   per namespace holding such a Secret or a bundle location: the thresholds of the TLSPolicy that
//   selects the namespace, so the PrometheusRule alerts like the operator does.

import type { Registry } from 'prom-client';
import { MANAGED_VALUES, PROBLEM_PRECEDENCE } from './model.js';
import type { SnapshotSource } from './certificate-metrics.js';
import { ComputedGauge, METRIC_PREFIX, ScrapeTimeGauges } from '../metrics/registry.js';

const inventoryGauges = new ScrapeTimeGauges<ReturnType<SnapshotSource>>((registry, source) => {
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}inventory_certificates`,
      help: 'Certificates known to the inventory (one per SHA-256 fingerprint), by who manages them and their most severe problem.',
      labelNames: ['managed', 'problem'],
      registers: [registry],
    },
    (emit) => {
      const snapshot = source();
      if (snapshot === undefined) return;
      const counts = new Map<string, number>();
      for (const e of snapshot.inventory.entries) {
        const key = `${e.managedBy.managed}\u0000${e.primaryProblem}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const managed of MANAGED_VALUES) {
        for (const problem of [...PROBLEM_PRECEDENCE, 'none' as const]) emit({ managed, problem }, counts.get(`${managed}\u0000${problem}`) ?? 0);
      }
    },
  );
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}secret_certificate_expiration_timestamp_seconds`,
      help: 'notAfter of the certificate in tls.crt of each kubernetes.io/tls Secret that no certkeeper Certificate writes (Unix seconds).',
      labelNames: ['namespace', 'secret', 'managed'],
      registers: [registry],
    },
    (emit) => {
      const snapshot = source();
      if (snapshot === undefined) return;
      for (const e of snapshot.inventory.entries) {
        if (e.certificate === undefined) continue;
        const notAfter = e.certificate.notAfter.getTime() / 1000;
        for (const l of e.locations) {
          if (l.type !== 'secret' || l.key !== 'tls.crt' || l.managedBy.managed === 'certkeeper') continue;
          emit({ namespace: l.namespace, secret: l.name, managed: l.managedBy.managed }, notAfter);
        }
      }
    },
  );
  new ComputedGauge(
    {
      name: `${METRIC_PREFIX}namespace_expiry_alert_threshold_seconds`,
      help: 'Expiry alert thresholds for Secrets no certkeeper Certificate writes: those of the TLSPolicy selecting the namespace, else 21d / 7d.',
      labelNames: ['namespace', 'severity'],
      registers: [registry],
    },
    (emit) => {
      const snapshot = source();
      if (snapshot === undefined) return;
      const namespaces = new Set<string>();
      for (const e of snapshot.inventory.entries) {
        for (const l of e.locations) {
          if (l.type === 'secret' && l.key === 'tls.crt' && l.managedBy.managed !== 'certkeeper') namespaces.add(l.namespace);
          // Bundles and keystores in ConfigMaps and Opaque Secrets alert by the same thresholds (sources/metrics.ts).
          else if (l.type === 'bundle' && l.namespace !== undefined) namespaces.add(l.namespace);
        }
      }
      for (const namespace of namespaces) {
        const t = snapshot.thresholds.forNamespace(namespace);
        emit({ namespace, severity: 'warning' }, t.warningMs / 1000);
        emit({ namespace, severity: 'critical' }, t.criticalMs / 1000);
      }
    },
  );
});

export function registerInventoryMetrics(registry: Registry, current: SnapshotSource): void {
  inventoryGauges.register(registry, current);
}
