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
 * Wraps a function that creates metrics in `registry` so it runs once per
 * registry and hands back the same set afterwards: prom-client refuses a
 * second metric of a name, and tests start several operators in one process,
 * each with its own registry.
 */
export function oncePerRegistry<T>(build: (registry: Registry) => T): (registry: Registry) => T {
  const built = new WeakMap<Registry, T>();
  return (registry) => {
    if (built.has(registry)) return built.get(registry) as T;
    const value = build(registry);
    built.set(registry, value);
    return value;
  };
}

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

/** Receives the exposition text; a promise makes the writer wait (backpressure from a slow scraper). */
export type WriteText = (text: string) => void | Promise<void>;

// About this many characters are gathered before each write: small enough that
// a chunk and the samples behind it die young, large enough that a scrape is
// a few dozen socket writes rather than one per series.
const CHUNK_CHARS = 16_384;

/**
 * A gauge whose samples are computed at scrape time and handed straight to
 * the text: nothing is kept between scrapes. A plain Gauge with a collect()
 * that calls set() keeps every series in its label map (an object and a key
 * string per series) until the next scrape, which builds a second one beside
 * it: with 1,000 Certificates and 2,000 TLS Secrets that was ~12,000 series,
 * and the V8 heap grew by several MB at each of the first scrapes and stayed
 * there. Label values are escaped as prom-client escapes them.
 *
 * writeMetrics renders it line by line (writeText): prom-client's render
 * holds every sample, its labels array and its line until the metric is
 * joined, and files each sample in a WeakMap (its shared-labels cache, keyed
 * by a fresh object per sample), so one metric of 3,000 series outlived the
 * young generation. get() stays, for registry.metrics() and JSON.
 */
export class ComputedGauge<L extends string> extends Gauge<L> {
  /** Name and help, for writeText (prom-client keeps them on the metric, untyped). */
  private readonly about: { name: string; help: string };

  constructor(
    config: { name: string; help: string; labelNames: readonly L[]; registers: Registry[] },
    private readonly compute: (emit: EmitSample<L>) => void,
  ) {
    super(config);
    this.about = { name: config.name, help: config.help };
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

  /**
   * The Prometheus text of this gauge (no trailing newline), as the registry
   * renders it when it has no default labels, handed to `write` in chunks of
   * about CHUNK_CHARS as the samples are computed: a chunk goes to the socket
   * (or its buffer, for a slow scraper) before the next is built. Waits for
   * the writes that asked to after the last sample.
   */
  async writeText(write: WriteText): Promise<void> {
    const name = escapeText(this.about.name);
    const waits: Promise<void>[] = [];
    let lines: string[] = [`# HELP ${name} ${escapeText(this.about.help)}\n# TYPE ${name} gauge`];
    let chars = 0;
    const flush = (): void => {
      // join() makes one flat string of the chunk, where += would keep a tree of its pieces.
      const wait = write(lines.join(''));
      if (wait !== undefined) waits.push(wait);
      lines = [];
      chars = 0;
    };
    this.compute((labels, value) => {
      let line = `\n${this.about.name}`;
      let open = false;
      for (const label in labels) {
        line += `${open ? ',' : '{'}${label}="${escapeLabelValue(labels[label])}"`;
        open = true;
      }
      line += `${open ? '}' : ''} ${valueText(value)}`;
      lines.push(line);
      chars += line.length;
      if (chars >= CHUNK_CHARS) flush();
    });
    flush();
    await Promise.all(waits);
  }
}

// prom-client's escaping: backslash and newline in names and help; label values also escape '"'.
function escapeText(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string | undefined): string {
  return typeof value === 'string' ? escapeText(value).replace(/"/g, '\\"') : String(value);
}

// prom-client's spelling of a value, "Nan" included.
function valueText(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/**
 * The registry's text exposition, written metric by metric as each is
 * rendered: the same bytes as `registry.metrics()`, which renders every
 * metric at once and joins them. With 1,000 Certificates and 2,000 TLS Secrets
 * a render allocates ~30 MB of short-lived objects and strings for ~1.4 MB of
 * text; held until the join, enough of them outlived a young-generation
 * collection to grow the V8 heap at every scrape. One metric at a time (and a
 * ComputedGauge a chunk of lines at a time), they die young. Prometheus
 * content type only (what the operator serves); any other gets the whole text
 * in one write.
 */
export async function writeMetrics(registry: Registry, write: WriteText): Promise<void> {
  if (registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE) {
    await write(await registry.metrics());
    return;
  }
  let first = true;
  for (const metric of registry.getMetricsAsArray()) {
    if (!first) await write('\n\n');
    first = false;
    if (metric instanceof ComputedGauge) await metric.writeText(write);
    else await write(await registry.getSingleMetricAsString(metric.name));
  }
  await write('\n');
}
