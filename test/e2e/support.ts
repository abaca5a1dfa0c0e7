/**
 * Helpers for e2e tests against the real cluster of hack/cluster.sh: kubectl
 * and helm as a person would run them, waits that say what they saw last,
 * and a namespace per test whose deletion must complete (a controller-manager
 * runs here, so nothing stays Terminating).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inject, onTestFinished } from 'vitest';
import { REPO_ROOT } from '../../hack/env/tools.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: REPO_ROOT, env: { ...process.env, KUBECONFIG: inject('e2e').kubeconfig, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') {
          reject(new Error(`${command} could not run: ${error.message}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

async function ok(command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await run(command, args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

export const kubectl = (...args: string[]): Promise<string> => ok(inject('e2e').kubectl, args);
export const kubectlApply = (yaml: string, namespace?: string): Promise<string> =>
  ok(inject('e2e').kubectl, ['apply', ...(namespace === undefined ? [] : ['-n', namespace]), '-f', '-'], yaml);
export const helm = (...args: string[]): Promise<string> => ok(inject('e2e').helm, args);
/** The project's CLI, run from the source as a developer would (`npx tsx src/main.ts ...`). */
export const certkeeper = (...args: string[]): Promise<string> => ok(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [join(REPO_ROOT, 'src', 'main.ts'), ...args]);

export async function kubectlJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(...args, '-o', 'json')) as T;
}

/** Reads an object, or undefined when it does not exist. */
export async function getJson<T>(...args: string[]): Promise<T | undefined> {
  const result = await run(inject('e2e').kubectl, ['get', ...args, '-o', 'json', '--ignore-not-found']);
  if (result.code !== 0) throw new Error(`kubectl get ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout.trim() === '' ? undefined : (JSON.parse(result.stdout) as T);
}

/**
 * Polls `check` until it returns a value; `check` returns undefined (or
 * throws) while the awaited state is not there yet. The timeout is only a
 * bound on a hang: the failure names what was awaited and what was seen last.
 */
export async function waitFor<T>(description: string, check: () => Promise<T | undefined>, timeoutMs = 180_000, intervalMs = 1_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing yet';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${description} after ${timeoutMs / 1000}s; last error: ${last}`);
    await sleep(intervalMs);
  }
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface CertificateObject {
  metadata: { name: string; namespace: string; generation?: number };
  status?: { conditions?: Condition[]; revision?: number; fingerprintSHA256?: string; serialNumber?: string };
}

export function condition(obj: { status?: { conditions?: Condition[] } } | undefined, type: string): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the Certificate's condition `type` has `status` (and `reason`, when given); returns the Certificate. */
export function waitForCondition(namespace: string, name: string, type: string, status: string, reason?: string, timeoutMs?: number): Promise<CertificateObject> {
  return waitFor(
    `Certificate ${namespace}/${name} ${type}=${status}${reason === undefined ? '' : ` (${reason})`}`,
    async () => {
      const cert = await kubectlJson<CertificateObject>('get', 'certificates.certkeeper.dev', name, '-n', namespace);
      const c = condition(cert, type);
      if (c?.status === status && (reason === undefined || c.reason === reason)) return cert;
      throw new Error(`${type} is ${c === undefined ? 'absent' : `${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`}`);
    },
    timeoutMs,
  );
}

export interface TestNamespace {
  name: string;
}

/**
 * A namespace of its own for one test, deleted when the test finishes; the
 * test fails if the deletion does not complete (the namespace controller and
 * the garbage collector run in this cluster).
 */
export async function createNamespace(prefix: string, labels: Record<string, string> = {}): Promise<TestNamespace> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectlApply(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'certkeeper.dev/test': 'true', ...labels } } }));
  onTestFinished(async () => {
    await kubectl('delete', 'namespace', name, '--wait=false');
    await waitFor(`namespace ${name} to be deleted`, async () => ((await getJson('namespace', name)) === undefined ? true : undefined), 120_000);
  });
  return { name };
}

/** A throwaway CA (EC P-256), made with openssl; the key stays in a temp dir removed at once. */
export async function makeCa(commonName: string): Promise<{ cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-e2e-ca-'));
  try {
    const keyPath = join(dir, 'ca.key');
    const certPath = join(dir, 'ca.crt');
    await ok('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyPath, '-out', certPath, '-subj', `/CN=${commonName}`, '-days', '30',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface PodObject {
  metadata: { name: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: {
    volumes?: { name: string; secret?: unknown; projected?: unknown; hostPath?: unknown }[];
    containers: { args?: string[]; env?: { name: string }[]; volumeMounts?: { mountPath: string }[] }[];
  };
  status: { phase?: string; podIP?: string; conditions?: Condition[]; containerStatuses?: { ready: boolean; restartCount: number }[] };
}

export function podReady(pod: PodObject): boolean {
  return pod.metadata.deletionTimestamp === undefined && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

export async function pods(namespace: string, selector: string): Promise<PodObject[]> {
  return (await kubectlJson<{ items: PodObject[] }>('get', 'pods', '-n', namespace, '-l', selector)).items;
}

/** Waits until exactly `count` pods match and all are Ready; returns them. */
export function waitForReadyPods(namespace: string, selector: string, count: number, timeoutMs = 240_000): Promise<PodObject[]> {
  return waitFor(
    `${count} Ready pods ${selector} in ${namespace}`,
    async () => {
      const list = await pods(namespace, selector);
      const ready = list.filter(podReady);
      if (ready.length === count && list.length === count) return ready;
      throw new Error(`${ready.length} of ${list.length} Ready: ${list.map((p) => `${p.metadata.name}=${p.status.phase ?? '?'}`).join(', ')}`);
    },
    timeoutMs,
  );
}
