import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../env/index.js';
import { encodePrivateKeyPem, generatePrivateKey } from '../../src/pki/keys.js';
import { selfSignCertificate, signCertificateWithCa } from '../../src/pki/sign.js';
import { withBenchCluster } from './cluster.js';
import { CLUSTER_FLAGS, clusterFlagValues, parseScenarioArgs, positiveInt, type ClusterFlagValues } from './options.js';
import { median } from './stats.js';

// `npm run bench -- --scenario startup [--runs 5] [--entry bin/certkeeper.js] [--json FILE]`
//
// Every CLI command as a whole process, the way a person runs it: wall
// clock, CPU (user + system) and peak RSS from /usr/bin/time, median of N
// runs. `--version` and a `probe` usage error measure loading alone; `probe`
// of a loopback TLS server adds one full scan; `status` and `inventory` run
// against the bench's own kube-apiserver. --entry measures another build
// (e.g. one of an older commit) for a before/after.

export const STARTUP_USAGE = `usage: npm run bench -- --scenario startup [flags]
  --runs N         runs per command, the median is reported (default 5)
  --entry FILE     the CLI entry point to run (default bin/certkeeper.js, the compiled build)
  --json FILE      also write the JSON result to FILE
  --skip-build     do not run npm run build first (dist/ must be current)
  --keep-dir       keep the environment folder afterwards`;

interface StartupOptions extends ClusterFlagValues {
  runs: number;
  entry: string;
}

function parseOptions(argv: string[]): StartupOptions | 'help' {
  const { values } = parseArgs({ args: argv, strict: true, options: { runs: { type: 'string' }, entry: { type: 'string' }, ...CLUSTER_FLAGS } });
  if (values.help === true) return 'help';
  return {
    runs: positiveInt('runs', values.runs, 5, { max: 100 }),
    entry: resolve(values.entry ?? join(REPO_ROOT, 'bin', 'certkeeper.js')),
    ...clusterFlagValues(values),
  };
}

export interface ProcessFigures {
  wallSeconds: number;
  cpuSeconds: number;
  peakRssMB: number;
  exitCode: number;
}

export interface CommandResult {
  command: string;
  /** Medians of each figure over the runs (taken separately). */
  median: ProcessFigures;
  runs: ProcessFigures[];
}

// GNU time writes its line last on stderr: elapsed s, user s, system s, max RSS KiB, exit status.
const TIME_FORMAT = 'certkeeper-bench-time %e %U %S %M %x';

/** One run under /usr/bin/time; the child's own output is discarded. */
function timeOnce(entry: string, args: readonly string[]): Promise<ProcessFigures> {
  return new Promise((resolvePromise, reject) => {
    execFile('/usr/bin/time', ['-f', TIME_FORMAT, process.execPath, entry, ...args], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
      const line = stderr.split('\n').find((l) => l.startsWith('certkeeper-bench-time '));
      if (line === undefined) {
        reject(error ?? new Error(`no timing line from /usr/bin/time for ${args.join(' ')}: ${stderr.slice(-500)}`));
        return;
      }
      const [, wall, user, system, rssKiB, exit] = line.split(' ').map(Number);
      resolvePromise({ wallSeconds: wall ?? NaN, cpuSeconds: Math.round(((user ?? NaN) + (system ?? NaN)) * 100) / 100, peakRssMB: Math.round(((rssKiB ?? NaN) / 1024) * 10) / 10, exitCode: exit ?? NaN });
    });
  });
}

export async function measureCommand(entry: string, label: string, args: readonly string[], runs: number, log: (line: string) => void): Promise<CommandResult> {
  await timeOnce(entry, args); // warm the page cache
  const results: ProcessFigures[] = [];
  for (let i = 0; i < runs; i++) results.push(await timeOnce(entry, args));
  const result: CommandResult = {
    command: label,
    median: {
      wallSeconds: median(results.map((r) => r.wallSeconds)),
      cpuSeconds: median(results.map((r) => r.cpuSeconds)),
      peakRssMB: median(results.map((r) => r.peakRssMB)),
      exitCode: median(results.map((r) => r.exitCode)),
    },
    runs: results,
  };
  log(`${label}: ${result.median.wallSeconds.toFixed(2)} s wall, ${result.median.cpuSeconds.toFixed(2)} CPU-s, ${result.median.peakRssMB.toFixed(0)} MB`);
  return result;
}

/** A loopback TLS server with a certificate from a throwaway CA; the CA's PEM goes to `caFile`. */
async function startTlsServer(caFile: string): Promise<{ server: Server; port: number }> {
  const caKey = await generatePrivateKey({ algorithm: 'ECDSA' });
  const ca = await selfSignCertificate({ spec: { commonName: 'startup bench CA', isCA: true }, privateKey: caKey, now: new Date() });
  const key = await generatePrivateKey({ algorithm: 'ECDSA' });
  const leaf = await signCertificateWithCa({ spec: { dnsNames: ['startup.bench.test'] }, subjectKey: key, ca: { certificate: ca.certificate, privateKey: caKey }, now: new Date() });
  await writeFile(caFile, ca.pem);
  const server = createServer({ key: encodePrivateKeyPem(key, 'PKCS8'), cert: leaf.pem + ca.pem }, (socket) => socket.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('TLS server has no port');
  return { server, port: address.port };
}

function formatTable(results: readonly CommandResult[], runs: number): string {
  const rows = [['command', 'wall (median)', 'CPU-s', 'peak RSS', 'exit'], ...results.map((r) => [r.command, `${r.median.wallSeconds.toFixed(2)} s`, r.median.cpuSeconds.toFixed(2), `${r.median.peakRssMB.toFixed(0)} MB`, String(r.median.exitCode)])];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  return [`certkeeper CLI start-up, whole processes, median of ${runs} (wall clock is noisy on a shared machine; CPU-s is the steadier figure)`, ...rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd())].join('\n');
}

export async function runStartupScenario(argv: string[], signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const o = parseScenarioArgs(argv, parseOptions, STARTUP_USAGE);
  if (typeof o === 'number') return o;
  const results = await withBenchCluster({ name: 'startup', build: !o.skipBuild, keepDir: o.keepDir, signal, log }, async (cluster) => {
    const caFile = join(cluster.dir, 'startup-ca.pem');
    const { server, port } = await startTlsServer(caFile);
    try {
      const kube = ['--kubeconfig', cluster.kubeconfigPath];
      const commands: [string, string[]][] = [
        ['--version', ['--version']],
        ['probe (usage error: loading only)', ['probe']],
        ['probe 127.0.0.1 (full scan, loopback)', ['probe', `127.0.0.1:${port}`, '--sni', 'startup.bench.test', '--ca-file', caFile]],
        ['status (empty cluster)', ['status', ...kube]],
        ['inventory -A (empty cluster)', ['inventory', '-A', ...kube]],
      ];
      const out: CommandResult[] = [];
      for (const [label, args] of commands) {
        signal.throwIfAborted();
        out.push(await measureCommand(o.entry, label, args, o.runs, log));
      }
      return out;
    } finally {
      server.close();
    }
  });
  process.stdout.write(`\n${formatTable(results, o.runs)}\n`);
  const json = JSON.stringify({ entry: o.entry, node: process.version, runs: o.runs, commands: results }, null, 2);
  process.stdout.write(`\n${json}\n`);
  if (o.json !== undefined) {
    await writeFile(o.json, `${json}\n`);
    log(`JSON written to ${o.json}`);
  }
  return 0;
}
