// The one Prometheus registry of the process. Modules register their metrics
// here (pass `registers: [registry]`), and /metrics serves it.

import { collectDefaultMetrics, Registry } from 'prom-client';

export const METRIC_PREFIX = 'certkeeper_';

/** A registry with the default process metrics (CPU, memory, event loop, GC) under the certkeeper_ prefix. */
export function createRegistry(): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: METRIC_PREFIX });
  return r;
}

export const registry: Registry = createRegistry();
