import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureTools,
  REPO_ROOT,
  startEnvironment,
  startOperatorProcess,
  type Environment,
  type OperatorProcess,
  type OperatorProcessOptions,
} from '../env/index.js';
import { benchClients, OPERATOR_NAMESPACE, type BenchClients } from './fixtures.js';

// What every bench scenario stands on, set up one way: the compiled operator
// built, an environment in a folder of the scenario's own with crds/ installed
// (startEnvironment's `crds`) and the operator's namespace created, and operators started against it.
// Whatever it started is stopped when the scenario ends (killed, if this
// process exits first); the folder is removed, or kept and named after a
// failure or with --keep-dir.

export interface BenchClusterOptions {
  /** Names the folder: certkeeper-bench-<name>-XXXXXX. */
  name: string;
  /** Run `npm run build` first (the operator runs from dist/). */
  build: boolean;
  /** Also start Pebble and pebble-challtestsrv. */
  acme?: boolean;
  /** kube-apiserver writes an audit log (the bench counts the operator's requests from it). */
  audit?: boolean;
  /** Pebble's Retry-After (seconds; 0: none); the environment's default when absent. */
  pebbleRetryAfter?: { authz: number; order: number };
  keepDir: boolean;
  signal: AbortSignal;
  log: (line: string) => void;
}

export interface BenchOperatorOptions extends Omit<OperatorProcessOptions, 'kubeconfigPath' | 'logFile'> {
  /** Default the admin kubeconfig. */
  kubeconfigPath?: string;
  /** How long it may take to exit on SIGTERM at the end (a profiled operator writes its profile then). */
  stopGraceMs?: number;
}

export interface BenchCluster {
  /** The scenario's folder; the environment is in `<dir>/env`. */
  dir: string;
  env: Environment;
  /** The admin kubeconfig. */
  kubeconfigPath: string;
  clients: BenchClients;
  /** Starts the operator (log in `<dir>/operator.log`, or `operator-<n>.log` after the first). */
  startOperator: (options: BenchOperatorOptions) => Promise<OperatorProcess>;
}

/** `npm run build`, its output on stderr: stdout carries only the report and the JSON. */
export async function buildOperator(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', process.stderr, process.stderr], signal });
    child.on('error', reject);
    child.on('close', (code, sig) => (code === 0 ? resolve() : reject(new Error(`npm run build failed (${sig ?? `exit code ${code}`}); its output is above`))));
  });
}

/** Sets up the cluster, runs `body` on it, and takes everything down again, whatever `body` did. */
export async function withBenchCluster<T>(o: BenchClusterOptions, body: (cluster: BenchCluster) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `certkeeper-bench-${o.name}-`));
  let keepDir = o.keepDir;
  let env: Environment | undefined;
  const operators: { operator: OperatorProcess; stopGraceMs: number | undefined }[] = [];
  let cleanedUp = false;
  // A second Ctrl-C exits at once: no operator may outlive this process (the
  // environment kills its own children the same way), and a person must learn
  // what is left on disk.
  const onExit = (): void => {
    operators.forEach(({ operator }) => operator.process.killNow());
    if (!cleanedUp) process.stderr.write(`[bench] exited before cleaning up: remove ${dir}\n`);
  };
  process.on('exit', onExit);
  try {
    if (o.build) {
      o.log('npm run build');
      await buildOperator(o.signal);
    }
    const tools = await ensureTools();
    const running = await startEnvironment({
      dir: join(dir, 'env'),
      components: { kube: true, acme: o.acme === true },
      audit: o.audit === true,
      ...(o.pebbleRetryAfter === undefined ? {} : { pebbleRetryAfter: o.pebbleRetryAfter }),
      crds: true,
      tools,
      signal: o.signal,
      log: (line) => o.log(`  ${line}`),
    });
    env = running;
    const kubeconfigPath = running.kubeconfigPath;
    if (kubeconfigPath === undefined) throw new Error('the environment started without kube-apiserver');
    o.log(`environment in ${running.dir}: kube-apiserver ${running.versions.kubeApiserver ?? '?'}, etcd ${running.versions.etcd ?? '?'}`);
    const clients = benchClients(kubeconfigPath);
    await clients.core.createNamespace({ body: { metadata: { name: OPERATOR_NAMESPACE } } });
    return await body({
      dir,
      env: running,
      kubeconfigPath,
      clients,
      startOperator: async ({ stopGraceMs, ...options }) => {
        const logFile = join(dir, operators.length === 0 ? 'operator.log' : `operator-${operators.length}.log`);
        const operator = await startOperatorProcess({ kubeconfigPath, namespace: OPERATOR_NAMESPACE, ...options, logFile });
        operators.push({ operator, stopGraceMs });
        return operator;
      },
    });
  } catch (error) {
    if (!o.signal.aborted) keepDir = true;
    throw error;
  } finally {
    for (const { operator, stopGraceMs } of operators.reverse()) await operator.process.stop(stopGraceMs);
    await env?.stop();
    if (keepDir) o.log(`files (logs${o.audit === true ? ', audit.log' : ''}) kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
    cleanedUp = true;
    process.off('exit', onExit);
  }
}
