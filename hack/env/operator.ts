import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, LOOPBACK } from './ports.js';
import { ManagedProcess } from './processes.js';
import { REPO_ROOT } from './tools.js';

// The operator as a real process against the environment's API server, the
// way it runs in a cluster: the demo, the bench and the integration tests that
// kill it (SIGKILL, leader hand-over) all start it through here.

export interface OperatorProcessOptions {
  kubeconfigPath: string;
  logFile: string;
  /** Lease holder identity; default "operator-<port>". */
  identity?: string;
  leaderElect?: boolean;
  /** Operator namespace (CA Secrets, Lease). */
  namespace?: string;
  workers?: number;
  logLevel?: string;
  /** Run dist/main.js (after `npm run build`) instead of the TypeScript sources: smaller and faster, for the bench. */
  compiled?: boolean;
  env?: Record<string, string>;
  /**
   * What start waits for: 'healthy' (default) until /healthz answers 200;
   * 'listening' until the HTTP server answers at all, for an operator that is
   * expected to be unhealthy (the RBAC test's operators without a permission).
   */
  waitUntil?: 'healthy' | 'listening';
}

export interface OperatorProcess {
  process: ManagedProcess;
  httpPort: number;
  url: string;
  identity: string;
}

export async function startOperatorProcess(o: OperatorProcessOptions): Promise<OperatorProcess> {
  const httpPort = await freePort();
  const identity = o.identity ?? `operator-${httpPort}`;
  const entry = o.compiled === true ? [join(REPO_ROOT, 'dist', 'main.js')] : ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')];
  if (o.compiled === true && !existsSync(join(REPO_ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run npm run build first');
  const args = [
    ...entry,
    'operator',
    '--kubeconfig', o.kubeconfigPath,
    '--http-host', LOOPBACK,
    '--http-port', String(httpPort),
    '--leader-elect', String(o.leaderElect ?? true),
    '--identity', identity,
    '--namespace', o.namespace ?? 'certkeeper',
    '--workers', String(o.workers ?? 4),
    '--log-level', o.logLevel ?? 'info',
  ];
  const process = ManagedProcess.start({ name: `operator ${identity}`, command: globalThis.process.execPath, args, logFile: o.logFile, cwd: REPO_ROOT, env: o.env ?? {} });
  const url = `http://${LOOPBACK}:${httpPort}`;
  // Up means the health endpoint answers; readiness (leading + synced) is the caller's to wait for.
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (!process.running) throw new Error(`operator ${identity} ${process.describeExit() ?? 'stopped'} during start:\n${process.logTail()}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok || o.waitUntil === 'listening') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await process.stop();
      throw new Error(`operator ${identity} did not answer /healthz within 30 s:\n${process.logTail()}`);
    }
    await sleep(100);
  }
  return { process, httpPort, url, identity };
}

/** Waits until the operator reports ready: it leads and its caches are synced. */
export async function waitForOperatorReady(op: OperatorProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!op.process.running) throw new Error(`operator ${op.identity} ${op.process.describeExit() ?? 'stopped'}:\n${op.process.logTail()}`);
    const res = await fetch(`${op.url}/readyz`).catch(() => undefined);
    if (res?.ok === true) return;
    if (Date.now() > deadline) throw new Error(`operator ${op.identity} not ready within ${timeoutMs} ms:\n${op.process.logTail()}`);
    await sleep(100);
  }
}
