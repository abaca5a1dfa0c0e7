/**
 * vitest globalSetup of the e2e project: one real single-node cluster
 * (hack/cluster.sh up) for the whole run. A cluster that is already up is used
 * as it is and left running; one started here is taken down afterwards unless
 * CERTKEEPER_E2E_KEEP_CLUSTER=1. Anything missing fails the run: nothing skips.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { REPO_ROOT } from '../../hack/env/tools.js';

const CLUSTER_SCRIPT = join(REPO_ROOT, 'hack', 'cluster.sh');
let startedHere = false;

/** Runs hack/cluster.sh with its progress on this process's stderr; resolves with the exit code. */
function cluster(command: 'up' | 'down' | 'status'): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [CLUSTER_SCRIPT, command], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** The `export KEY='value'` lines hack/cluster.sh writes to .dev/env. */
export function parseDevEnv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^export ([A-Z0-9_]+)='([^']*)'$/.exec(line.trim()) ?? /^export ([A-Z0-9_]+)=(\S*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], match[2]);
  }
  return values;
}

function required(values: Map<string, string>, key: string): string {
  const value = values.get(key);
  if (value === undefined || value === '') throw new Error(`.dev/env has no ${key}: is it hack/cluster.sh's (not hack/dev-env.sh's)?`);
  return value;
}

export async function setup(project: TestProject): Promise<void> {
  // up is quick on a running cluster (and writes this checkout's .dev/env if another one started it).
  startedHere = (await cluster('status')) !== 0;
  const code = await cluster('up');
  if (code !== 0) throw new Error(`bash hack/cluster.sh up failed (exit ${code}); its output is above`);
  const values = parseDevEnv(await readFile(join(REPO_ROOT, '.dev', 'env'), 'utf8'));
  if (values.get('CERTKEEPER_CLUSTER') !== '1') throw new Error('.dev/env was not written by hack/cluster.sh');
  project.provide('e2e', {
    kubeconfig: required(values, 'KUBECONFIG'),
    kubectl: required(values, 'KUBECTL_BIN'),
    helm: required(values, 'HELM_BIN'),
    operatorImage: required(values, 'CERTKEEPER_OPERATOR_IMAGE'),
    nginxImage: required(values, 'CERTKEEPER_NGINX_IMAGE'),
    pebbleImage: required(values, 'CERTKEEPER_PEBBLE_IMAGE'),
    acme: {
      directoryUrl: required(values, 'ACME_DIRECTORY_URL'),
      caFile: required(values, 'ACME_CA_FILE'),
      challtestsrvUrl: required(values, 'CHALLTESTSRV_URL'),
      dnsServer: required(values, 'CHALLTESTSRV_DNS'),
    },
  });
}

export async function teardown(): Promise<void> {
  if (!startedHere || process.env.CERTKEEPER_E2E_KEEP_CLUSTER === '1') return;
  const code = await cluster('down');
  if (code !== 0) throw new Error(`bash hack/cluster.sh down failed (exit ${code})`);
}
