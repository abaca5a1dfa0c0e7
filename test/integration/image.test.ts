import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, createWriteStream, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OPERATOR_ENV, OPERATOR_NODE_FLAGS, waitForOperatorReady, type OperatorProcess } from '../../hack/env/operator.js';
import { freePort, LOOPBACK } from '../../hack/env/ports.js';
import { findOnPath, logTail, ManagedProcess } from '../../hack/env/processes.js';
import { REPO_ROOT } from '../../hack/env/tools.js';
import {
  createCaSecret,
  createCertificate,
  deletePolicy,
  createPolicy,
  ensureOperatorNamespace,
  OPERATOR_NAMESPACE,
  readSecret,
  secretText,
  uniqueSuffix,
  waitForCondition,
} from '../support/certkeeper.js';
import { createTestNamespace } from '../support/kube.js';

// The operator image, built from the Dockerfile by hack/build-image.sh with
// buildah (no Docker engine, no registry), then run with `buildah run`: as its
// own non-root user, and as the operator against the shared API server over
// the host network. Missing buildah or debootstrap fails the file.

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };

function onPath(tool: string): string {
  return findOnPath(tool, `${tool} is missing: the image test builds and runs the image with it (bash hack/install-deps.sh installs it)`);
}

interface Built {
  image: string;
  size: string;
  /** buildah's storage.conf the script used: every buildah call here must use the same storage. */
  storageConf: string;
}

let built: Built | undefined;
/** Why beforeAll could not build: every test fails with it, none is reported as skipped. */
let buildError: unknown;
let buildahBin = '';
const containers: string[] = [];

function image(): Built {
  if (built === undefined) throw buildError instanceof Error ? buildError : new Error('the image was not built');
  return built;
}

async function buildah(...args: string[]): Promise<string> {
  const { stdout } = await run(buildahBin, args, { env: { ...process.env, CONTAINERS_STORAGE_CONF: image().storageConf }, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** A working container of the image, removed in afterAll whatever happens. */
async function container(): Promise<string> {
  const name = `certkeeper-it-${uniqueSuffix()}`;
  await buildah('from', '--pull=never', '--name', name, image().image);
  containers.push(name);
  return name;
}

/** Runs a command in the container as the image's user (chroot isolation: no OCI runtime needed). */
async function inContainer(name: string, ...command: string[]): Promise<string> {
  return (await buildah('run', '--isolation', 'chroot', name, '--', ...command)).trim();
}

beforeAll(async () => {
  try {
    built = await buildImage();
  } catch (error) {
    buildError = error;
  }
}, 40 * 60_000);

async function buildImage(): Promise<Built> {
  buildahBin = onPath('buildah');
  onPath('debootstrap');
  const logFile = join(inject('envDir'), 'image-build.log');
  const started = Date.now();
  const output: string[] = [];
  const log = createWriteStream(logFile);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'hack', 'build-image.sh')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        output.push(chunk.toString('utf8'));
        log.write(chunk);
      });
    }
    child.once('error', reject);
    child.once('close', resolve);
  });
  await new Promise((resolve) => log.end(resolve));
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const text = output.join('');
  if (code !== 0) throw new Error(`hack/build-image.sh exited with ${code} after ${seconds} s:\n${logTail(logFile, 40)}`);
  const imageLine = /\[build-image\] image: (\S+) {2}size: (.+)$/m.exec(text);
  const storageLine = /export CONTAINERS_STORAGE_CONF=(\S+)$/m.exec(text);
  if (imageLine?.[1] === undefined || imageLine[2] === undefined || storageLine?.[1] === undefined) {
    throw new Error(`hack/build-image.sh did not report the image, its size and its storage:\n${logTail(logFile, 20)}`);
  }
  const result = { image: imageLine[1], size: imageLine[2], storageConf: storageLine[1] };
  const timings = /\[build-image\] timings\n((?: {2}.*\n)+)/.exec(text)?.[1] ?? '';
  process.stderr.write(`[image] hack/build-image.sh took ${seconds} s (log: ${logFile})\n${timings}[image] ${result.image}: ${result.size}\n`);
  return result;
}

afterAll(async () => {
  if (built === undefined) return;
  for (const name of containers) await buildah('rm', name);
  const left = (await buildah('containers', '--format', '{{.ContainerName}}')).split('\n');
  expect(left.filter((name) => containers.includes(name))).toEqual([]);
});

describe('the operator image', () => {
  it('is configured to run certkeeper operator as UID 65532, with its OCI labels', async () => {
    // buildah 1.28's --format has no json function: the whole inspect document instead.
    const inspected = JSON.parse(await buildah('inspect', '--type', 'image', image().image)) as {
      OCIv1?: { config?: { User?: string; Entrypoint?: string[]; Cmd?: string[]; Env?: string[]; Labels?: Record<string, string> } };
    };
    const config = inspected.OCIv1?.config ?? {};
    expect(config.User).toBe('65532:65532');
    // The flags the bench measures the operator with (hack/env/operator.ts) are the ones that ship.
    expect(config.Entrypoint).toEqual(['/usr/local/bin/node', ...OPERATOR_NODE_FLAGS, '/app/bin/certkeeper.js']);
    // And the environment it measures with (one malloc arena).
    expect(config.Env).toEqual(expect.arrayContaining(Object.entries(OPERATOR_ENV).map(([name, value]) => `${name}=${value}`)));
    expect(config.Cmd).toEqual(['operator']);
    const revision = (await run('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT })).stdout.trim();
    expect(config.Labels).toMatchObject({
      'org.opencontainers.image.title': 'certkeeper',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.revision': revision,
    });
    expect(config.Labels?.['org.opencontainers.image.description']).toMatch(/certificate/);
  });

  it('runs certkeeper --version as its non-root user, and ships neither npm nor dev dependencies', async () => {
    const name = await container();
    expect(await inContainer(name, 'id', '-u')).toBe('65532');
    expect(await inContainer(name, 'id', '-un')).toBe('certkeeper');
    // Both ways in: the certkeeper command on PATH, and the image's entry point.
    expect(await inContainer(name, 'certkeeper', '--version')).toBe(`certkeeper ${pkg.version}`);
    expect(await inContainer(name, '/usr/local/bin/node', '/app/bin/certkeeper.js', '--version')).toBe(`certkeeper ${pkg.version}`);
    expect(await inContainer(name, 'sh', '-c', 'command -v npm npx || echo none')).toBe('none');
    // The bundle holds every dependency it uses: no node_modules, so no build tool either.
    expect(await inContainer(name, 'sh', '-c', 'test -e /app/node_modules && echo present || echo absent')).toBe('absent');
    // Root owns the code: the operator's user cannot change what it runs.
    expect(await inContainer(name, 'sh', '-c', 'test -w /app/dist/main.js && echo writable || echo read-only')).toBe('read-only');
  });

  it('certkeeper operator inside the image reconciles a CA Certificate to Ready against the API server', async () => {
    const target = image();
    const suffix = uniqueSuffix();
    const caSecret = `it-image-ca-${suffix}`;
    const policy = `it-image-${suffix}`;
    await ensureOperatorNamespace();
    await createCaSecret(caSecret);
    await createPolicy(policy, { issuer: { ca: { secretName: caSecret } } });
    const ns = await createTestNamespace('image');

    // The kubeconfig readable by the container's user only, mounted read-only.
    const kubeDir = mkdtempSync(join(inject('envDir'), 'image-kube-'));
    chmodSync(kubeDir, 0o755);
    copyFileSync(inject('kubeconfigPath'), join(kubeDir, 'config'));
    chownSync(join(kubeDir, 'config'), 65532, 65532);
    chmodSync(join(kubeDir, 'config'), 0o400);

    const name = await container();
    const httpPort = await freePort();
    const identity = `image-${suffix}`;
    const logFile = join(inject('envDir'), `operator-image-${suffix}.log`);
    const started = ManagedProcess.start({
      name: `operator in ${target.image}`,
      command: buildahBin,
      args: [
        'run', '--isolation', 'chroot', '--network', 'host',
        '--volume', `${kubeDir}:/kube:ro`, '--env', 'KUBECONFIG=/kube/config',
        name, '--',
        '/usr/local/bin/node', ...OPERATOR_NODE_FLAGS, '/app/bin/certkeeper.js', 'operator',
        '--http-host', LOOPBACK, '--http-port', String(httpPort),
        '--leader-elect', 'false', '--identity', identity,
        '--namespace', OPERATOR_NAMESPACE, '--log-level', 'debug',
      ],
      logFile,
      env: { CONTAINERS_STORAGE_CONF: target.storageConf },
      // Its own process group: stopping it signals buildah and the operator it runs.
      detached: true,
    });
    const op: OperatorProcess = { process: started, httpPort, url: `http://${LOOPBACK}:${httpPort}`, identity };
    try {
      await waitForOperatorReady(op, 60_000);
      await createCertificate(ns.name, 'from-image', {
        secretName: 'from-image-tls',
        dnsNames: ['from-image.example.com'],
        privateKey: { algorithm: 'ECDSA', encoding: 'PKCS8', rotationPolicy: 'Always' },
        policyRef: { name: policy },
      });
      await waitForCondition(ns.name, 'from-image', { status: 'True' }, 60_000);
      const leaf = new X509Certificate(secretText(await readSecret(ns.name, 'from-image-tls'), 'tls.crt'));
      expect(leaf.subjectAltName).toContain('DNS:from-image.example.com');
      const log = readFileSync(logFile, 'utf8');
      expect(log).toContain('"msg":"issuing"');
      expect(log).toContain('KUBECONFIG=/kube/config');
      // No refusal by RBAC (403s for namespaces that other test files left terminating are not that).
      expect(log).not.toMatch(/forbidden: User .{1,200}? cannot [a-z]+ resource/);
    } finally {
      await stopContainer(started, identity).finally(() => deletePolicy(policy));
    }
    // SIGTERM is a clean shutdown for the operator, and buildah passes its exit status on.
    expect(started.describeExit()).toBe('exited with code 0');
    expect(processesNaming(identity)).toEqual([]);
  });
});

/**
 * Stops the container the way a kubelet does: SIGTERM to the operator itself.
 * buildah does not forward SIGTERM (killed, it kills its runtime and orphans
 * the container's processes), but it exits with the status of the process it
 * ran. SIGKILL to the whole process group if the operator is not gone in 15 s.
 */
async function stopContainer(p: ManagedProcess, marker: string): Promise<void> {
  if (!p.running) return;
  const operatorPid = processesNaming(marker).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/local/bin/node\0'));
  if (operatorPid !== undefined) process.kill(operatorPid, 'SIGTERM');
  const outcome = await Promise.race([p.exited, sleep(15_000).then(() => 'timeout' as const)]);
  if (p.running) {
    process.kill(-p.pid, 'SIGKILL');
    await p.exited;
  }
  if (operatorPid === undefined || outcome === 'timeout') throw new Error(`the operator in the container did not stop on SIGTERM:\n${p.logTail()}`);
}

/** Pids of live processes whose command line names `marker` (the operator's identity): none may outlive the stop. */
function processesNaming(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker)) found.push(Number(entry));
    } catch {
      // ended while we looked
    }
  }
  return found;
}
