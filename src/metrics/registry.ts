// The one Prometheus registry of the process. Modules register their metrics
// here (pass `registers: [registry]`), and /metrics serves it.

import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export const METRIC_PREFIX = 'certkeeper_';

/** A registry with the default process metrics (CPU, memory, event loop, GC) under the certkeeper_ prefix. */
export function createRegistry(): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: METRIC_PREFIX });
  return r;
}

export const registry: Registry = createRegistry();

/**
 * Gauges computed at scrape time from a source of data, registered once per
 * registry: registering again (a new operator in the same process, as tests
 * do) only swaps the source the existing gauges read, since prom-client
 * refuses a second metric of the same name.
 */
export class ScrapeTimeGauges<T> {
  private readonly holders = new WeakMap<Registry, { current: () => T }>();

  constructor(private readonly build: (registry: Registry, source: () => T) => void) {}

  register(registry: Registry, current: () => T): void {
    const holder = this.holders.get(registry);
    if (holder !== undefined) {
      holder.current = current;
      return;
    }
    const state = { current };
    this.holders.set(registry, state);
    this.build(registry, () => state.current());
  }
}

/**
 * A gauge whose series are computed by its collect() at each scrape (reset,
 * then set from the caches) and dropped once the scrape has read them:
 * nothing reads them between scrapes, and per-Certificate series are ~100,000
 * label sets at 10,000 Certificates (~19 MB of heap held for nothing).
 */
export class ScrapeTimeGauge<T extends string = string> extends Gauge<T> {
  override async get(): ReturnType<Gauge<T>['get']> {
    const metric = await super.get();
    this.reset();
    return metric;
  }
}
