import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, LOOPBACK } from './ports.js';
import { findOnPath, ManagedProcess, waitForPrometheusReady } from './processes.js';

// A real Prometheus (Debian `prometheus`) on loopback scraping given targets
// every second, for the tests that evaluate the dashboard's queries: its own
// TSDB directory, no remote anything.

export const PROMETHEUS_BINARY = 'prometheus';

export function findPrometheus(): string {
  return findOnPath(PROMETHEUS_BINARY, `${PROMETHEUS_BINARY} is not installed: install the Debian package prometheus (hack/install-deps.sh)`);
}

export interface PrometheusOptions {
  /** Config, TSDB and log go here. */
  dir: string;
  /** job name -> host:port targets (plain HTTP, /metrics). */
  jobs: Record<string, string[]>;
}

export interface RunningPrometheus {
  url: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startPrometheus(o: PrometheusOptions): Promise<RunningPrometheus> {
  const binary = findPrometheus();
  const port = await freePort();
  await mkdir(join(o.dir, 'data'), { recursive: true });
  const config = join(o.dir, 'prometheus.yml');
  const jobs = Object.entries(o.jobs)
    .map(([job, targets]) => `  - job_name: ${JSON.stringify(job)}\n    static_configs:\n      - targets: ${JSON.stringify(targets)}`)
    .join('\n');
  await writeFile(config, `# written by hack/env/prometheus.ts\nglobal:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${jobs}\n`);
  const process = ManagedProcess.start({
    name: 'prometheus',
    command: binary,
    args: [`--config.file=${config}`, `--storage.tsdb.path=${join(o.dir, 'data')}`, `--web.listen-address=${LOOPBACK}:${port}`, '--log.level=warn'],
    logFile: join(o.dir, `prometheus-${port}.log`),
  });
  const url = `http://${LOOPBACK}:${port}`;
  await waitForPrometheusReady(process, url, 'prometheus', 30_000);
  return { url, process, stop: () => process.stop() };
}

export interface PromSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query; throws with Prometheus's own error text when the query is refused. */
export async function promQuery(url: string, expr: string): Promise<PromSeries[]> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSeries[] } };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error ?? res.status}`);
  return body.data?.result ?? [];
}
