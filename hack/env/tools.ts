import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute paths of the binaries the environment runs. */
export interface ToolPaths {
  etcd: string;
  kubeApiserver: string;
  pebble: string;
  challtestsrv: string;
  helm: string;
}

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_SCRIPT = join(REPO_ROOT, 'hack', 'build-tools.sh');

const KEYS = {
  ETCD_BIN: 'etcd',
  KUBE_APISERVER_BIN: 'kubeApiserver',
  PEBBLE_BIN: 'pebble',
  CHALLTESTSRV_BIN: 'challtestsrv',
  HELM_BIN: 'helm',
} as const satisfies Record<string, keyof ToolPaths>;

function parseToolPaths(stdout: string): ToolPaths {
  const found: Partial<ToolPaths> = {};
  for (const line of stdout.split('\n')) {
    const match = /^([A-Z_]+)=(.+)$/.exec(line.trim());
    if (match === null) continue;
    const key = match[1] as keyof typeof KEYS;
    if (key in KEYS && match[2] !== undefined) found[KEYS[key]] = match[2];
  }
  const { etcd, kubeApiserver, pebble, challtestsrv, helm } = found;
  if (
    etcd === undefined ||
    kubeApiserver === undefined ||
    pebble === undefined ||
    challtestsrv === undefined ||
    helm === undefined
  ) {
    throw new Error(`hack/build-tools.sh did not print every binary path; it printed:\n${stdout}`);
  }
  return { etcd, kubeApiserver, pebble, challtestsrv, helm };
}

/**
 * Runs hack/build-tools.sh: builds the pinned binaries on first use (minutes),
 * answers from the cache afterwards (milliseconds). Its progress goes straight
 * to this process's stderr so a person sees the long first build moving.
 */
export function ensureTools(): Promise<ToolPaths> {
  return new Promise((resolvePaths, reject) => {
    const child = spawn('bash', [BUILD_SCRIPT], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`hack/build-tools.sh failed (${signal ?? `exit code ${code}`}); its output is above`));
        return;
      }
      try {
        resolvePaths(parseToolPaths(stdout));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
}

/**
 * Runs one of the first-use installers (hack/install-node-pq.sh,
 * install-sslyze.sh, install-testssl.sh) and returns the path it prints last.
 * A failure to install throws: the test that needed the tool fails, never skips.
 */
export async function installedTool(script: string): Promise<string> {
  const stdout = await new Promise<string>((resolvePath, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'hack', script)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolvePath(out) : reject(new Error(`hack/${script} exited with ${code ?? 'a signal'}`))));
  });
  const path = stdout.trim().split('\n').pop();
  if (path === undefined || path === '') throw new Error(`hack/${script} printed no path`);
  return path;
}
