import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { waitForOperatorReady, type OperatorProcess } from '../env/index.js';
import { createTestNetwork } from '../env/netns.js';
import { ManagedProcess, waitForReady } from '../env/processes.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import type { NetnsNginx } from '../tls/netns-nginx.js';
import { createBenchServices, startBenchNginx } from './backends.js';
import { withBenchCluster, type BenchCluster } from './cluster.js';
import { CLUSTER_FLAGS, clusterFlagValues, parseScenarioArgs, positiveInt, UsageError, type ClusterFlagValues } from './options.js';
import { BENCH_NAMESPACE, createBenchSetup, createPolicy, OPERATOR_NAMESPACE, type BenchClients } from './fixtures.js';
import { limitCpu, type CpuLimit } from './cpu-limit.js';
import { cpuProfilerNodeOptions, formatProfile, PROFILE_SPLIT_SIGNAL, summarizeProfiles } from './profile.js';
import { readCpuSeconds, readCpuTimes, readMachineBusySeconds, readMemory, readTreeCpuTimes } from './proc.js';
import { progressEvery } from './progress.js';
import { median } from './stats.js';

// `npm run bench -- --scenario scale-out [--services 100] [--per-service 10] [--replicas 3] [--concurrency 16] [--json FILE]`
//
// Probe sharing: the same endpoints full-scanned by one operator process
// (leader election on, no sharing: the leader probes everything) and then
// by --replicas processes with --probe-sharing. For each run: the time from
// creating a TLSPolicy that selects every endpoint until its status (written
// by the leader) has a result for each; per process its probes and CPU
// seconds in that time; the total of probes (each endpoint exactly once
// when no endpoint is probed twice); and the probes a few seconds later
// (with an interval of an hour, none). All processes share this machine's
// cores, so without --cpu-limit the wall time says little about a cluster
// where each replica has its own: the per-process split and the total work
// do. With --cpu-limit each process gets a CPU limit of its own (a cgroup,
// as a pod's resources.limits.cpu), the single one too; while the limits
// together fit beside nginx and kube-apiserver, each replica has its share
// as on a node of its own, and the wall times compare as there.
// --leader-weight (repeatable) runs the shared set once per weight, against
// the single run just before it; --rounds repeats the lot, so that each ratio
// is of two runs close in time (this machine's speed drifts by more than the
// differences measured) and the medians over rounds say more than one run.
// --warm measures a second scan: every process first full-scans the same
// endpoints for a warm-up policy, which is then deleted, so the measured scan
// runs on compiled code (each fresh process pays its JIT warm-up in its first
// scan, once in its life, which a cold comparison charges to sharing).
// Prints and writes JSON; asserts nothing.

export const SCALE_OUT_USAGE = `usage: npm run bench -- --scenario scale-out [flags]
  --services N       Services (default 100)
  --per-service M    ready addresses behind each (default 10; N x M at most 1021)
  --replicas R       operator processes in the shared run (default 3)
  --concurrency C    each operator's --probe-concurrency (default 16)
  --shared-concurrency C  --probe-concurrency of each process in the shared run (default: --concurrency;
                     about C/R keeps the probes in flight on this machine's cores the same as in the single run)
  --cpu-limit M      limit each operator process to M millicores of CPU (its own cgroup, as a pod's CPU limit; needs root);
                     keep R x M well inside the cores, beside nginx and kube-apiserver (default: no limit)
  --leader-weight W  the leader's --probe-sharing-leader-weight in the shared run; repeat it for one shared run per
                     weight, against the single run before them (default: the operator's default)
  --rounds N         repeat the single run and the shared runs N times (default 1); medians printed
  --control          per round also a control run: the single operator beside R-1 decoy processes (the operator's
                     probe code scanning the same addresses, no Kubernetes, each with the same CPU limit), so its
                     CPU per probe can be compared with the shared run's under the same crowding of the machine
  --warm             measure each run's second scan: a warm-up policy over the same endpoints is scanned and deleted
                     first, so the JIT warm-up of each fresh process is not in the figures (the cold scan's time is kept)
  --cpu-prof DIR     profile every operator process into DIR/<run>/ (until the policy, then the probing) and print the hottest code
  --timeout S        give up on a run after S seconds (default 600)
  --json FILE        also write the JSON result to FILE
  --skip-build       do not run npm run build first (dist/ must be current)
  --keep-dir         keep the environment folder afterwards`;

interface Options extends ClusterFlagValues {
  services: number;
  perService: number;
  replicas: number;
  concurrency: number;
  sharedConcurrency: number;
  timeoutSeconds: number;
  /** Millicores of CPU per operator process; undefined: none. */
  cpuLimit: number | undefined;
  cpuProfDir: string | undefined;
  /** One shared run per weight; undefined: one, with the operator's default. */
  leaderWeights: (number | undefined)[];
  rounds: number;
  control: boolean;
  warm: boolean;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { services: { type: 'string' }, 'per-service': { type: 'string' }, replicas: { type: 'string' }, concurrency: { type: 'string' }, 'shared-concurrency': { type: 'string' }, timeout: { type: 'string' }, 'cpu-limit': { type: 'string' }, 'cpu-prof': { type: 'string' }, 'leader-weight': { type: 'string', multiple: true }, rounds: { type: 'string' }, control: { type: 'boolean' }, warm: { type: 'boolean' }, ...CLUSTER_FLAGS },
  });
  if (values.help === true) return 'help';
  const o: Options = {
    services: positiveInt('services', values.services, 100, { max: 1021 }),
    perService: positiveInt('per-service', values['per-service'], 10, { max: 1021 }),
    replicas: positiveInt('replicas', values.replicas, 3, { min: 2, max: 8 }),
    concurrency: positiveInt('concurrency', values.concurrency, 16, { max: 256 }),
    sharedConcurrency: positiveInt('shared-concurrency', values['shared-concurrency'] ?? values.concurrency, 16, { max: 256 }),
    timeoutSeconds: positiveInt('timeout', values.timeout, 600, { max: 3600 }),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    cpuLimit: values['cpu-limit'] === undefined ? undefined : positiveInt('cpu-limit', values['cpu-limit'], 1000, { min: 50, max: 64_000 }),
    leaderWeights: values['leader-weight'] === undefined ? [undefined] : values['leader-weight'].map(leaderWeight),
    rounds: positiveInt('rounds', values.rounds, 1, { max: 20 }),
    control: values.control === true,
    warm: values.warm === true,
    ...clusterFlagValues(values),
  };
  if (o.services * o.perService > 1021) throw new UsageError('--services x --per-service must be at most 1021 (one /22)');
  return o;
}

function leaderWeight(text: string): number {
  const w = Number(text);
  if (!(w >= 0.05 && w <= 1)) throw new UsageError(`--leader-weight must be a number from 0.05 to 1 (got ${text})`);
  return w;
}

const LEASE = 'certkeeper-operator';
const PROBES = 'certkeeper_endpoint_probe_duration_seconds_count';
const serviceName = (i: number): string => `scale-${String(i).padStart(4, '0')}`;
const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

export interface ReplicaFigures {
  identity: string;
  leader: boolean;
  /** Probes this process made from the policy's creation until its status was complete. */
  probes: number;
  cpuSeconds: number | undefined;
  /** Of cpuSeconds: in the operator's own code (user) and in the kernel for it (system: sockets, and on loopback part of the peer's TCP work too). */
  userCpuSeconds: number | undefined;
  systemCpuSeconds: number | undefined;
  /** CPU seconds per second of this process in the 10 s before the policy (informers, leases, GC): its cost when there is nothing to probe. */
  idleCpuPerSecond: number | undefined;
  rssMB: number | undefined;
}

export interface RunFigures {
  replicas: number;
  sharing: boolean;
  probeConcurrency: number;
  endpoints: number;
  /** Millicores of CPU each process was limited to; undefined: none. */
  cpuLimitMillicores: number | undefined;
  /** The leader's probe share against a member's 1, as it reported it (sharing only). */
  leaderWeight: number | undefined;
  /** From creating the TLSPolicy until its status had a result for every endpoint. */
  seconds: number;
  /** CPU-seconds the whole machine was busy (every process, nginx and kube-apiserver included) during those seconds. */
  machineBusyCpuSeconds: number | undefined;
  /** The policy's results then: a probe starved of CPU until it timed out would show as unreachable. */
  results: { compliant: number; violating: number; unreachable: number };
  perReplica: ReplicaFigures[];
  totalProbes: number;
  totalCpuSeconds: number;
  totalUserCpuSeconds: number;
  totalSystemCpuSeconds: number;
  /** nginx (master and workers) in those seconds: the other side of every handshake. */
  nginxCpuSeconds: number | undefined;
  /**
   * The busiest process's CPU-s over the mean of all: 1 is an even split.
   * Within one run, so a machine that is slower at one time than another
   * (single against shared) does not show in it.
   */
  imbalance: number;
  /** Probes made in the 5 s after the status was complete (interval 1 h: a repeat would show here). */
  probesAfter: number;
  /** --warm: the warm-up scan before the measured one, the same endpoints under another policy (the cold figure). */
  warmUp?: { seconds: number; totalCpuSeconds: number } | undefined;
  /** The control run's decoys (--control): how many, and their CPU-s in those seconds. */
  decoys?: { count: number; cpuSeconds: number } | undefined;
}

export type SharedRun = RunFigures & {
  /** seconds / single.seconds of its round. */
  wallRatio: number;
  /** totalCpuSeconds / single.totalCpuSeconds of its round: what sharing costs in work. */
  cpuRatio: number;
  /** The same for user and for system CPU. */
  userCpuRatio: number;
  systemCpuRatio: number;
};

export interface ScaleOutRound {
  single: RunFigures;
  /** --control: the single operator beside R-1 decoys. */
  control?: RunFigures | undefined;
  /** One per --leader-weight, in the order given. */
  shared: SharedRun[];
}

/** Per leader weight, over the rounds. */
export interface WeightSummary {
  leaderWeight: number | undefined;
  wallRatios: number[];
  medianWallRatio: number;
  medianImbalance: number;
  cpuRatios: number[];
  medianCpuRatio: number;
  userCpuRatios: number[];
  medianUserCpuRatio: number;
}

export interface ScaleOutResult {
  services: number;
  addressesPerService: number;
  probeConcurrency: number;
  rounds: ScaleOutRound[];
  summary: WeightSummary[];
  cores: number;
  node: string;
}

function roundedMedian(xs: readonly number[]): number {
  return round(median(xs), 3);
}

/** The shared runs of every round grouped by their leader weight (the position in --leader-weight), with medians. */
export function summarizeRounds(rounds: readonly ScaleOutRound[]): WeightSummary[] {
  const first = rounds[0];
  if (first === undefined) return [];
  return first.shared.map((s, i) => {
    const runs = rounds.flatMap((r) => (r.shared[i] === undefined ? [] : [r.shared[i]]));
    const of = (f: (x: SharedRun) => number) => runs.map(f);
    return {
      leaderWeight: s.leaderWeight,
      wallRatios: of((x) => x.wallRatio),
      medianWallRatio: roundedMedian(of((x) => x.wallRatio)),
      medianImbalance: roundedMedian(of((x) => x.imbalance)),
      cpuRatios: of((x) => x.cpuRatio),
      medianCpuRatio: roundedMedian(of((x) => x.cpuRatio)),
      userCpuRatios: of((x) => x.userCpuRatio),
      medianUserCpuRatio: roundedMedian(of((x) => x.userCpuRatio)),
    };
  });
}

async function metric(op: OperatorProcess, name: string): Promise<number> {
  const text = await (await fetch(`${op.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function policyResults(clients: BenchClients, name: string): Promise<{ compliant: number; violating: number; unreachable: number }> {
  const p = (await clients.customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name })) as {
    status?: { endpoints?: { compliant: number; violating: number; unreachable: number } };
  };
  return p.status?.endpoints ?? { compliant: 0, violating: 0, unreachable: 0 };
}

const resultCount = (r: { compliant: number; violating: number; unreachable: number }): number => r.compliant + r.violating + r.unreachable;

async function leaderIdentity(clients: BenchClients): Promise<string | undefined> {
  const lease = await clients.kubeconfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: OPERATOR_NAMESPACE });
  return lease.spec?.holderIdentity ?? undefined;
}

/** The largest value over the mean; 1 when there is nothing to compare. */
export function imbalanceOf(cpuSeconds: readonly number[]): number {
  const mean = cpuSeconds.reduce((a, b) => a + b, 0) / cpuSeconds.length;
  return cpuSeconds.length < 2 || !(mean > 0) ? 1 : round(Math.max(...cpuSeconds) / mean, 3);
}

interface Backends {
  nginxPid: number;
  addresses: readonly string[];
}

interface RunKind {
  replicas: number;
  weight?: number | undefined;
  /** Decoy processes beside a single operator (the control run). */
  decoys?: number;
}

const DECOY_SCRIPT = fileURLToPath(new URL('./decoy-prober.ts', import.meta.url));

async function measureRun(cluster: BenchCluster, backends: Backends, o: Options, roundNo: number, kind: RunKind, signal: AbortSignal, log: (l: string) => void): Promise<RunFigures> {
  const { replicas, weight } = kind;
  const decoyCount = kind.decoys ?? 0;
  const sharing = replicas > 1;
  const endpoints = o.services * o.perService;
  const { clients } = cluster;
  const concurrency = sharing ? o.sharedConcurrency : o.concurrency;
  const env: Record<string, string> = { CERTKEEPER_PROBE_CONCURRENCY: String(concurrency), CERTKEEPER_ENDPOINT_RECHECK_INTERVAL: '1h' };
  if (sharing) Object.assign(env, { CERTKEEPER_PROBE_SHARING: 'true', CERTKEEPER_PROBE_SHARING_LEASE_DURATION: '15s' }, weight === undefined ? {} : { CERTKEEPER_PROBE_SHARING_LEADER_WEIGHT: String(weight) });
  const runName = `${o.rounds > 1 ? `r${roundNo}-` : ''}${replicas}-process${sharing && weight !== undefined ? `-w${String(weight).replace('.', 'p')}` : ''}${decoyCount > 0 ? `-${decoyCount}-decoys` : ''}`;
  const profileDir = o.cpuProfDir === undefined ? undefined : join(o.cpuProfDir, runName);
  if (profileDir !== undefined) {
    await mkdir(profileDir, { recursive: true });
    env.NODE_OPTIONS = await cpuProfilerNodeOptions(profileDir);
  }
  const ops: OperatorProcess[] = [];
  const limits: CpuLimit[] = [];
  const decoys: ManagedProcess[] = [];
  try {
    for (let i = 0; i < decoyCount; i++) {
      const decoy = ManagedProcess.start({
        name: `decoy-${i}`,
        command: process.execPath,
        args: ['--import', 'tsx', DECOY_SCRIPT],
        logFile: join(cluster.dir, `${runName}-decoy-${i}.log`),
        env: { DECOY_ADDRESSES: backends.addresses.join(','), DECOY_PORT: '443', DECOY_SERVER_NAME: `decoy.${BENCH_NAMESPACE}.svc`, DECOY_CONCURRENCY: String(o.concurrency) },
      });
      decoys.push(decoy);
      if (o.cpuLimit !== undefined) limits.push(await limitCpu(decoy.pid, o.cpuLimit, `${runName}-decoy-${i}`));
    }
    for (let i = 0; i < replicas; i++) {
      const op = await cluster.startOperator({ compiled: true, leaderElect: true, logLevel: 'info', env, ...(profileDir === undefined ? {} : { stopGraceMs: 60_000 }) });
      ops.push(op);
      if (o.cpuLimit !== undefined) limits.push(await limitCpu(op.process.pid, o.cpuLimit, `${runName}-${i}`));
    }
    await waitForReady(async () => ((await leaderIdentity(clients).catch(() => undefined)) !== undefined ? true : undefined), { description: 'a leader', timeoutMs: 60_000, watch: ops.map((x) => x.process), signal });
    const leader = await leaderIdentity(clients);
    const leaderOp = ops.find((x) => x.identity === leader);
    if (leaderOp === undefined) throw new Error(`the Lease names ${leader}, none of this run's processes`);
    await waitForOperatorReady(leaderOp, 60_000);
    if (sharing) {
      await waitForReady(async () => ((await Promise.all(ops.map((x) => metric(x, 'certkeeper_probe_sharing_members')))).every((m) => m === replicas) ? true : undefined), {
        description: `${replicas} members seen by each`,
        timeoutMs: 60_000,
        watch: ops.map((x) => x.process),
        signal,
      });
    }
    // The leader writes its weight when it starts leading; the others read it within a renew period (5 s), inside the idle 10 s below.
    const leaderWeightSeen = sharing ? await metric(leaderOp, 'certkeeper_probe_sharing_weight') : undefined;
    const policy = `scale-out-${runName}`;
    const warmUp = o.warm ? await scanAndForget(clients, ops, leaderOp, `${policy}-warm-up`, endpoints, o, signal, log) : undefined;
    const idle0 = ops.map((x) => readCpuSeconds(x.process.pid));
    const idleStarted = performance.now();
    await sleep(10_000, undefined, { signal });
    const idleSeconds = (performance.now() - idleStarted) / 1000;
    const probes0 = await Promise.all(ops.map((x) => metric(x, PROBES)));
    for (const d of decoys) if (!d.running) throw new Error(`decoy ${d.name} ${d.describeExit() ?? 'stopped'}: see ${d.record.logFile}`);
    const cpu0 = ops.map((x) => readCpuTimes(x.process.pid));
    const decoys0 = decoys.map((d) => readCpuSeconds(d.pid) ?? 0);
    const nginx0 = readTreeCpuTimes(backends.nginxPid);
    log(`${replicas} process(es)${sharing ? ` sharing the probes, leader weight ${leaderWeightSeen}` : ''}: TLSPolicy ${policy} selects ${endpoints} endpoints (full scans)`);
    if (profileDir !== undefined) for (const x of ops) process.kill(x.process.pid, PROFILE_SPLIT_SIGNAL);
    const t0 = performance.now();
    const busy0 = readMachineBusySeconds();
    await scanPolicy(clients, ops, policy, endpoints, t0, o, signal, log);
    const seconds = (performance.now() - t0) / 1000;
    const busy1 = readMachineBusySeconds();
    const results = await policyResults(clients, policy);
    const probes1 = await Promise.all(ops.map((x) => metric(x, PROBES)));
    const cpu1 = ops.map((x) => readCpuTimes(x.process.pid));
    const decoys1 = decoys.map((d) => readCpuSeconds(d.pid) ?? 0);
    const nginx1 = readTreeCpuTimes(backends.nginxPid);
    await sleep(5_000, undefined, { signal });
    const probes2 = await Promise.all(ops.map((x) => metric(x, PROBES)));
    const perReplica = ops.map((x, i) => {
      const a = cpu0[i];
      const b = cpu1[i];
      const rss = readMemory(x.process.pid)?.rssMB;
      const both = a === undefined || b === undefined ? undefined : { user: b.user - a.user, system: b.system - a.system };
      const idleStart = idle0[i];
      return {
        identity: x.identity,
        leader: x.identity === leader,
        probes: (probes1[i] ?? 0) - (probes0[i] ?? 0),
        cpuSeconds: both === undefined ? undefined : round(both.user + both.system),
        userCpuSeconds: both === undefined ? undefined : round(both.user),
        systemCpuSeconds: both === undefined ? undefined : round(both.system),
        idleCpuPerSecond: a === undefined || idleStart === undefined ? undefined : round((a.user + a.system - idleStart) / idleSeconds, 3),
        rssMB: rss === undefined ? undefined : round(rss, 1),
      };
    });
    await clients.customObjects.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name: policy });
    return {
      replicas,
      sharing,
      probeConcurrency: concurrency,
      endpoints,
      cpuLimitMillicores: o.cpuLimit,
      leaderWeight: leaderWeightSeen,
      seconds: round(seconds),
      machineBusyCpuSeconds: busy0 === undefined || busy1 === undefined ? undefined : round(busy1 - busy0, 1),
      results,
      perReplica,
      totalProbes: perReplica.reduce((s, r) => s + r.probes, 0),
      totalCpuSeconds: round(perReplica.reduce((s, r) => s + (r.cpuSeconds ?? 0), 0)),
      totalUserCpuSeconds: round(perReplica.reduce((s, r) => s + (r.userCpuSeconds ?? 0), 0)),
      totalSystemCpuSeconds: round(perReplica.reduce((s, r) => s + (r.systemCpuSeconds ?? 0), 0)),
      nginxCpuSeconds: nginx0 === undefined || nginx1 === undefined ? undefined : round(nginx1.user + nginx1.system - nginx0.user - nginx0.system),
      imbalance: imbalanceOf(perReplica.map((r) => r.cpuSeconds ?? 0)),
      probesAfter: probes2.reduce((s, v, i) => s + v - (probes1[i] ?? 0), 0),
      warmUp,
      decoys: decoyCount === 0 ? undefined : { count: decoyCount, cpuSeconds: round(decoys1.reduce((a, b, i) => a + b - (decoys0[i] ?? 0), 0)) },
    };
  } finally {
    await Promise.all(decoys.map((d) => d.stop()));
    await Promise.all(ops.map((x) => x.process.stop(profileDir === undefined ? undefined : 60_000)));
    await Promise.all(limits.map((l) => l.remove()));
  }
}

async function scanPolicy(clients: BenchClients, ops: readonly OperatorProcess[], policy: string, endpoints: number, t0: number, o: Options, signal: AbortSignal, log: (l: string) => void): Promise<void> {
  await createPolicy(clients, policy, {
    namespaceSelector: { matchLabels: { bench: 'true' } },
    endpoints: { serviceSelector: { matchLabels: { tier: 'scale' } }, ports: ['https'], profile: 'intermediate', interval: '1h' },
  });
  const progress = progressEvery(5_000, log);
  await waitForReady(
    async ({ observe }) => {
      const n = resultCount(await policyResults(clients, policy));
      observe(`${n}/${endpoints}`);
      await progress(() => `  ${n}/${endpoints} results (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      return n === endpoints ? true : undefined;
    },
    { description: `policy ${policy} results`, timeoutMs: o.timeoutSeconds * 1000, intervalMs: 250, watch: ops.map((x) => x.process), signal },
  );
}

/**
 * --warm: a full scan of the same endpoints under a policy deleted at once,
 * then a wait until no process holds a target or a result of it, so the
 * measured policy's targets are new to every process and its scan starts
 * from nothing but compiled code and open API connections.
 */
async function scanAndForget(clients: BenchClients, ops: readonly OperatorProcess[], leader: OperatorProcess, policy: string, endpoints: number, o: Options, signal: AbortSignal, log: (l: string) => void): Promise<{ seconds: number; totalCpuSeconds: number }> {
  log(`  warm-up: TLSPolicy ${policy} over the same ${endpoints} endpoints`);
  const cpu0 = ops.map((x) => readCpuSeconds(x.process.pid) ?? 0);
  const t0 = performance.now();
  await scanPolicy(clients, ops, policy, endpoints, t0, o, signal, log);
  const seconds = (performance.now() - t0) / 1000;
  const totalCpuSeconds = ops.reduce((sum, x, i) => sum + (readCpuSeconds(x.process.pid) ?? 0) - (cpu0[i] ?? 0), 0);
  await clients.customObjects.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name: policy });
  await waitForReady(
    async () => {
      const owned = await Promise.all(ops.map((x) => metric(x, 'certkeeper_probe_sharing_owned_targets')));
      const graded = (await (await fetch(`${leader.url}/metrics`)).text()).includes('certkeeper_endpoint_grade{');
      return owned.every((n) => n === 0) && !graded ? true : undefined;
    },
    { description: `no process holding ${policy}'s targets`, timeoutMs: 60_000, intervalMs: 500, watch: ops.map((x) => x.process), signal },
  );
  log(`  warm-up: ${round(seconds)} s, ${round(totalCpuSeconds)} CPU-s; forgotten`);
  return { seconds: round(seconds), totalCpuSeconds: round(totalCpuSeconds) };
}

function perProbe(f: RunFigures): number {
  return f.totalProbes === 0 ? Number.NaN : round((1000 * f.totalCpuSeconds) / f.totalProbes, 1);
}

export function formatScaleOutReport(r: ScaleOutResult): string {
  const cores = r.cores;
  const run = (f: RunFigures) => [
    `${f.replicas} process(es)${f.decoys === undefined ? '' : ` beside ${f.decoys.count} decoys (${f.decoys.cpuSeconds} CPU-s)`}${f.warmUp === undefined ? '' : ` after a warm-up scan (${f.warmUp.seconds} s, ${f.warmUp.totalCpuSeconds} CPU-s)`}${f.sharing ? `, --probe-sharing (leader weight ${f.leaderWeight ?? '?'})` : ''}, --probe-concurrency ${f.probeConcurrency}${f.cpuLimitMillicores === undefined ? '' : `, CPU limit ${f.cpuLimitMillicores}m`} each: ${f.seconds} s until the leader's status had all ${f.endpoints} (${f.results.compliant} compliant, ${f.results.violating} violating, ${f.results.unreachable} unreachable); ${f.totalProbes} probes, ${f.totalCpuSeconds} CPU-s in all (user ${f.totalUserCpuSeconds}, system ${f.totalSystemCpuSeconds}; nginx ${f.nginxCpuSeconds ?? '?'}); ${f.probesAfter} probes in the 5 s after; machine busy ${f.machineBusyCpuSeconds ?? '?'} of ${round(f.seconds * cores, 1)} CPU-s${f.sharing ? `; busiest process ${f.imbalance} x the mean CPU-s` : ''}`,
    ...f.perReplica.map((p) => `    ${p.leader ? 'leader ' : 'member '} ${p.identity}: ${p.probes} probes, ${p.cpuSeconds ?? '?'} CPU-s (user ${p.userCpuSeconds ?? '?'}, system ${p.systemCpuSeconds ?? '?'}; ${p.cpuSeconds === undefined || p.probes === 0 ? '?' : round((1000 * p.cpuSeconds) / p.probes, 1)} ms per probe; idle ${p.idleCpuPerSecond ?? '?'} CPU-s/s before), RSS ${p.rssMB ?? '?'} MB`),
  ];
  const limited = r.rounds[0]?.single.cpuLimitMillicores;
  return [
    `certkeeper bench, scale-out: ${r.services} Services x ${r.addressesPerService} addresses, ${r.cores} cores shared by every process (node ${r.node})`,
    ...r.rounds.flatMap((round, i) => [
      ...(r.rounds.length > 1 ? [`round ${i + 1}:`] : []),
      ...run(round.single),
      ...(round.control === undefined ? [] : [...run(round.control), `  control: ${perProbe(round.control)} ms of CPU per probe beside the decoys, against ${perProbe(round.single)} alone`]),
      ...round.shared.flatMap((s) => [
        ...run(s),
        limited === undefined
          ? `  shared / single: wall ${s.wallRatio}, CPU ${s.cpuRatio} (user ${s.userCpuRatio}, system ${s.systemCpuRatio}) (all processes on the same ${r.cores} cores: the wall time cannot show what separate nodes would)`
          : `  shared / single: wall ${s.wallRatio} (target 0.40, issue 11: ${s.wallRatio <= 0.4 ? 'met' : 'MISSED'}), CPU ${s.cpuRatio} (user ${s.userCpuRatio}, system ${s.systemCpuRatio}); each process limited to ${limited}m, ${s.replicas} x ${limited}m of ${r.cores} cores`,
      ]),
    ]),
    ...(r.rounds.length > 1
      ? r.summary.map((w) => `leader weight ${w.leaderWeight ?? 'default'}: shared / single wall ${w.wallRatios.join(', ')}; median ${w.medianWallRatio}, busiest process median ${w.medianImbalance} x the mean; CPU ${w.cpuRatios.join(', ')}, median ${w.medianCpuRatio} (user only: median ${w.medianUserCpuRatio})`)
      : []),
  ].join('\n');
}

/** Runs the scenario; returns the exit code. Everything it starts (netns included) is gone when it returns. */
export async function runScaleOutScenario(argv: string[], signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const options = parseScenarioArgs(argv, parse, SCALE_OUT_USAGE);
  if (typeof options === 'number') return options;
  await withBenchCluster({ name: 'scale-out', build: !options.skipBuild, keepDir: options.keepDir, signal, log }, async (cluster) => {
    const endpoints = options.services * options.perService;
    log(`network namespace with ${endpoints} addresses, one nginx on all of them`);
    const network = await createTestNetwork({ addresses: endpoints, label: 'bench scale-out' });
    let nginx: NetnsNginx | undefined;
    const onExit = (): void => nginx?.process.killNow();
    process.on('exit', onExit);
    try {
      nginx = await startBenchNginx(network, 'scale-out', cluster.dir);
      await createBenchSetup(cluster.clients);
      log(`creating ${options.services} Services and EndpointSlices`);
      await createBenchServices(cluster.clients, network.addresses, { services: options.services, perService: options.perService, name: serviceName, tier: 'scale' });
      const rounds: ScaleOutRound[] = [];
      for (let n = 1; n <= options.rounds; n++) {
        if (options.rounds > 1) log(`round ${n} of ${options.rounds}`);
        const backends = { nginxPid: nginx.process.pid, addresses: network.addresses };
        const single = await measureRun(cluster, backends, options, n, { replicas: 1 }, signal, log);
        const control = options.control ? await measureRun(cluster, backends, options, n, { replicas: 1, decoys: options.replicas - 1 }, signal, log) : undefined;
        // Each run's Lease is released when its processes stop, so the next run elects its own leader at once.
        const shared: SharedRun[] = [];
        for (const weight of options.leaderWeights) {
          const s = await measureRun(cluster, backends, options, n, { replicas: options.replicas, weight }, signal, log);
          shared.push({
            ...s,
            wallRatio: round(s.seconds / single.seconds),
            cpuRatio: round(s.totalCpuSeconds / single.totalCpuSeconds),
            userCpuRatio: round(s.totalUserCpuSeconds / single.totalUserCpuSeconds),
            systemCpuRatio: round(s.totalSystemCpuSeconds / single.totalSystemCpuSeconds),
          });
        }
        rounds.push({ single, control, shared });
      }
      const { availableParallelism } = await import('node:os');
      const result: ScaleOutResult = {
        services: options.services,
        addressesPerService: options.perService,
        probeConcurrency: options.concurrency,
        rounds,
        summary: summarizeRounds(rounds),
        cores: availableParallelism(),
        node: process.version,
      };
      const json = JSON.stringify(result, null, 2);
      process.stdout.write(`\n${formatScaleOutReport(result)}\n\n${json}\n`);
      if (options.json !== undefined) await writeFile(options.json, `${json}\n`);
      const profiles = options.cpuProfDir;
      if (profiles !== undefined) {
        for (const dir of (await readdir(profiles)).sort()) for (const profile of await summarizeProfiles(join(profiles, dir))) process.stdout.write(`\n${formatProfile(profile)}\n`);
      }
    } finally {
      await nginx?.stop();
      await network.teardown();
      process.off('exit', onExit);
    }
  });
  return 0;
}
