// The one Prometheus registry of the process. Modules register their metrics
// here (pass `registers: [registry]`), and /metrics serves it.

import { collectDefaultMetrics, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';

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

/** Hands one sample of a ComputedGauge to the scrape. */
export type EmitSample<L extends string> = (labels: Partial<Record<L, string>>, value: number) => void;

/**
 * A gauge whose samples are computed at scrape time and handed straight to
 * the registry's text: nothing is kept between scrapes. A plain Gauge with a
 * collect() that calls set() keeps every series in its label map (an object
 * and a key string per series) until the next scrape, which builds a second
 * one beside it: with 1,000 Certificates and 2,000 TLS Secrets that was ~12,000
 * series, and the V8 heap grew by several MB at each of the first scrapes and
 * stayed there. Label values are escaped by the registry as for any gauge.
 */
export class ComputedGauge<L extends string> extends Gauge<L> {
  constructor(
    config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] },
    private readonly compute: (emit: EmitSample<L>) => void,
  ) {
    super(config);
  }

  override async get(): Promise<MetricObjectWithValues<MetricValue<L>>> {
    // The gauge's own label map stays empty: its get() gives name, help, type and aggregator.
    const about = await super.get();
    const values: MetricValue<L>[] = [];
    this.compute((labels, value) => {
      values.push({ labels, value });
    });
    return { ...about, values };
  }
}

/**
 * The registry's text exposition, written metric by metric as each is
 * rendered: the same bytes as `registry.metrics()`, which renders every
 * metric at once and joins them. With 1,000 Certificates and 2,000 TLS Secrets
 * a render allocates ~30 MB of short-lived objects and strings for ~1.4 MB of
 * text; held until the join, enough of them outlived a young-generation
 * collection to grow the V8 heap at every scrape. One metric at a time, they
 * die young. Prometheus content type only (what the operator serves); any
 * other gets the whole text in one write.
 */
export async function writeMetrics(registry: Registry, write: (text: string) => void): Promise<void> {
  if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) {
    write(await registry.metrics());
    return;
  }
  let first = true;
  for (const metric of registry.getMetricsAsArray()) {
    const text = await registry.getSingleMetricAsString(metric.name);
    write(first ? text : `\n\n${text}`);
    first = false;
  }
  write('\n');
}
