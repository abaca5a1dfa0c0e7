/**
 * `hack/dev-env.sh up|down|status`: the local test environment for a
 * developer at a shell, detached so it outlives the command.
 */
import { relative } from 'node:path';
import {
  clearDevState,
  devPaths,
  readDevState,
  readStarting,
  recordStarting,
  withDevLock,
  writeDevState,
  type DevPaths,
} from './dev-state.js';
import { attachEnvironment, describeEnvironment, startEnvironment, type EnvironmentInfo } from './environment.js';
import { checkEnvironment } from './health.js';
import { isRecordedProcessRunning, stopRecordedProcess, type ProcessRecord } from './processes.js';
import { ensureTools } from './tools.js';

const USAGE = `usage: hack/dev-env.sh <command>

  up       build the tools if needed, start etcd + kube-apiserver + Pebble +
           pebble-challtestsrv in the background, install crds/, write .dev/env
  down     stop exactly the processes 'up' started and remove .dev state
  status   what runs, and whether kube-apiserver, Pebble and DNS answer
`;

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function progress(line: string): void {
  process.stderr.write(`[dev-env] ${line}\n`);
}

function shown(path: string): string {
  const rel = relative(process.env.CERTKEEPER_CALLER_CWD ?? process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

function printUsage(paths: DevPaths, info: EnvironmentInfo): void {
  const env = shown(paths.envFile);
  say('Use it:');
  say(`  source ${env}`);
  if (info.kubeconfigPath !== undefined) {
    say(`  kubectl --kubeconfig ${shown(info.kubeconfigPath)} get crds      # KUBECONFIG is exported by ${env} too`);
  }
  if (info.acme !== undefined) {
    say('  curl --cacert "$ACME_CA_FILE" "$ACME_DIRECTORY_URL"');
    say(`  HTTP-01 solver port for Pebble: $ACME_HTTP01_PORT (${info.acme.httpChallengePort})`);
    say('  npx tsx src/main.ts operator --leader-elect=false    # reads CERTKEEPER_ACME_* for this Pebble from the same file');
  }
  say(`Logs: ${shown(info.dir)}/*.log    Stop: bash hack/dev-env.sh down`);
}

function summary(info: EnvironmentInfo): void {
  const { versions } = info;
  if (info.apiserverUrl !== undefined) {
    say(`  kube-apiserver ${versions.kubeApiserver ?? '?'}  ${info.apiserverUrl}  (etcd ${versions.etcd ?? '?'})`);
  }
  if (info.acme !== undefined) {
    say(`  pebble ${versions.pebble ?? '?'}          ${info.acme.directoryUrl}`);
    say(`  challtestsrv DNS      ${info.acme.dnsServer}  management ${info.acme.challtestsrvUrl}`);
  }
}

/** Stops what an `up` that died half-way (killed, terminal closed) had started. */
async function stopLeftovers(paths: DevPaths): Promise<number> {
  const leftovers = readStarting(paths).filter(isRecordedProcessRunning);
  if (leftovers.length === 0) return 0;
  progress(`stopping what an interrupted 'up' left running: ${leftovers.map((r) => `${r.name} (pid ${r.pid})`).join(', ')}`);
  for (const record of [...leftovers].reverse()) await stopRecordedProcess(record);
  return leftovers.length;
}

async function up(paths: DevPaths): Promise<number> {
  if ((await readDevState(paths)) === undefined) {
    await stopLeftovers(paths);
    await clearDevState(paths);
  }
  const existing = await readDevState(paths);
  if (existing !== undefined) {
    const dead = existing.processes.filter((record) => !isRecordedProcessRunning(record));
    if (dead.length === 0) {
      say(`certkeeper dev environment is already up (${shown(paths.envFile)}):`);
      summary(existing);
      printUsage(paths, existing);
      return 0;
    }
    progress(`found a broken environment (${dead.map((r) => r.name).join(', ')} not running): replacing it`);
    await attachEnvironment(existing).stop();
    await clearDevState(paths);
  }

  const tools = await ensureTools();
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  signals.forEach((name) => process.once(name, interrupt));
  const records: ProcessRecord[] = [];
  const startedAt = Date.now();
  try {
    const env = await startEnvironment({
      dir: paths.clusterDir,
      tools,
      detached: true,
      crds: true,
      log: progress,
      signal: controller.signal,
      onProcessStarted: (record) => {
        records.push(record);
        recordStarting(paths, records);
      },
    });
    try {
      await writeDevState(paths, env, describeEnvironment(env));
    } catch (error) {
      await env.stop();
      await clearDevState(paths);
      throw error;
    }
    say(`certkeeper dev environment is up (${((Date.now() - startedAt) / 1000).toFixed(1)}s):`);
    summary(env);
    printUsage(paths, env);
    return 0;
  } catch (error) {
    // startEnvironment stopped its processes; make sure, then forget them.
    await stopLeftovers(paths);
    await clearDevState(paths);
    throw error;
  } finally {
    signals.forEach((name) => process.off(name, interrupt));
  }
}

async function down(paths: DevPaths): Promise<number> {
  const info = await readDevState(paths);
  if (info === undefined) {
    const stopped = await stopLeftovers(paths);
    await clearDevState(paths);
    say(stopped > 0 ? 'certkeeper dev environment is down' : 'certkeeper dev environment is not running (no .dev state)');
    return 0;
  }
  for (const record of [...info.processes].reverse()) {
    const running = isRecordedProcessRunning(record);
    progress(`${running ? 'stopping' : 'already gone:'} ${record.name} (pid ${record.pid})`);
  }
  await attachEnvironment(info).stop();
  await clearDevState(paths);
  say('certkeeper dev environment is down');
  return 0;
}

async function status(paths: DevPaths): Promise<number> {
  const info = await readDevState(paths);
  if (info === undefined) {
    const leftovers = readStarting(paths).filter(isRecordedProcessRunning);
    if (leftovers.length === 0) {
      say('certkeeper dev environment: down');
      return 3;
    }
    say(`certkeeper dev environment: starting, or an interrupted 'up' left processes running:`);
    for (const record of leftovers) say(`  running  ${record.name.padEnd(24)} pid ${record.pid}`);
    say('Clean up with: bash hack/dev-env.sh down');
    return 1;
  }
  const report = await checkEnvironment(info);
  say(`certkeeper dev environment: ${report.healthy ? 'up' : 'DEGRADED'} (${shown(paths.envFile)})`);
  for (const p of report.processes) {
    say(`  ${p.running ? 'running' : 'STOPPED'}  ${p.name.padEnd(24)} pid ${p.pid}`);
  }
  for (const c of report.checks) {
    say(`  ${c.ok ? 'ok     ' : 'FAILING'}  ${c.name.padEnd(24)} ${c.detail}`);
  }
  if (!report.healthy) say('Restart with: bash hack/dev-env.sh down && bash hack/dev-env.sh up');
  return report.healthy ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<number> {
  const paths = devPaths();
  switch (argv[0]) {
    case 'up':
      return withDevLock(paths, () => up(paths));
    case 'down':
      return withDevLock(paths, () => down(paths));
    case 'status':
      return status(paths);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return argv[0] === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command '${argv[0]}'\n${USAGE}`);
      return 2;
  }
}

// A closed pipe (`dev-env.sh up | head`) must not kill `up` half-way and orphan what it started.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`dev-env: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
