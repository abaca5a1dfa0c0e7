import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { oncePerRegistry } from '../../../src/metrics/registry.js';
import { acmeMetrics } from '../../../src/issuers/acme/metrics.js';
import { alertMetrics } from '../../../src/alerts/metrics.js';
import { controllerMetrics } from '../../../src/kube/controller-metrics.js';
import { endpointProbeMetrics } from '../../../src/endpoints/metrics.js';
import { issuerHealthMetrics } from '../../../src/controllers/certificate/issuer-health.js';

describe('oncePerRegistry', () => {
  it('builds once per registry and hands back the same metrics, a new set for a new registry', () => {
    let builds = 0;
    const counter = oncePerRegistry((registry) => {
      builds++;
      return new Counter({ name: 'x_total', help: 'x', registers: [registry] });
    });
    const a = new Registry();
    const b = new Registry();
    const first = counter(a);
    expect(counter(a)).toBe(first);
    const other = counter(b);
    expect(other).not.toBe(first);
    expect(builds).toBe(2);
  });

  it('lets every metric set of the operator be asked for twice in one registry (prom-client refuses a second metric of a name)', () => {
    const registry = new Registry();
    for (const get of [acmeMetrics, alertMetrics, controllerMetrics, endpointProbeMetrics, issuerHealthMetrics]) {
      expect(get(registry)).toBe(get(registry));
    }
  });
});
