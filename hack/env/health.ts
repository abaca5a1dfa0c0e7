import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveA } from './acme.js';
import { pkiPaths } from './certificates.js';
import { adminTls } from './control-plane.js';
import type { EnvironmentInfo } from './environment.js';
import { httpFetch } from './http.js';
import { LOOPBACK } from './ports.js';
import { isRecordedProcessRunning } from './processes.js';

export interface HealthCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface HealthReport {
  processes: { name: string; pid: number; running: boolean }[];
  checks: HealthCheck[];
  healthy: boolean;
}

async function check(name: string, probe: () => Promise<string>): Promise<HealthCheck> {
  try {
    return { name, ok: true, detail: await probe() };
  } catch (error) {
    return { name, ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

/** Whether each recorded process still runs and each server answers. */
export async function checkEnvironment(info: EnvironmentInfo): Promise<HealthReport> {
  const processes = info.processes.map((record) => ({
    name: record.name,
    pid: record.pid,
    running: isRecordedProcessRunning(record),
  }));
  const checks: Promise<HealthCheck>[] = [];
  const { apiserverUrl, acme } = info;
  if (apiserverUrl !== undefined) {
    checks.push(
      check('kube-apiserver /readyz', async () => {
        const tls = await adminTls(pkiPaths(dirname(info.caPath)));
        const response = await httpFetch(`${apiserverUrl}/readyz`, { tls, timeoutMs: 3_000 });
        if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${response.body.slice(0, 200)}`);
        return `${apiserverUrl} ready (${info.versions.kubeApiserver ?? 'version unknown'})`;
      }),
    );
  }
  if (acme !== undefined) {
    checks.push(
      check('Pebble directory', async () => {
        const ca = await readFile(acme.serverCaPath, 'utf8');
        const response = await httpFetch(acme.directoryUrl, { tls: { ca }, timeoutMs: 3_000 });
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        return `${acme.directoryUrl} answers`;
      }),
      check('challtestsrv DNS', async () => {
        const answers = await resolveA(acme.dnsServer, 'status.certkeeper.test');
        if (!answers.includes(LOOPBACK)) throw new Error(`A answers ${answers.join(', ')}`);
        return `${acme.dnsServer} answers A ${LOOPBACK}`;
      }),
    );
  }
  const results = await Promise.all(checks);
  return {
    processes,
    checks: results,
    healthy: processes.every((p) => p.running) && results.every((c) => c.ok),
  };
}
