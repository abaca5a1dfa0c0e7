import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { OperatorHttpServer } from '../http/server.js';
import type { ControllerSet } from './controllers.js';
import { registerCertificateMetrics } from '../inventory/certificate-metrics.js';
import { registerInventoryMetrics } from '../inventory/metrics.js';
import { registerSourceMetrics } from '../inventory/sources/metrics.js';
import type { ServedCertificate } from '../inventory/build.js';
import { InventoryNotReady, LiveInventory, type InventorySnapshot } from '../inventory/live.js';
import { inventoryRoute } from '../inventory/route.js';
import type { SeenGroup, SeenProtocol } from '../inventory/seen.js';
import { packageVersion } from '../version.js';

// The inventory inside the operator process: a LiveInventory over the leader's
// informer caches, invalidated by their events, served at /inventory and read
// by the certificate and inventory metrics at scrape time.

export interface AttachInventoryOptions {
  http: Pick<OperatorHttpServer, 'addRoute'>;
  registry: Registry;
  controllers: Pick<ControllerSet, 'certificates' | 'policies' | 'namespaces' | 'secrets' | 'inventorySources' | 'hasSynced'>;
  clock: Clock;
  /** Leaves served by probed endpoints, when live validation provides them. */
  endpoints?: () => ServedCertificate[];
  /** TLS versions accepted at scanned endpoints, for /inventory?format=cyclonedx. */
  protocols?: () => SeenProtocol[];
  groups?: () => SeenGroup[];
}

export function attachInventory(options: AttachInventoryOptions): LiveInventory {
  const c = options.controllers;
  const live = new LiveInventory(
    {
      secrets: c.secrets,
      certificates: c.certificates,
      policies: c.policies,
      namespaceLabels: (ns) => c.namespaces.get(ns),
      synced: () => c.hasSynced(),
      sources: () => c.inventorySources.list(),
      consumers: () => c.inventorySources.consumers(),
      ...(options.endpoints === undefined ? {} : { endpoints: options.endpoints }),
    },
    options.clock,
  );
  const invalidate = () => live.invalidate();
  c.inventorySources.onChange(invalidate);
  for (const informer of [c.secrets, c.certificates, c.policies, c.namespaces]) {
    informer.on('add', invalidate);
    informer.on('update', invalidate);
    informer.on('delete', invalidate);
  }
  const source = (): InventorySnapshot | undefined => {
    if (!live.synced()) return undefined;
    try {
      return live.snapshot();
    } catch (err) {
      if (err instanceof InventoryNotReady) return undefined;
      throw err;
    }
  };
  registerCertificateMetrics(options.registry, source);
  registerInventoryMetrics(options.registry, source);
  registerSourceMetrics(options.registry, source);
  options.http.addRoute('/inventory', inventoryRoute(live, options.clock, { ...(options.protocols === undefined ? {} : { protocols: options.protocols }), ...(options.groups === undefined ? {} : { groups: options.groups }), version: packageVersion() }), { protected: true });
  return live;
}
