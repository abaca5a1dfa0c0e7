// The inventory's other sources as Prometheus series, computed at scrape time
// from the same snapshot as /inventory and the alerts.
//
// Cardinality: certkeeper_source_certificate_expiration_timestamp_seconds has
// one series per location (kind, object, item): a webhook, an APIService, a
// CRD, a data key of an opted-in ConfigMap or of an Opaque Secret holding
// certificates; at most 32 items per object. The value is the earliest
// notAfter among the certificates there (a trust bundle is as good as its
// first expiring CA, for the alert's purpose).

import { Gauge, type Registry } from 'prom-client';
import type { SnapshotSource } from '../certificate-metrics.js';
import { METRIC_PREFIX, ScrapeTimeGauges } from '../../metrics/registry.js';
import type { Inventory } from '../model.js';

export interface SourceExpiry {
  kind: string;
  namespace: string;
  name: string;
  key: string;
  notAfterSeconds: number;
}

/** The earliest notAfter per bundle location. */
export function sourceExpiries(inventory: Inventory): SourceExpiry[] {
  const byLocation = new Map<string, SourceExpiry>();
  for (const e of inventory.entries) {
    if (e.certificate === undefined) continue;
    const notAfterSeconds = e.certificate.notAfter.getTime() / 1000;
    for (const l of e.locations) {
      if (l.type !== 'bundle') continue;
      const namespace = l.namespace ?? '';
      const id = `${l.kind}\u0000${namespace}\u0000${l.name}\u0000${l.key}`;
      const known = byLocation.get(id);
      if (known === undefined) byLocation.set(id, { kind: l.kind, namespace, name: l.name, key: l.key, notAfterSeconds });
      else if (notAfterSeconds < known.notAfterSeconds) known.notAfterSeconds = notAfterSeconds;
    }
  }
  return [...byLocation.values()];
}

const sourceGauges = new ScrapeTimeGauges<ReturnType<SnapshotSource>>((registry, source) => {
  new Gauge({
    name: `${METRIC_PREFIX}source_certificate_expiration_timestamp_seconds`,
    help: 'Earliest notAfter of the certificates at each inventory source location: webhook/APIService/CRD caBundles, opted-in ConfigMaps, PEM and keystores in Opaque Secrets (Unix seconds). namespace is empty for cluster-scoped objects.',
    labelNames: ['kind', 'namespace', 'name', 'key'],
    registers: [registry],
    collect() {
      this.reset();
      const snapshot = source();
      if (snapshot === undefined) return;
      for (const s of sourceExpiries(snapshot.inventory)) this.set({ kind: s.kind, namespace: s.namespace, name: s.name, key: s.key }, s.notAfterSeconds);
    },
  });
});

export function registerSourceMetrics(registry: Registry, current: SnapshotSource): void {
  sourceGauges.register(registry, current);
}
