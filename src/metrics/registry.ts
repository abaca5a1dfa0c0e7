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

/** The last scrape-time gauge read: the next one collects after it (see ScrapeTimeGauge). */
let lastScrapeTimeRead: Promise<unknown> = Promise.resolve();

/**
 * A gauge whose series are computed by its collect() at each scrape (reset,
 * then set from the caches) and dropped once the scrape has read them:
 * nothing reads them between scrapes, and per-Certificate series are ~100,000
 * label sets at 10,000 Certificates (~19 MB of heap held for nothing). Such
 * gauges also collect one after another: prom-client asks every metric at
 * once, and each collect waits until the one before it has been read, so a
 * scrape holds one gauge's series at a time rather than all of them.
 */
export class ScrapeTimeGauge<T extends string = string> extends Gauge<T> {
  override get(): ReturnType<Gauge<T>['get']> {
    const read = lastScrapeTimeRead
      .then(() => super.get())
      .then((metric) => {
        this.reset();
        return metric;
      });
    lastScrapeTimeRead = read.catch(() => undefined);
    return read;
  }
}
