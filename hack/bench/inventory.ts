import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForReady } from '../env/processes.js';
import { withBenchCluster, type BenchCluster } from './cluster.js';
import { CLUSTER_FLAGS, clusterFlagValues, parseScenarioArgs, positiveInt, type ClusterFlagValues } from './options.js';
import { readCpuSeconds, readMemory, RssSampler, waitForQuietMachine } from './proc.js';
import { cpuProfilerNodeOptions, formatProfile, PROFILE_SPLIT_SIGNAL, summarizeProfiles } from './profile.js';
import { createSecrets, tlsSecretData } from './secrets.js';
import { measureCommand, type CommandResult } from './startup.js';
import { REPO_ROOT } from '../env/index.js';

// `npm run bench -- --scenario inventory [--secrets 10000] [--tls 2000] [--json FILE] [--skip-build] [--keep-dir]`
//
// A cluster with many Secrets, some of them kubernetes.io/tls (valid,
// expiring, expired, corrupt, some holding the same certificate), made before
// the operator starts. Measures the compiled operator: time until its caches
// are synced and /inventory lists every certificate, its RSS, and the
// latency of /inventory and /metrics at that size. Then `certkeeper
// inventory -A`, which reads the same Secrets itself, as a whole process
// (wall, CPU, peak RSS; one --cli-entry or several, e.g. an older build's).

export const INVENTORY_USAGE = `usage: npm run bench -- --scenario inventory [flags]
  --secrets N      Secrets in the cluster (default 10000)
  --tls N          of which kubernetes.io/tls (default 2000)
  --namespaces N   spread over N namespaces (default 20)
  --requests N     /inventory requests to time (default 20)
  --cli-entry FILE a CLI entry point to time \`inventory -A -o json\` with (default bin/certkeeper.js; repeatable)
  --cli-runs N     runs per CLI entry, the median is reported (default 3; 0: none)
  --node-flags=FLAGS node flags for the operator (default the image's: --max-semi-space-size=2 --heap-growing-percent=30; "" for none);
                   repeatable: each variant syncs --operator-runs times against the same Secrets, interleaved
  --operator-runs N  start the operator N times per variant, each until synced; medians reported (default 1)
  --cpu-prof DIR   profile the operator into DIR: until the inventory is synced, then the rest; print the hottest code
  --json FILE      also write the JSON result to FILE
  --skip-build     do not run npm run build first (dist/ must be current)
  --keep-dir       keep the environment folder afterwards`;

export interface InventoryBenchOptions extends ClusterFlagValues {
  secrets: number;
  tls: number;
  namespaces: number;
  requests: number;
  cliEntries: string[];
  cliRuns: number;
  cpuProfDir: string | undefined;
  /** Node flag variants, each run --operator-runs times; empty: the image's flags only. */
  nodeFlags: string[][];
  operatorRuns: number;
}

function parseOptions(argv: string[]): InventoryBenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      secrets: { type: 'string' },
      tls: { type: 'string' },
      namespaces: { type: 'string' },
      requests: { type: 'string' },
      'cli-entry': { type: 'string', multiple: true },
      'cli-runs': { type: 'string' },
      'cpu-prof': { type: 'string' },
      'node-flags': { type: 'string', multiple: true },
      'operator-runs': { type: 'string' },
      ...CLUSTER_FLAGS,
    },
  });
  if (values.help === true) return 'help';
  const secrets = positiveInt('secrets', values.secrets, 10_000, { max: 100_000 });
  return {
    secrets,
    tls: Math.min(secrets, positiveInt('tls', values.tls, 2_000, { max: 100_000 })),
    namespaces: positiveInt('namespaces', values.namespaces, 20, { max: 1_000 }),
    requests: positiveInt('requests', values.requests, 20, { max: 1_000 }),
    cliEntries: (values['cli-entry'] ?? [join(REPO_ROOT, 'bin', 'certkeeper.js')]).map((entry) => resolve(entry)),
    cliRuns: values['cli-runs'] === '0' ? 0 : positiveInt('cli-runs', values['cli-runs'], 3, { max: 20 }),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    nodeFlags: (values['node-flags'] ?? []).map((flags) => flags.split(' ').filter((flag) => flag !== '')),
    operatorRuns: positiveInt('operator-runs', values['operator-runs'], 1, { max: 20 }),
    ...clusterFlagValues(values),
  };
}

/** One unlabelled sample of the operator's /metrics. */
async function metricValue(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Certificates the operator's inventory holds, from certkeeper_inventory_certificates on /metrics. */
async function inventoryCount(url: string): Promise<number | undefined> {
  const res = await fetch(`${url}/metrics`).catch(() => undefined);
  if (res?.ok !== true) return undefined;
  let total = 0;
  for (const line of (await res.text()).split('\n')) if (line.startsWith('certkeeper_inventory_certificates{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timed(url: string): Promise<{ ms: number; bytes: number; status: number; body: string }> {
  const started = performance.now();
  const res = await fetch(url);
  const body = await res.text();
  return { ms: performance.now() - started, bytes: body.length, status: res.status, body };
}

async function latencies(url: string, n: number): Promise<{ p50: number; p95: number; max: number; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const r = await timed(url);
    if (r.status !== 200) throw new Error(`GET ${url}: HTTP ${r.status}`);
    ms.push(r.ms);
    bytes = r.bytes;
    await sleep(100);
  }
  ms.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { p50: round(percentile(ms, 50)), p95: round(percentile(ms, 95)), max: round(ms.at(-1) ?? Number.NaN), bytes };
}

export interface InventoryBenchResult {
  secrets: number;
  tlsSecrets: number;
  inventoryEntries: number;
  createSeconds: number;
  /** Waited after creating for the machine to be quiet (waitForQuietMachine), before the operator started. */
  quietSeconds: number;
  /** Operator start until /readyz (leading, caches synced). */
  cachesSyncedSeconds: number;
  /** Operator start until /inventory listed every certificate. */
  inventorySyncedSeconds: number;
  peakRssMB: number;
  /** RSS when the inventory was synced (before any /inventory request), and after the timed requests, MiB. */
  rssSyncedMB: number | undefined;
  rssAfterMB: number | undefined;
  cpuSecondsUntilSynced: number | undefined;
  /** V8 heap in use when synced and after the requests (the operator's /metrics), MiB. */
  heapUsedMB: { synced: number | undefined; after: number | undefined };
  inventoryLatencyMs: { p50: number; p95: number; max: number; bytes: number };
  filteredInventoryLatencyMs: { p50: number; p95: number; max: number; bytes: number };
  metricsLatencyMs: { p50: number; p95: number; max: number; bytes: number };
  /** `certkeeper inventory -A -o json` against the same cluster, per entry point. */
  cli: CommandResult[];
  /** Every operator start until synced (the first is the one above), and their medians per node-flags variant. */
  syncRuns: SyncRun[];
  syncMedians: (SyncRun & { runs: number })[];
  node: string;
}

export function formatInventoryReport(r: InventoryBenchResult): string {
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  return [
    `certkeeper bench, inventory: ${r.secrets} Secrets, ${r.tlsSecrets} kubernetes.io/tls -> ${r.inventoryEntries} inventory entries (node ${r.node})`,
    `create            ${r.createSeconds.toFixed(1)} s, then ${r.quietSeconds.toFixed(1)} s until the machine was quiet, before the operator started`,
    `caches synced     ${r.cachesSyncedSeconds.toFixed(1)} s after the operator started`,
    `inventory synced  ${r.inventorySyncedSeconds.toFixed(1)} s (target 6 s: ${met(r.inventorySyncedSeconds <= 6)}); operator CPU until then ${r.cpuSecondsUntilSynced?.toFixed(1) ?? '?'} s (target 2 CPU-s: ${met((r.cpuSecondsUntilSynced ?? Infinity) <= 2)})`,
    `operator memory   peak RSS ${r.peakRssMB.toFixed(1)} MB (target 150 MB, issue 11: ${met(r.peakRssMB <= 150)}); ${r.rssSyncedMB?.toFixed(1) ?? '?'} MB when synced, ${r.rssAfterMB?.toFixed(1) ?? '?'} MB after the requests; V8 heap used ${r.heapUsedMB.synced ?? '?'} MB when synced, ${r.heapUsedMB.after ?? '?'} MB after`,
    `GET /inventory    p50 ${r.inventoryLatencyMs.p50} ms, p95 ${r.inventoryLatencyMs.p95} ms, max ${r.inventoryLatencyMs.max} ms (${(r.inventoryLatencyMs.bytes / 1024).toFixed(0)} KiB)`,
    `  ?problem=expired  p50 ${r.filteredInventoryLatencyMs.p50} ms, p95 ${r.filteredInventoryLatencyMs.p95} ms (${(r.filteredInventoryLatencyMs.bytes / 1024).toFixed(0)} KiB)`,
    `GET /metrics      p50 ${r.metricsLatencyMs.p50} ms, p95 ${r.metricsLatencyMs.p95} ms, max ${r.metricsLatencyMs.max} ms (${(r.metricsLatencyMs.bytes / 1024).toFixed(0)} KiB)`,
    ...(r.syncRuns.length > 1
      ? r.syncMedians.map((m) => `operator, node flags ${m.nodeFlags}: synced ${m.inventorySyncedSeconds.toFixed(2)} s, ${m.cpuSecondsUntilSynced?.toFixed(2) ?? '?'} CPU-s, peak RSS ${m.peakRssMB.toFixed(1)} MB (median of ${m.runs}; runs: ${r.syncRuns.filter((x) => x.nodeFlags === m.nodeFlags).map((x) => x.cpuSecondsUntilSynced?.toFixed(2) ?? '?').join(', ')} CPU-s)`)
      : []),
    ...r.cli.map((c) => `${c.command}: ${c.median.wallSeconds.toFixed(2)} s wall, ${c.median.cpuSeconds.toFixed(2)} CPU-s, peak RSS ${c.median.peakRssMB.toFixed(0)} MB, exit ${c.median.exitCode} (median of ${c.runs.length})`),
  ].join('\n');
}

/** Runs the scenario; returns the exit code. */
export async function runInventoryScenario(argv: string[], signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const o = parseScenarioArgs(argv, parseOptions, INVENTORY_USAGE);
  if (typeof o === 'number') return o;
  const options = o;
  const result = await withBenchCluster({ name: 'inventory', build: !o.skipBuild, keepDir: o.keepDir, signal, log }, (cluster) => measure(options, cluster, signal, log));
  const json = JSON.stringify(result, null, 2);
  process.stdout.write(`\n${formatInventoryReport(result)}\n\n${json}\n`);
  if (o.json !== undefined) await writeFile(o.json, `${json}\n`);
  if (o.cpuProfDir !== undefined) for (const profile of await summarizeProfiles(o.cpuProfDir)) process.stdout.write(`\n${formatProfile(profile)}\n`);
  return 0;
}

async function measure(o: InventoryBenchOptions, cluster: BenchCluster, signal: AbortSignal, log: (line: string) => void): Promise<InventoryBenchResult> {
  const { core } = cluster.clients;
  log(`signing ${o.tls} TLS certificates`);
  const { data, expectedEntries } = await tlsSecretData(o.tls);
  log(`creating ${o.secrets} Secrets (${o.tls} TLS) in ${o.namespaces} namespaces`);
  const createSeconds = await createSecrets(core, o, data, log, signal);
  // Secrets that exist before the operator starts have usually existed for a
  // while: kube-apiserver and etcd are done with them. The operator's start is
  // not measured against what is left of their work after 10,000 creates.
  const quiet = await waitForQuietMachine({ signal });
  log(`created in ${createSeconds.toFixed(1)} s; machine ${quiet.quiet ? 'quiet' : 'still busy'} after ${quiet.seconds.toFixed(1)} s (${(quiet.busy * 100).toFixed(0)} % of a CPU); starting the compiled operator`);

  const profileDir = o.cpuProfDir;
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  const quietSeconds = Math.round(quiet.seconds * 10) / 10;
  const variants = o.nodeFlags.length === 0 ? [undefined] : o.nodeFlags;
  // The first run keeps its operator for the request latencies; every other
  // run (each variant, --operator-runs times, interleaved) only syncs.
  const first = await syncOnce(cluster, variants[0], expectedEntries, profileDir, signal);
  const { op, sampler, cachesSyncedSeconds, entries, inventorySyncedSeconds, cpuSecondsUntilSynced } = first;
  const syncRuns: SyncRun[] = [first.run];
  const mb = (bytes: number | undefined) => (bytes === undefined ? undefined : Math.round((bytes / 2 ** 20) * 10) / 10);
  const rssSynced = readMemory(op.process.pid)?.rssMB;
  const heapSynced = mb(await metricValue(op.url, 'certkeeper_nodejs_heap_size_used_bytes'));
  log(`inventory synced after ${inventorySyncedSeconds.toFixed(1)} s (${entries} entries); timing requests`);
  const inventoryLatencyMs = await latencies(`${op.url}/inventory`, o.requests);
  const filteredInventoryLatencyMs = await latencies(`${op.url}/inventory?problem=expired`, Math.min(o.requests, 10));
  const metricsLatencyMs = await latencies(`${op.url}/metrics`, Math.min(o.requests, 10));
  sampler.sample();
  sampler.stop();
  const memory = readMemory(op.process.pid);
  const cli: CommandResult[] = [];
  for (const entry of o.cliRuns > 0 ? o.cliEntries : []) {
    signal.throwIfAborted();
    const label = `CLI ${relative(REPO_ROOT, entry) || entry} inventory -A`;
    cli.push(await measureCommand(entry, label, ['inventory', '-A', '-o', 'json', '--kubeconfig', cluster.kubeconfigPath], o.cliRuns, log));
  }
  const heapAfter = mb(await metricValue(op.url, 'certkeeper_nodejs_heap_size_used_bytes'));
  if (o.operatorRuns > 1 || variants.length > 1) {
    await op.process.stop(profileDir === undefined ? 5_000 : 60_000);
    for (let round = 0; round < o.operatorRuns; round++) {
      for (const [i, flags] of variants.entries()) {
        if (round === 0 && i === 0) continue;
        await waitForQuietMachine({ timeoutMs: 10_000, signal });
        const again = await syncOnce(cluster, flags, expectedEntries, undefined, signal);
        again.sampler.stop();
        await again.op.process.stop(5_000);
        syncRuns.push(again.run);
        log(`run ${syncRuns.length}: ${again.run.nodeFlags}: synced after ${again.run.inventorySyncedSeconds} s, ${again.run.cpuSecondsUntilSynced ?? '?'} CPU-s, peak RSS ${again.run.peakRssMB} MB`);
      }
    }
  }
  return {
    secrets: o.secrets,
    tlsSecrets: o.tls,
    inventoryEntries: entries,
    createSeconds: Math.round(createSeconds * 10) / 10,
    quietSeconds,
    cachesSyncedSeconds: Math.round((cachesSyncedSeconds ?? Number.NaN) * 100) / 100,
    inventorySyncedSeconds: Math.round(inventorySyncedSeconds * 100) / 100,
    peakRssMB: Math.round((memory?.peakRssMB ?? Number.NaN) * 10) / 10,
    rssSyncedMB: rssSynced === undefined ? undefined : Math.round(rssSynced * 10) / 10,
    rssAfterMB: memory === undefined ? undefined : Math.round(memory.rssMB * 10) / 10,
    heapUsedMB: { synced: heapSynced, after: heapAfter },
    cpuSecondsUntilSynced: cpuSecondsUntilSynced === undefined ? undefined : Math.round(cpuSecondsUntilSynced * 100) / 100,
    inventoryLatencyMs,
    filteredInventoryLatencyMs,
    metricsLatencyMs,
    cli,
    syncRuns,
    syncMedians: syncMedians(syncRuns),
    node: process.version,
  };
}

/** One operator start until its inventory lists every certificate. */
export interface SyncRun {
  /** The operator's node flags, "image's" for OPERATOR_NODE_FLAGS. */
  nodeFlags: string;
  inventorySyncedSeconds: number;
  cpuSecondsUntilSynced: number | undefined;
  /** Peak RSS until synced, MiB. */
  peakRssMB: number;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Starts the operator with `flags` and waits until its inventory holds `expected` entries. */
async function syncOnce(cluster: BenchCluster, flags: string[] | undefined, expected: number, profileDir: string | undefined, signal: AbortSignal) {
  const started = performance.now();
  const op = await cluster.startOperator({
    compiled: true,
    leaderElect: false,
    logLevel: 'info',
    ...(flags === undefined ? {} : { nodeFlags: flags }),
    ...(profileDir === undefined ? {} : { env: { NODE_OPTIONS: await cpuProfilerNodeOptions(profileDir) }, stopGraceMs: 60_000 }),
  });
  const sampler = new RssSampler(op.process.pid);
  sampler.start();
  let cachesSyncedSeconds: number | undefined;
  let entries = 0;
  await waitForReady(
    async ({ observe }) => {
      if (cachesSyncedSeconds === undefined && (await fetch(`${op.url}/readyz`).catch(() => undefined))?.ok === true) cachesSyncedSeconds = (performance.now() - started) / 1000;
      if (cachesSyncedSeconds === undefined) return undefined;
      entries = (await inventoryCount(op.url)) ?? entries;
      observe(`${entries}/${expected} entries`);
      return entries >= expected ? true : undefined;
    },
    { description: 'a synced inventory', timeoutMs: 300_000, intervalMs: 100, watch: [op.process], signal },
  );
  const inventorySyncedSeconds = (performance.now() - started) / 1000;
  const cpuSecondsUntilSynced = readCpuSeconds(op.process.pid);
  if (profileDir !== undefined) process.kill(op.process.pid, PROFILE_SPLIT_SIGNAL);
  const run: SyncRun = {
    nodeFlags: flags === undefined ? "image's" : flags.join(' ') || 'none',
    inventorySyncedSeconds: round2(inventorySyncedSeconds),
    cpuSecondsUntilSynced: cpuSecondsUntilSynced === undefined ? undefined : round2(cpuSecondsUntilSynced),
    peakRssMB: Math.round((readMemory(op.process.pid)?.peakRssMB ?? Number.NaN) * 10) / 10,
  };
  return { op, sampler, cachesSyncedSeconds, entries, inventorySyncedSeconds, cpuSecondsUntilSynced, run };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

/** Per node-flags variant, in the order first run: the median of each figure over its runs (the lower middle of an even count). */
export function syncMedians(runs: readonly SyncRun[]): (SyncRun & { runs: number })[] {
  const byFlags = new Map<string, SyncRun[]>();
  for (const run of runs) byFlags.set(run.nodeFlags, [...(byFlags.get(run.nodeFlags) ?? []), run]);
  return [...byFlags].map(([nodeFlags, group]) => ({
    nodeFlags,
    inventorySyncedSeconds: median(group.map((r) => r.inventorySyncedSeconds)),
    cpuSecondsUntilSynced: median(group.map((r) => r.cpuSecondsUntilSynced ?? Number.NaN)),
    peakRssMB: median(group.map((r) => r.peakRssMB)),
    runs: group.length,
  }));
}
