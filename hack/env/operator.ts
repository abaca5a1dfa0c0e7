import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, LOOPBACK } from './ports.js';
import { pollUntil, PollTimeoutError } from './poll.js';
import { ManagedProcess, stopOnFailure } from './processes.js';
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
  /** Run the bundle through bin/certkeeper.js with OPERATOR_NODE_FLAGS and OPERATOR_ENV (after `npm run build`), as the image does, instead of the TypeScript sources: for the bench and the demo. */
  compiled?: boolean;
  /** With compiled: node flags instead of OPERATOR_NODE_FLAGS (the bench's --node-flags, to measure others). */
  nodeFlags?: readonly string[];
  /** With compiled: the image's environment instead of OPERATOR_ENV (the bench's --operator-env); `env` still applies on top. */
  imageEnv?: Readonly<Record<string, string>>;
  env?: Record<string, string>;
  /**
   * Who may read /metrics and /inventory: 'none' here by default (tests,
   * the demo and the bench read them from loopback as the admin would);
   * 'kubernetes' is the operator's own default (TokenReview +
   * SubjectAccessReview), what the chart runs and its own test proves.
   */
  httpAuth?: 'kubernetes' | 'none';
  /**
   * What start waits for: 'healthy' (default) until /healthz answers 200;
   * 'listening' until the HTTP server answers at all, for an operator that is
   * expected to be unhealthy (the RBAC test's operators without a permission).
   */
  waitUntil?: 'healthy' | 'listening';
}

/**
 * The node flags the image's entry point runs the operator with (the Dockerfile's
 * ENTRYPOINT; test/integration/image.test.ts holds the two equal), so the
 * bench measures what ships. 2 MB semi-spaces instead of V8's 16 MB, and the
 * old generation grown by 30 % after each full collection instead of V8's
 * adaptive factor (up to 4x): about 60 MB less peak RSS issuing 1,000
 * Certificates, for more frequent collections (figures and CPU cost in the
 * README's Benchmark).
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=30'];

/**
 * The environment the image sets for the operator (the Dockerfile's ENV; the
 * image test holds the two equal), so the bench measures what ships. One glibc
 * malloc arena for all threads: by default each of node's threads that
 * allocates (V8's compiler and GC workers, libuv's pool signing and generating
 * keys) gets an arena of its own, and each kept 3-5 MB of freed memory it
 * never handed back (gdb's malloc_stats: 17 MB held, 0.8 MB in use, in four
 * of them). With one arena the freed memory is reused by whichever thread
 * allocates next: peak RSS 139.2-152.7 MB (median 148.9, 10 runs) instead of
 * 147.1-160.8 (median 154.9, 6 runs) in the issue's memory scenario, at the
 * same CPU per issuance (README, Benchmark).
 */
export const OPERATOR_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/** Where the operator keeps its CA Secrets and Lease unless told otherwise: the chart's namespace. */
export const OPERATOR_NAMESPACE = 'certkeeper';

/** How long the operator may take to answer /healthz after its start. */
const START_TIMEOUT_MS = 30_000;

/** Where an ACME server on this machine expects the operator, and what it must trust. */
export interface LocalAcme {
  /** The port the CA's validator connects to for HTTP-01. */
  http01Port: number;
  /** Trust for the ACME server's HTTPS (PEM file). */
  caFile: string;
  /** host:port the names resolve through, for the CA and the self-check alike. */
  nameserver: string;
}

/**
 * The operator's settings for an ACME server on this machine: its HTTP-01
 * responder on the port the validator connects to, the CA's HTTPS trusted,
 * the self-check resolving through the same nameserver and connecting to
 * that same port (no ingress controller stands in front of it here).
 */
export function localAcmeEnv(acme: LocalAcme): Record<string, string> {
  return {
    CERTKEEPER_ACME_HTTP01_PORT: String(acme.http01Port),
    CERTKEEPER_ACME_CA_FILE: acme.caFile,
    CERTKEEPER_ACME_SELF_CHECK_NAMESERVER: acme.nameserver,
    CERTKEEPER_ACME_HTTP01_SELF_CHECK_PORT: String(acme.http01Port),
  };
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
  const entry = o.compiled === true ? [...(o.nodeFlags ?? OPERATOR_NODE_FLAGS), join(REPO_ROOT, 'bin', 'certkeeper.js')] : ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts')];
  if (o.compiled === true && !existsSync(join(REPO_ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run npm run build first');
  const args = [
    ...entry,
    'operator',
    '--kubeconfig', o.kubeconfigPath,
    '--http-host', LOOPBACK,
    '--http-port', String(httpPort),
    '--leader-elect', String(o.leaderElect ?? true),
    '--identity', identity,
    '--namespace', o.namespace ?? OPERATOR_NAMESPACE,
    '--workers', String(o.workers ?? 4),
    '--log-level', o.logLevel ?? 'info',
    '--http-auth', o.httpAuth ?? 'none',
  ];
  const env = o.compiled === true ? { ...(o.imageEnv ?? OPERATOR_ENV), ...o.env } : (o.env ?? {});
  const process = ManagedProcess.start({ name: `operator ${identity}`, command: globalThis.process.execPath, args, logFile: o.logFile, cwd: REPO_ROOT, env });
  const url = `http://${LOOPBACK}:${httpPort}`;
  const op = { process, httpPort, url, identity };
  // Up means the health endpoint answers; readiness (leading + synced) is the caller's to wait for.
  await stopOnFailure(process, () =>
    waitForOperator(op, '/healthz', (res) => res.ok || o.waitUntil === 'listening', 'during start', START_TIMEOUT_MS),
  );
  return op;
}

/** Polls one of the operator's endpoints until `accept` takes the answer; fails with its log tail when it dies or time runs out. */
async function waitForOperator(op: OperatorProcess, path: string, accept: (res: Response) => boolean, when: string, timeoutMs: number): Promise<void> {
  const description = `operator ${op.identity} ${path} to answer`;
  try {
    await pollUntil(
      async ({ observe }) => {
        const res = await fetch(`${op.url}${path}`);
        observe(`HTTP ${res.status}`);
        return accept(res) ? true : undefined;
      },
      {
        description,
        timeoutMs,
        giveUpIf: () => (op.process.running ? undefined : new Error(`operator ${op.identity} ${op.process.describeExit() ?? 'stopped'} ${when}:\n${op.process.logTail()}`)),
      },
    );
  } catch (error) {
    if (error instanceof PollTimeoutError) throw new Error(`${error.message}\n${op.process.logTail()}`, { cause: error });
    throw error;
  }
}

/** Waits until the operator reports ready: it leads and its caches are synced. */
export function waitForOperatorReady(op: OperatorProcess, timeoutMs = 30_000): Promise<void> {
  return waitForOperator(op, '/readyz', (res) => res.ok, 'before it was ready', timeoutMs);
}
