// The endpoint gauges the PrometheusRule's endpoint alerts read
// (charts/certkeeper/rules), fed by the same findings the pushed alerts use
// (alerts/model.ts EndpointObservation). Registered by whoever produces the
// findings — the live endpoint validation — and not before, so no empty
// metric families are exported meanwhile.
//
// Cardinality: one series per probed Service port, for each gauge.

import { Gauge, type Registry } from 'prom-client';
import type { EndpointObservation } from '../alerts/model.js';
import { METRIC_PREFIX } from './registry.js';

export type EndpointSource = () => readonly EndpointObservation[] | undefined;

const sources = new WeakMap<Registry, { current: EndpointSource }>();

export function registerEndpointMetrics(registry: Registry, current: EndpointSource): void {
  const holder = sources.get(registry);
  if (holder !== undefined) {
    holder.current = current;
    return;
  }
  const state = { current };
  sources.set(registry, state);
  const labels = (o: EndpointObservation) => ({ namespace: o.namespace, service: o.service, port: String(o.port) });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_certificate_stale`,
    help: '1 when a Service port serves another certificate than the current one in its Certificate\'s Secret, else 0.',
    labelNames: ['namespace', 'service', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const o of state.current() ?? []) this.set(labels(o), o.stale ? 1 : 0);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}endpoint_policy_violations`,
    help: 'TLS policy violations found at the last probe of each Service port.',
    labelNames: ['namespace', 'service', 'port'],
    registers: [registry],
    collect() {
      this.reset();
      for (const o of state.current() ?? []) this.set(labels(o), o.violations.length);
    },
  });
}
