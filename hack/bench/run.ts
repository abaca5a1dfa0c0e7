import { cpus, loadavg, totalmem } from 'node:os';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OPERATOR_ENV, OPERATOR_NODE_FLAGS, waitForOperatorReady, type Environment } from '../env/index.js';
import { waitForReady } from '../env/processes.js';
import { AuditFollower, countRequests, type AuditEvent, type RequestCounts } from './audit.js';
import { withBenchCluster, type BenchCluster } from './cluster.js';
import { createBenchSetup, createCertificates, grantOperatorUser, OPERATOR_USER, writeOperatorKubeconfig } from './fixtures.js';
import type { BenchKeyAlgorithm, BenchOptions } from './options.js';
import { reconcilesBetween, scrapeOperatorMetrics, type OperatorMetrics } from './metrics.js';
import { readCpuSeconds, readMachineBusySeconds, readMemory, RssSampler } from './proc.js';
import { cpuProfilerNodeOptions, PROFILE_SPLIT_SIGNAL, summarizeProfiles, type ProfileSummary } from './profile.js';
import { progressEvery } from './progress.js';
import { HEAP_SNAPSHOT_SIGNAL, heapSnapshotNodeOptions, summarizeHeapSnapshot, waitForHeapSnapshot, type HeapSummary } from './heap.js';
import { readiness, ReadinessWatch, type ReadinessSnapshot } from './readiness.js';
import { timeline, type Timeline } from './timeline.js';
import { createSecrets, tlsSecretData } from './secrets.js';
import { memoryUsageNodeOptions, readMemoryUsage, type MemoryUsageTrace } from './memory-usage.js';

// One bench run: build, environment with an audit log, fixtures, then the
// operator alone against N pending Certificates, then an idle phase.

/** How often the wait looks at the watch's count (no request). */
const POLL_INTERVAL_MS = 50;
const PROGRESS_INTERVAL_MS = 5_000;
const OPERATOR_LOG_TAIL = 40;
/** --secrets are spread over this many namespaces (as the inventory scenario's default). */
const SECRET_NAMESPACES = 20;

export interface PhaseResult {
  seconds: number;
  apiRequests: number;
  cpuSeconds: number;
  byVerbResource: Record<string, number>;
  /** Reconciles per controller in the phase (operator /metrics). */
  reconciles: Record<string, number> | undefined;
}

export interface BenchResult {
  count: number;
  keyAlgorithm: BenchKeyAlgorithm;
  workers: number;
  createSeconds: number;
  /**
   * From spawning the operator until the watch event that made the last
   * Certificate Ready=True (a LIST then confirms all are). Before, the bench
   * polled with a LIST every 500 ms and took the time of the first LIST that
   * saw all Ready.
   */
  readySeconds: number;
  /** From spawning the operator until the LIST that confirmed every Certificate Ready. */
  confirmedSeconds: number;
  /** When the first, 10 %, 50 %, 90 % and last became Ready, and how many per second (from the watch). */
  timeline: Timeline | undefined;
  certsPerSecond: number;
  /** The operator's VmHWM at the end of the run, MiB. */
  peakRssMB: number;
  /** Operator user+system CPU from its start until all Ready. */
  cpuSeconds: number;
  /** Operator CPU when /readyz first answered (start-up: loading, LISTs, caches): not issuance. */
  cpuAtOperatorReadySeconds: number | undefined;
  /** (cpuSeconds - cpuAtOperatorReadySeconds) / count: the marginal CPU of one issuance, ms. */
  cpuPerIssuanceMs: number | undefined;
  /** Requests the operator made from its start until all Ready (audit log, impersonated user). */
  apiRequests: RequestCounts;
  idle: PhaseResult;
  node: string;
  /** The flags node ran the operator with (the image's unless --node-flags). */
  nodeFlags: string[];
  /** The operator's environment from the image (or --operator-env). */
  operatorEnv: Record<string, string>;
  kubeApiserver: string;
  etcd: string;
  // Beyond the headline figures:
  firstReadySeconds: number | undefined;
  /** /readyz answered: leading, caches synced. */
  operatorReadySeconds: number | undefined;
  /** Highest VmRSS seen while sampling every 250 ms, and VmRSS when all were Ready, MiB. */
  sampledPeakRssMB: number;
  /** Highest VmRSS sampled until all were Ready, before the bench's first /metrics scrape (start-up and the drain only), MiB. */
  sampledPeakUntilReadyMB: number;
  rssAtReadyMB: number | undefined;
  /** Of rssAtReadyMB: anonymous (V8 heap, malloc) and file-backed (node binary, libraries), MiB. */
  rssAtReadySplitMB: { anon: number; file: number } | undefined;
  /**
   * VmHWM when all were Ready (the peak of start-up and the drain), and right
   * after the first /metrics scrape that follows (which builds the inventory
   * and every per-Certificate series at once), MiB.
   */
  peakRssAtReadyMB: number | undefined;
  peakRssAfterFirstScrapeMB: number | undefined;
  /** Between all Ready and the idle phase: trailing work (batched policy status, event flushes). */
  settle: PhaseResult;
  /** Reconciles per controller from the operator's start until all Ready. */
  reconcilesUntilReady: Record<string, number> | undefined;
  /** The operator's own view of its memory, when all were Ready and after the idle phase. */
  operatorMetrics: { atReady: OperatorMetrics | undefined; afterIdle: OperatorMetrics | undefined };
  /** CPU this bench process spent meanwhile (its watch and the final LIST): it shares the machine. */
  benchCpuSeconds: number;
  /** CPU of the control plane while the operator issued. */
  controlPlaneCpuSeconds: { kubeApiserver: number | undefined; etcd: number | undefined };
  /**
   * The machine while the operator issued: all CPU time spent (busy), and what
   * of it was neither the operator, the control plane nor this bench: other
   * work sharing the machine, which makes the figures above worse. The machine's
   * total (/proc/stat ticks) and the processes' are read a moment apart, so on a
   * quiet machine the difference can come out a little below zero.
   */
  machine: { cpus: number; memoryGB: number; busyCpuSeconds: number | undefined; otherCpuSeconds: number | undefined; loadAverage1m: number };
  /** --secrets: Secrets beside the Certificates, and the inventory entries they should make (undefined without). */
  secrets: { total: number; tls: number; expectedInventoryEntries: number; createSeconds: number } | undefined;
  /** --memory-usage: the operator's process.memoryUsage() (MiB) at its highest RSS, at the most, and after the idle phase. */
  memoryUsage: MemoryUsageTrace | undefined;
}

export interface BenchRun {
  result: BenchResult;
  profiles: ProfileSummary[];
  heap: HeapSummary | undefined;
}

export class BenchFailure extends Error {}

function seconds(from: number, to = performance.now()): number {
  return (to - from) / 1000;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function pidOf(env: Environment, name: string): number | undefined {
  return env.processes.find((p) => p.name === name)?.pid;
}

function cpuDelta(pid: number | undefined, before: number | undefined): number | undefined {
  if (pid === undefined || before === undefined) return undefined;
  const now = readCpuSeconds(pid);
  return now === undefined ? undefined : round(now - before);
}

function describeMissing(snapshot: ReadinessSnapshot | undefined, count: number): string {
  if (snapshot === undefined) return 'no LIST of the Certificates succeeded';
  const byState = new Map<string, number>();
  for (const n of snapshot.notReady) byState.set(n.state, (byState.get(n.state) ?? 0) + 1);
  const lines = [`${snapshot.ready}/${count} Ready (${snapshot.total} listed); not Ready, by state:`];
  for (const [state, n] of [...byState].sort((a, b) => b[1] - a[1]).slice(0, 10)) lines.push(`  ${String(n).padStart(5)}  ${state}`);
  lines.push(`first not Ready: ${snapshot.notReady.slice(0, 20).map((n) => n.name).join(', ')}`);
  return lines.join('\n');
}

function phase(events: readonly AuditEvent[], secondsTaken: number, cpu: number | undefined, reconciles: Record<string, number> | undefined): PhaseResult {
  const counts = countRequests(events);
  return { seconds: round(secondsTaken, 1), apiRequests: counts.total, cpuSeconds: round(cpu ?? Number.NaN), byVerbResource: counts.byVerbResource, reconciles };
}

export async function runBench(o: BenchOptions, signal: AbortSignal, log: (line: string) => void): Promise<BenchRun> {
  const profileDir = o.cpuProfDir === undefined ? undefined : resolve(o.cpuProfDir);
  const heapDir = o.heapSnapshotDir === undefined ? undefined : resolve(o.heapSnapshotDir);
  if (heapDir !== undefined) await mkdir(heapDir, { recursive: true });
  const { result, heapFile } = await withBenchCluster({ name: 'certificates', build: !o.skipBuild, audit: true, keepDir: o.keepDir, signal, log }, (cluster) =>
    measure(o, cluster, profileDir, heapDir, signal, log),
  );
  const profiles = profileDir === undefined ? [] : await summarizeProfiles(profileDir);
  return { result, profiles, heap: heapFile === undefined ? undefined : await summarizeHeapSnapshot(heapFile) };
}

async function measure(
  o: BenchOptions,
  cluster: BenchCluster,
  profileDir: string | undefined,
  heapDir: string | undefined,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<{ result: BenchResult; heapFile: string | undefined }> {
  const { env, clients } = cluster;
  const auditLogPath = env.auditLogPath;
  if (auditLogPath === undefined) throw new BenchFailure('environment started without an audit log');
  await createBenchSetup(clients);
  await grantOperatorUser(clients);
  const operatorKubeconfig = join(cluster.dir, 'operator.kubeconfig');
  await writeOperatorKubeconfig(cluster.kubeconfigPath, operatorKubeconfig);

  log(`creating ${o.count} Certificates (${o.keyAlgorithm}, ${o.createConcurrency} in flight)`);
  const createSeconds = await createCertificates(clients, { count: o.count, algorithm: o.keyAlgorithm, concurrency: o.createConcurrency, signal });
  log(`created in ${createSeconds.toFixed(1)} s`);
  let secrets: BenchResult['secrets'];
  if (o.secrets > 0) {
    log(`signing ${o.tlsSecrets} TLS certificates, then creating ${o.secrets} Secrets (${o.tlsSecrets} TLS) in ${SECRET_NAMESPACES} namespaces for the inventory`);
    const { data, expectedEntries } = await tlsSecretData(o.tlsSecrets);
    const secretSeconds = await createSecrets(clients.core, { secrets: o.secrets, namespaces: SECRET_NAMESPACES }, data, log, signal);
    log(`created in ${secretSeconds.toFixed(1)} s`);
    secrets = { total: o.secrets, tls: o.tlsSecrets, expectedInventoryEntries: expectedEntries, createSeconds: round(secretSeconds) };
  }

  const audit = new AuditFollower(auditLogPath, OPERATOR_USER);
  audit.readNew();
  const apiserverPid = pidOf(env, 'kube-apiserver');
  const etcdPid = pidOf(env, 'etcd');
  const apiserverCpu0 = apiserverPid === undefined ? undefined : readCpuSeconds(apiserverPid);
  const etcdCpu0 = etcdPid === undefined ? undefined : readCpuSeconds(etcdPid);
  if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
  const nodeOptions = [
    profileDir === undefined ? '' : await cpuProfilerNodeOptions(profileDir),
    heapDir === undefined ? '' : heapSnapshotNodeOptions(heapDir),
    o.memoryUsage ? await memoryUsageNodeOptions(cluster.dir) : '',
    o.nodeOptions ?? '',
    process.env.NODE_OPTIONS ?? '',
  ]
    .filter((part) => part !== '')
    .join(' ');

  const watch = new ReadinessWatch(clients);
  await watch.start();
  log(`starting the operator (compiled, ${o.workers} workers, leader election on, node ${(o.nodeFlags ?? OPERATOR_NODE_FLAGS).join(' ') || 'without flags'}, environment ${Object.entries(o.operatorEnv ?? OPERATOR_ENV).map(([k, v]) => `${k}=${v}`).join(' ') || 'inherited'})`);
  const started = performance.now();
  const benchCpu0 = process.cpuUsage();
  const machineBusy0 = readMachineBusySeconds();
  const op = await cluster.startOperator({
    compiled: true,
    kubeconfigPath: operatorKubeconfig,
    leaderElect: true,
    workers: o.workers,
    logLevel: o.logLevel,
    env: nodeOptions === '' ? {} : { NODE_OPTIONS: nodeOptions },
    ...(o.nodeFlags === undefined ? {} : { nodeFlags: o.nodeFlags }),
    ...(o.operatorEnv === undefined ? {} : { imageEnv: o.operatorEnv }),
    // A profiled operator writes its profile on exit: give it time to.
    stopGraceMs: profileDir === undefined ? 5_000 : 60_000,
  });
  const pid = op.process.pid;
  const sampler = new RssSampler(pid);
  sampler.start();
  let operatorReadySeconds: number | undefined;
  let cpuAtOperatorReady: number | undefined;
  waitForOperatorReady(op, o.timeoutSeconds * 1000).then(
    () => {
      operatorReadySeconds = seconds(started);
      cpuAtOperatorReady = readCpuSeconds(pid);
    },
    () => undefined, // a dead or stuck operator is reported by the wait below
  );

  let snapshot: ReadinessSnapshot | undefined;
  // A mid-drain heap snapshot: asked for once, collected after the run (writing it pauses the operator).
  const snapshotAtReady = heapDir === undefined || o.heapSnapshotAtPercent === undefined ? undefined : Math.ceil((o.count * o.heapSnapshotAtPercent) / 100);
  let midDrainSnapshotAsked = false;
  const progress = progressEvery(PROGRESS_INTERVAL_MS, log);
  try {
    await waitForReady(
      async () => {
        const ready = watch.tracker.count;
        if (snapshotAtReady !== undefined && !midDrainSnapshotAsked && ready >= snapshotAtReady) {
          midDrainSnapshotAsked = true;
          log(`writing a heap snapshot of the operator at ${ready}/${o.count} Ready (rss ${sampler.sample()?.rssMB.toFixed(0) ?? '?'} MB)`);
          process.kill(pid, HEAP_SNAPSHOT_SIGNAL);
        }
        if (ready >= o.count) {
          // The watch says all are Ready: a LIST confirms it (or the wait goes on).
          snapshot = await readiness(clients);
          if (snapshot.ready >= o.count) return true;
        }
        // No /metrics scrape here: it builds the inventory and the registry text in the operator, CPU counted as issuance.
        await progress(() => {
          const rss = sampler.latest?.rssMB;
          return `ready ${ready}/${o.count}  ${seconds(started).toFixed(1)} s  rss ${rss === undefined ? '?' : rss.toFixed(0)} MB  cpu ${(readCpuSeconds(pid) ?? 0).toFixed(1)} s`;
        });
        return undefined;
      },
      { description: `all ${o.count} Certificates Ready`, timeoutMs: o.timeoutSeconds * 1000, intervalMs: POLL_INTERVAL_MS, watch: [op.process], signal },
    );
  } catch (error) {
    watch.stop();
    if (signal.aborted) throw error;
    snapshot = await readiness(clients).catch(() => snapshot);
    const watchError = watch.lastError === undefined ? '' : `\nlast watch error: ${watch.lastError}`;
    throw new BenchFailure(`${error instanceof Error ? error.message : String(error)}\n${describeMissing(snapshot, o.count)}${watchError}`);
  }
  const confirmedSeconds = seconds(started);
  watch.stop();
  const lastReadyAt = watch.tracker.lastRiseAt;
  const runTimeline = timeline(watch.tracker.times(), started);
  const readySeconds = lastReadyAt === undefined ? confirmedSeconds : seconds(started, lastReadyAt);
  const cpuAtReady = readCpuSeconds(pid);
  const benchCpu = process.cpuUsage(benchCpu0);
  const machineBusy = machineBusy0 === undefined ? undefined : (readMachineBusySeconds() ?? Number.NaN) - machineBusy0;
  const load = loadavg()[0] ?? Number.NaN;
  if (profileDir !== undefined) process.kill(pid, PROFILE_SPLIT_SIGNAL);
  const memoryAtReady = sampler.sample();
  const peakUntilReady = sampler.sampledPeakMB;
  const rssAtReady = memoryAtReady?.rssMB;
  // --no-metrics: no scrape at all, to tell what the scrapes cost the operator from what the drain does.
  const scrape = (): Promise<OperatorMetrics | undefined> => (o.noMetrics ? Promise.resolve(undefined) : scrapeOperatorMetrics(op.url));
  const metricsAtReady = await scrape();
  const peakAfterFirstScrape = readMemory(pid)?.peakRssMB;
  const readyEvents = audit.readNew();
  const controlPlaneCpuSeconds = { kubeApiserver: cpuDelta(apiserverPid, apiserverCpu0), etcd: cpuDelta(etcdPid, etcdCpu0) };
  log(`all ${o.count} Ready after ${readySeconds.toFixed(1)} s; settling ${o.settleSeconds} s, then idle for ${o.idleSeconds} s`);

  const settleStarted = performance.now();
  await sleep(o.settleSeconds * 1000, undefined, { signal });
  const settleEvents = audit.readNew();
  const cpuIdle0 = readCpuSeconds(pid);
  const metricsIdle0 = await scrape();
  const settle = phase(
    settleEvents,
    seconds(settleStarted),
    cpuIdle0 !== undefined && cpuAtReady !== undefined ? cpuIdle0 - cpuAtReady : undefined,
    reconcilesBetween(metricsAtReady, metricsIdle0),
  );

  const idleStarted = performance.now();
  await sleep(o.idleSeconds * 1000, undefined, { signal });
  const idleEvents = audit.readNew();
  const idleCpu = cpuDelta(pid, cpuIdle0);
  const idleSeconds = seconds(idleStarted);
  const metricsIdle1 = await scrape();
  const idle = phase(idleEvents, idleSeconds, idleCpu, reconcilesBetween(metricsIdle0, metricsIdle1));
  sampler.sample();
  sampler.stop();
  const memory = readMemory(pid);
  const memoryUsage = o.memoryUsage ? await readMemoryUsage(cluster.dir, pid) : undefined;
  if (!op.process.running) throw new BenchFailure(`operator ${op.process.describeExit() ?? 'stopped'} during the idle phase\n${op.process.logTail(OPERATOR_LOG_TAIL)}`);
  if (audit.unparsed > 0) log(`warning: ${audit.unparsed} audit log lines did not parse`);
  // Last: writing a snapshot pauses the operator and raises its RSS, so every figure above is read first.
  let heapFile: string | undefined;
  if (heapDir !== undefined) {
    if (!midDrainSnapshotAsked) {
      log('writing a heap snapshot of the operator');
      process.kill(pid, HEAP_SNAPSHOT_SIGNAL);
    }
    heapFile = await waitForHeapSnapshot(heapDir);
  }

  const result: BenchResult = {
    count: o.count,
    keyAlgorithm: o.keyAlgorithm,
    workers: o.workers,
    createSeconds: round(createSeconds),
    readySeconds: round(readySeconds),
    confirmedSeconds: round(confirmedSeconds),
    timeline: runTimeline,
    certsPerSecond: round(o.count / readySeconds, 1),
    peakRssMB: round(memory?.peakRssMB ?? Number.NaN, 1),
    cpuSeconds: round(cpuAtReady ?? Number.NaN),
    cpuAtOperatorReadySeconds: cpuAtOperatorReady === undefined ? undefined : round(cpuAtOperatorReady),
    cpuPerIssuanceMs: cpuAtOperatorReady === undefined || cpuAtReady === undefined ? undefined : round(((cpuAtReady - cpuAtOperatorReady) * 1000) / o.count),
    apiRequests: countRequests(readyEvents),
    idle,
    node: process.version,
    nodeFlags: [...(o.nodeFlags ?? OPERATOR_NODE_FLAGS)],
    operatorEnv: { ...(o.operatorEnv ?? OPERATOR_ENV) },
    kubeApiserver: env.versions.kubeApiserver ?? 'unknown',
    etcd: env.versions.etcd ?? 'unknown',
    firstReadySeconds: runTimeline?.firstSeconds,
    operatorReadySeconds: operatorReadySeconds === undefined ? undefined : round(operatorReadySeconds),
    sampledPeakRssMB: round(sampler.sampledPeakMB, 1),
    sampledPeakUntilReadyMB: round(peakUntilReady, 1),
    rssAtReadyMB: rssAtReady === undefined ? undefined : round(rssAtReady, 1),
    peakRssAtReadyMB: memoryAtReady === undefined ? undefined : round(memoryAtReady.peakRssMB, 1),
    peakRssAfterFirstScrapeMB: peakAfterFirstScrape === undefined ? undefined : round(peakAfterFirstScrape, 1),
    rssAtReadySplitMB:
      memoryAtReady?.anonMB === undefined || memoryAtReady.fileMB === undefined ? undefined : { anon: round(memoryAtReady.anonMB, 1), file: round(memoryAtReady.fileMB, 1) },
    settle,
    reconcilesUntilReady: metricsAtReady?.reconciles,
    operatorMetrics: { atReady: metricsAtReady, afterIdle: metricsIdle1 },
    benchCpuSeconds: round((benchCpu.user + benchCpu.system) / 1e6),
    controlPlaneCpuSeconds,
    machine: {
      cpus: cpus().length,
      memoryGB: round(totalmem() / 2 ** 30, 1),
      busyCpuSeconds: machineBusy === undefined ? undefined : round(machineBusy, 1),
      otherCpuSeconds:
        machineBusy === undefined
          ? undefined
          : round(
              machineBusy -
                (cpuAtReady ?? 0) -
                (controlPlaneCpuSeconds.kubeApiserver ?? 0) -
                (controlPlaneCpuSeconds.etcd ?? 0) -
                (benchCpu.user + benchCpu.system) / 1e6,
              1,
            ),
      loadAverage1m: round(load),
    },
    secrets,
    memoryUsage,
  };
  return { result, heapFile };
}
