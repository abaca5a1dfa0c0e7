import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, LOOPBACK } from './ports.js';
import { findOnPath, ManagedProcess, waitForPrometheusReady } from './processes.js';

// A real Alertmanager (Debian `prometheus-alertmanager`, API v2) on loopback,
// for the alerting integration tests: no clustering, its own storage
// directory, one route that groups by alertname into a receiver that
// notifies nobody — what matters is what /api/v2/alerts holds.

export const ALERTMANAGER_BINARY = 'prometheus-alertmanager';

/** The binary's absolute path from $PATH; throws saying how to install it. */
export function findAlertmanager(): string {
  return findOnPath(ALERTMANAGER_BINARY, `${ALERTMANAGER_BINARY} is not installed: install the Debian package prometheus-alertmanager (hack/install-deps.sh)`);
}

const CONFIG = `# written by hack/env/alertmanager.ts
route:
  receiver: nobody
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: nobody
`;

export interface AlertmanagerOptions {
  /** Config, storage and log go here. */
  dir: string;
  /** Listen port; default a free one. Pass the old port to restart "the same" Alertmanager. */
  port?: number;
  name?: string;
}

export interface RunningAlertmanager {
  url: string;
  port: number;
  dir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startAlertmanager(o: AlertmanagerOptions): Promise<RunningAlertmanager> {
  const binary = findAlertmanager();
  const port = o.port ?? (await freePort());
  await mkdir(join(o.dir, 'data'), { recursive: true });
  const config = join(o.dir, 'alertmanager.yml');
  await writeFile(config, CONFIG);
  const name = o.name ?? 'alertmanager';
  const process = ManagedProcess.start({
    name,
    command: binary,
    args: [
      `--config.file=${config}`,
      `--storage.path=${join(o.dir, 'data')}`,
      `--web.listen-address=${LOOPBACK}:${port}`,
      '--cluster.listen-address=',
      '--log.level=info',
    ],
    logFile: join(o.dir, `${name}-${port}-${Date.now()}.log`),
  });
  const url = `http://${LOOPBACK}:${port}`;
  await waitForPrometheusReady(process, url, name, 20_000);
  return { url, port, dir: o.dir, process, stop: () => process.stop() };
}
