/**
 * A newcomer's first hour, as the README's "Development environment" section
 * tells it: `bash hack/dev-env.sh up`, `source .dev/env`, run the operator
 * from that shell with nothing else set, create its namespace, apply a
 * TLSPolicy for the environment's own Pebble and a Certificate, and see it
 * Ready. The environment here is a second one of its own (CERTKEEPER_DEV_DIR
 * in a temp dir), so the shared test environment and a developer's .dev stay
 * untouched.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CustomObjectsApi, KubeConfig, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, GROUP, VERSION } from '../../src/api/meta.js';
import type { Certificate } from '../../src/api/certificate.js';
import { freePort } from '../../hack/env/ports.js';
import { pollUntil } from '../../hack/env/poll.js';
import { ManagedProcess } from '../../hack/env/processes.js';
import { REPO_ROOT } from '../../hack/env/tools.js';

const run = promisify(execFile);

let devDir: string;
let sourced: Record<string, string>;

/** What a shell has after `source .dev/env`: the exported variables, nothing inherited from this test. */
async function sourceEnv(envFile: string): Promise<Record<string, string>> {
  const { stdout } = await run('bash', ['-c', 'source "$1" && env -0', 'bash', envFile], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const vars: Record<string, string> = {};
  for (const line of stdout.split('\0')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return vars;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ctrl-C to the whole process group, as a terminal sends it; SIGKILL whatever is left after 10 s. */
async function interruptGroup(pgid: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  process.kill(-pgid, 'SIGINT');
  const deadline = Date.now() + 10_000;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL');
  while (groupAlive(pgid)) await sleep(50);
}

describe("a newcomer's first hour", () => {
  beforeAll(async () => {
    devDir = await mkdtemp(join(tmpdir(), 'certkeeper-first-hour-'));
    await run('bash', [join(REPO_ROOT, 'hack', 'dev-env.sh'), 'up'], { env: { ...process.env, CERTKEEPER_DEV_DIR: devDir }, timeout: 240_000 });
    sourced = await sourceEnv(join(devDir, 'env'));
  });

  afterAll(async () => {
    if (devDir === undefined) return;
    await run('bash', [join(REPO_ROOT, 'hack', 'dev-env.sh'), 'down'], { env: { ...process.env, CERTKEEPER_DEV_DIR: devDir }, timeout: 60_000 });
    await rm(devDir, { recursive: true, force: true });
  });

  it('.dev/env carries every setting the operator needs for the environment’s Pebble', () => {
    expect(sourced.CERTKEEPER_ACME_CA_FILE).toBe(sourced.ACME_CA_FILE);
    expect(sourced.CERTKEEPER_ACME_HTTP01_PORT).toBe(sourced.ACME_HTTP01_PORT);
    expect(sourced.CERTKEEPER_ACME_HTTP01_SELF_CHECK_PORT).toBe(sourced.ACME_HTTP01_PORT);
    expect(sourced.CERTKEEPER_ACME_SELF_CHECK_NAMESERVER).toBe(sourced.CHALLTESTSRV_DNS);
  });

  it('source .dev/env, run the operator, apply a Pebble TLSPolicy and a Certificate: Ready', async () => {
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(sourced.KUBECONFIG ?? '');
    const core = kubeconfig.makeApiClient(CoreV1Api);
    const objects = kubeconfig.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: 'certkeeper' } } });

    // The README's command line, in a shell that sourced .dev/env and nothing else (the port is free rather than 9402).
    const httpPort = await freePort();
    const operator = ManagedProcess.start({
      name: 'first-hour operator',
      command: '/bin/bash',
      args: ['-c', 'source "$1" && exec npx tsx src/main.ts operator --leader-elect=false --http-port "$2"', 'bash', join(devDir, 'env'), String(httpPort)],
      logFile: join(devDir, 'operator.log'),
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
      // Its own process group, so the end can be a terminal's Ctrl-C: npx does not pass SIGTERM on to tsx and node.
      detached: true,
    });
    try {
      await objects.createClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: 'tlspolicies',
        body: {
          apiVersion: API_VERSION,
          kind: 'TLSPolicy',
          metadata: { name: 'pebble' },
          spec: {
            namespaceSelector: {},
            issuer: {
              acme: {
                server: sourced.ACME_DIRECTORY_URL,
                email: 'dev@example.com',
                privateKeySecretRef: { name: 'pebble-account' },
                solvers: [{ http01: { ingress: { ingressClassName: 'nginx' } } }],
              },
            },
          },
        },
      });
      await objects.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'default',
        plural: 'certificates',
        body: { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name: 'hello', namespace: 'default' }, spec: { secretName: 'hello-tls', dnsNames: ['hello.example.test'] } },
      });
      const ready = await pollUntil(
        async ({ observe }) => {
          const c = (await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural: 'certificates', name: 'hello' })) as Certificate;
          const condition = c.status?.conditions?.find((x) => x.type === 'Ready');
          observe({ ready: condition, issuing: c.status?.conditions?.find((x) => x.type === 'Issuing') });
          return condition?.status === 'True' ? condition : undefined;
        },
        {
          description: 'Certificate default/hello Ready=True',
          timeoutMs: 90_000,
          giveUpIf: () => (operator.running ? undefined : new Error(`operator ${operator.describeExit() ?? 'stopped'}:\n${operator.logTail()}`)),
        },
      );
      expect(ready.reason).toBe('Issued');
      const secret = await core.readNamespacedSecret({ namespace: 'default', name: 'hello-tls' });
      expect(Object.keys(secret.data ?? {})).toEqual(expect.arrayContaining(['tls.crt', 'tls.key']));
      const log = await readFile(join(devDir, 'operator.log'), 'utf8');
      expect(log).not.toMatch(/unable to verify the first certificate/);
    } finally {
      await interruptGroup(operator.pid);
    }
  });
});
