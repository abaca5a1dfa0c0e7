import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForOperatorReady, type Environment, type OperatorProcess } from '../env/index.js';
import { createTestNetwork } from '../env/netns.js';
import { waitForReady } from '../env/processes.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import type { NetnsNginx, NginxSite } from '../tls/netns-nginx.js';
import { AuditFollower, countRequests, type RequestCounts } from './audit.js';
import { createBenchServices, startBenchNginx } from './backends.js';
import { withBenchCluster } from './cluster.js';
import { CLUSTER_FLAGS, clusterFlagValues, parseScenarioArgs, positiveInt, UsageError, type ClusterFlagValues } from './options.js';
import { BENCH_NAMESPACE, createBenchSetup, createCertificate, createPolicy, grantOperatorUser, OPERATOR_USER, POLICY_NAME, writeOperatorKubeconfig, type BenchClients } from './fixtures.js';
import { bucketsBetween, histogramBuckets, histogramQuantile, observations, type Buckets } from './histogram.js';
import { scrapeOperatorMetrics } from './metrics.js';
import { readCpuSeconds, readMemory, RssSampler } from './proc.js';
import { progressEvery } from './progress.js';

// `npm run bench -- --scenario endpoints [--services 100] [--per-service 10] [--concurrency 16] [--json FILE]`
//
// Live endpoint validation at scale, against the compiled operator: one
// network namespace with services x per-service addresses and one nginx
// listening on all of them; a selector-less Service per group of addresses
// with its EndpointSlice. Phase 1: a TLSPolicy selects every Service (full
// scans, profile intermediate) — time until TLSPolicy.status.endpoints has a
// result for each address. Phase 2: one Certificate per Service with
// `endpoints` (leaf-only checks) — time until each has a result for every
// address (stale: nginx serves another certificate), the policy deleted
// first so only leaf checks run; the time includes the issuance by the CA.
// Phase 3: nginx reloads
// with each Certificate's own key pair, picked by SNI — time until every
// Certificate is EndpointsVerified=True. Prints and writes JSON; asserts nothing.

export const ENDPOINTS_USAGE = `usage: npm run bench -- --scenario endpoints [flags]
  --services N       Services (default 100)
  --per-service M    ready addresses behind each (default 10; N x M at most 1021)
  --concurrency C    the operator's --probe-concurrency (default 16)
  --recheck S        the operator's --endpoint-recheck-interval in seconds (default 10)
  --timeout S        give up on a phase after S seconds (default 600)
  --json FILE        also write the JSON result to FILE
  --skip-build       do not run npm run build first (dist/ must be current)
  --keep-dir         keep the environment folder afterwards`;

interface Options extends ClusterFlagValues {
  services: number;
  perService: number;
  concurrency: number;
  recheckSeconds: number;
  timeoutSeconds: number;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { services: { type: 'string' }, 'per-service': { type: 'string' }, concurrency: { type: 'string' }, recheck: { type: 'string' }, timeout: { type: 'string' }, ...CLUSTER_FLAGS },
  });
  if (values.help === true) return 'help';
  const o: Options = {
    services: positiveInt('services', values.services, 100, { max: 1021 }),
    perService: positiveInt('per-service', values['per-service'], 10, { max: 1021 }),
    concurrency: positiveInt('concurrency', values.concurrency, 16, { max: 256 }),
    recheckSeconds: positiveInt('recheck', values.recheck, 10, { max: 3600 }),
    timeoutSeconds: positiveInt('timeout', values.timeout, 600, { max: 3600 }),
    ...clusterFlagValues(values),
  };
  if (o.services * o.perService > 1021) throw new UsageError('--services x --per-service must be at most 1021 (one /22)');
  return o;
}

const ENDPOINT_POLICY = 'bench-endpoints';
const serviceName = (i: number): string => `svc-${String(i).padStart(4, '0')}`;
const hostName = (i: number): string => `${serviceName(i)}.${BENCH_NAMESPACE}.svc`;
const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;
const since = (t: number): number => (performance.now() - t) / 1000;

export interface PhaseFigures {
  endpoints: number;
  /** From the phase's trigger until every endpoint had a result. */
  seconds: number;
  endpointsPerSecond: number;
  probes: number;
  probeP50Ms: number | undefined;
  probeP95Ms: number | undefined;
  /** Operator CPU in the phase. */
  cpuSeconds: number | undefined;
  apiRequests: RequestCounts;
  /** Operator RSS and V8 heap in use when the phase ended, MiB. */
  rssMB: number | undefined;
  heapUsedMB: number | undefined;
}

export interface EndpointsBenchResult {
  services: number;
  addressesPerService: number;
  probeConcurrency: number;
  policyFullScans: PhaseFigures & { compliant: number; violating: number; unreachable: number };
  /** Times from creating the Certificates, so they include issuance: allReadySeconds is when every one was Ready (seen by the 1 s poll). */
  certificateLeafChecks: PhaseFigures & { stale: number; allReadySeconds: number | undefined };
  /** nginx reloaded with every Certificate's key pair until all EndpointsVerified=True (bounded by the recheck interval). */
  reloadToVerified: { seconds: number; recheckSeconds: number; apiRequests: RequestCounts };
  /** The operator with its caches synced, before phase 1. */
  before: { rssMB: number; heapUsedMB: number | undefined };
  peakRssMB: number;
  sampledPeakRssMB: number;
  node: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
}
interface ListedCertificate {
  metadata?: { name?: string };
  status?: { conditions?: Condition[]; endpoints?: { current?: boolean; lastProbeTime?: string }[] };
}

async function listCertificates(clients: BenchClients): Promise<ListedCertificate[]> {
  const items: ListedCertificate[] = [];
  let token: string | undefined;
  do {
    const page = (await clients.customObjects.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: BENCH_NAMESPACE, plural: 'certificates', limit: 500, _continue: token })) as {
      items?: ListedCertificate[];
      metadata?: { continue?: string };
    };
    items.push(...(page.items ?? []));
    token = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
  } while (token !== undefined);
  return items;
}

interface PolicyEndpoints {
  total: number;
  compliant: number;
  violating: number;
  unreachable: number;
  lastProbeTime?: string;
}

async function policyEndpoints(clients: BenchClients): Promise<PolicyEndpoints | undefined> {
  const policy = (await clients.customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name: ENDPOINT_POLICY })) as { status?: { endpoints?: PolicyEndpoints } };
  return policy.status?.endpoints;
}

/** Polls `check` every second until it returns a value; logs its progress every 5 s; fails after the timeout or when the operator dies. */
async function until<T>(what: string, op: OperatorProcess, o: Options, signal: AbortSignal, log: (l: string) => void, check: () => Promise<{ done?: T; progress: string }>): Promise<T> {
  const started = performance.now();
  const progress = progressEvery(5_000, log);
  return waitForReady(
    async ({ observe }) => {
      const r = await check();
      observe(r.progress);
      await progress(() => `  ${what}: ${r.progress} (${since(started).toFixed(0)} s)`);
      return r.done;
    },
    { description: what, timeoutMs: o.timeoutSeconds * 1000, intervalMs: 1_000, watch: [op.process], signal },
  );
}

async function probeBuckets(op: OperatorProcess): Promise<Buckets> {
  return histogramBuckets(await (await fetch(`${op.url}/metrics`)).text(), 'certkeeper_endpoint_probe_duration_seconds');
}

async function figures(endpoints: number, seconds: number, before: Buckets, op: OperatorProcess, cpu: number | undefined, requests: RequestCounts): Promise<PhaseFigures> {
  const after = await probeBuckets(op);
  const rss = readMemory(op.process.pid)?.rssMB;
  const heap = (await scrapeOperatorMetrics(op.url))?.heapUsedMB;
  const buckets = bucketsBetween(before, after);
  const ms = (q: number) => {
    const s = histogramQuantile(buckets, q);
    return s === undefined ? undefined : round(s * 1000, 0);
  };
  return { endpoints, seconds: round(seconds), endpointsPerSecond: round(endpoints / seconds, 1), probes: observations(buckets), probeP50Ms: ms(0.5), probeP95Ms: ms(0.95), cpuSeconds: cpu === undefined ? undefined : round(cpu), apiRequests: requests, rssMB: rss === undefined ? undefined : round(rss, 1), heapUsedMB: heap };
}

export function formatEndpointsReport(r: EndpointsBenchResult): string {
  const p = (f: PhaseFigures) =>
    `${f.seconds} s, ${f.endpointsPerSecond} endpoints/s; ${f.probes} probes, p50 ${f.probeP50Ms ?? '?'} ms, p95 ${f.probeP95Ms ?? '?'} ms; operator CPU ${f.cpuSeconds ?? '?'} s; at the end RSS ${f.rssMB ?? '?'} MB, heap ${f.heapUsedMB ?? '?'} MB; ${f.apiRequests.total} API requests`;
  const top = (c: RequestCounts) => Object.entries(c.byVerbResource).slice(0, 5).map(([k, n]) => `${k} ${n}`).join(', ');
  return [
    `certkeeper bench, endpoints: ${r.services} Services x ${r.addressesPerService} addresses = ${r.policyFullScans.endpoints} endpoints, --probe-concurrency ${r.probeConcurrency} (node ${r.node})`,
    `TLSPolicy full scans   ${p(r.policyFullScans)}`,
    `                       ${r.policyFullScans.compliant} compliant, ${r.policyFullScans.violating} violating, ${r.policyFullScans.unreachable} unreachable; requests: ${top(r.policyFullScans.apiRequests)}`,
    `Certificate leaf checks ${p(r.certificateLeafChecks)}`,
    `                       from creating the Certificates (all Ready after ${r.certificateLeafChecks.allReadySeconds ?? '?'} s); ${r.certificateLeafChecks.stale} addresses stale (nginx served another certificate)`,
    `                       requests: ${top(r.certificateLeafChecks.apiRequests)}`,
    `reload -> verified     ${r.reloadToVerified.seconds} s (recheck interval ${r.reloadToVerified.recheckSeconds} s); ${r.reloadToVerified.apiRequests.total} API requests`,
    `operator memory        peak RSS ${r.peakRssMB} MB (sampled ${r.sampledPeakRssMB} MB); before phase 1 RSS ${r.before.rssMB} MB, heap ${r.before.heapUsedMB ?? '?'} MB`,
  ].join('\n');
}

async function runPhases(o: Options, env: Environment, nginx: NetnsNginx, op: OperatorProcess, clients: BenchClients, signal: AbortSignal, log: (l: string) => void): Promise<EndpointsBenchResult> {
  const endpoints = o.services * o.perService;
  const auditLogPath = env.auditLogPath;
  if (auditLogPath === undefined) throw new Error('environment started without an audit log');
  const audit = new AuditFollower(auditLogPath, OPERATOR_USER);
  audit.readNew();
  const sampler = new RssSampler(op.process.pid);
  sampler.start();
  const cpu = () => readCpuSeconds(op.process.pid);

  const idle = { rssMB: round(readMemory(op.process.pid)?.rssMB ?? Number.NaN, 1), heapUsedMB: (await scrapeOperatorMetrics(op.url))?.heapUsedMB };

  // Phase 1: the policy appears; every address gets a full scan.
  log(`phase 1: TLSPolicy ${ENDPOINT_POLICY} selects ${o.services} Services (${endpoints} endpoints, full scans)`);
  let buckets0 = await probeBuckets(op);
  let cpu0 = cpu();
  let t0 = performance.now();
  await createPolicy(clients, ENDPOINT_POLICY, {
    namespaceSelector: { matchLabels: { bench: 'true' } },
    endpoints: { serviceSelector: { matchLabels: { tier: 'bench' } }, ports: ['https'], profile: 'intermediate', interval: '1h' },
  });
  const scanned = await until('policy results', op, o, signal, log, async () => {
    const e = await policyEndpoints(clients);
    const results = e === undefined ? 0 : e.compliant + e.violating + e.unreachable;
    return { done: e !== undefined && e.total === endpoints && results === endpoints && e.lastProbeTime !== undefined ? e : undefined, progress: `${results}/${endpoints} results (total ${e?.total ?? '?'})` };
  });
  const phase1 = { ...(await figures(endpoints, since(t0), buckets0, op, (cpu() ?? 0) - (cpu0 ?? 0), countRequests(audit.readNew()))), compliant: scanned.compliant, violating: scanned.violating, unreachable: scanned.unreachable };
  log(`phase 1 done in ${phase1.seconds} s; deleting the policy`);
  // Certificates pointing at these Services would change the policy's targets (trust, SNI) and
  // start its full scans over: without the policy, phase 2 measures leaf checks alone.
  await clients.customObjects.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name: ENDPOINT_POLICY });
  await sleep(2_000, undefined, { signal });

  // Phase 2: one Certificate per Service; each address is checked for its leaf.
  log(`phase 2: ${o.services} Certificates with endpoints (${endpoints} leaf checks)`);
  buckets0 = await probeBuckets(op);
  cpu0 = cpu();
  t0 = performance.now();
  for (let i = 0; i < o.services; i++) {
    await createCertificate(clients, BENCH_NAMESPACE, serviceName(i), {
      secretName: `${serviceName(i)}-tls`,
      dnsNames: [hostName(i)],
      policyRef: { name: POLICY_NAME },
      endpoints: [{ service: serviceName(i), port: 443 }],
    });
  }
  let issuedSeconds: number | undefined;
  const checked = await until('certificate results', op, o, signal, log, async () => {
    const certs = await listCertificates(clients);
    const ready = certs.filter((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true).length;
    if (ready === o.services && issuedSeconds === undefined) issuedSeconds = since(t0);
    const withResults = certs.filter((c) => {
      const verified = c.status?.conditions?.find((x) => x.type === 'EndpointsVerified');
      return verified !== undefined && verified.reason !== 'Pending' && (c.status?.endpoints ?? []).filter((e) => e.lastProbeTime !== undefined).length === o.perService;
    });
    const stale = withResults.reduce((n, c) => n + (c.status?.endpoints ?? []).filter((e) => e.current !== true).length, 0);
    return { done: withResults.length === o.services ? stale : undefined, progress: `${ready}/${o.services} Ready, ${withResults.length} with a result for every address` };
  });
  const phase2 = { ...(await figures(endpoints, since(t0), buckets0, op, (cpu() ?? 0) - (cpu0 ?? 0), countRequests(audit.readNew()))), stale: checked, allReadySeconds: issuedSeconds === undefined ? undefined : round(issuedSeconds) };
  log(`phase 2 done in ${phase2.seconds} s`);

  // Phase 3: nginx serves each Certificate's own key pair by SNI; the rechecks find them current.
  const sites: NginxSite[] = [];
  for (let i = 0; i < o.services; i++) {
    const secret = await clients.core.readNamespacedSecret({ namespace: BENCH_NAMESPACE, name: `${serviceName(i)}-tls` });
    const text = (key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
    sites.push({ serverName: hostName(i), certificate: { chainPem: text('tls.crt'), keyPem: text('tls.key') } });
  }
  await nginx.setSites(sites);
  log(`phase 3: nginx reloads with ${sites.length} certificates (by SNI)`);
  t0 = performance.now();
  await nginx.reload();
  await until('every Certificate EndpointsVerified=True', op, o, signal, log, async () => {
    const certs = await listCertificates(clients);
    const verified = certs.filter((c) => c.status?.conditions?.some((x) => x.type === 'EndpointsVerified' && x.status === 'True') === true).length;
    return { done: verified === o.services ? true : undefined, progress: `${verified}/${o.services} verified` };
  });
  const reloadToVerified = { seconds: round(since(t0)), recheckSeconds: o.recheckSeconds, apiRequests: countRequests(audit.readNew()) };
  sampler.sample();
  sampler.stop();
  return {
    services: o.services,
    addressesPerService: o.perService,
    probeConcurrency: o.concurrency,
    policyFullScans: phase1,
    certificateLeafChecks: phase2,
    reloadToVerified,
    before: idle,
    peakRssMB: round(readMemory(op.process.pid)?.peakRssMB ?? Number.NaN, 1),
    sampledPeakRssMB: round(sampler.sampledPeakMB, 1),
    node: process.version,
  };
}

/** Runs the scenario; returns the exit code. Everything it starts (netns included) is gone when it returns. */
export async function runEndpointsScenario(argv: string[], signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const options = parseScenarioArgs(argv, parse, ENDPOINTS_USAGE);
  if (typeof options === 'number') return options;
  await withBenchCluster({ name: 'endpoints', build: !options.skipBuild, audit: true, keepDir: options.keepDir, signal, log }, async (cluster) => {
    const endpoints = options.services * options.perService;
    log(`network namespace with ${endpoints} addresses, one nginx on all of them`);
    const network = await createTestNetwork({ addresses: endpoints, label: 'bench endpoints' });
    let nginx: NetnsNginx | undefined;
    const onExit = (): void => nginx?.process.killNow();
    process.on('exit', onExit);
    try {
      nginx = await startBenchNginx(network, 'bench', cluster.dir);
      const { clients } = cluster;
      await createBenchSetup(clients);
      await grantOperatorUser(clients);
      const operatorKubeconfig = join(cluster.dir, 'operator.kubeconfig');
      await writeOperatorKubeconfig(cluster.kubeconfigPath, operatorKubeconfig);
      log(`creating ${options.services} Services and EndpointSlices`);
      await createBenchServices(clients, network.addresses, { services: options.services, perService: options.perService, name: serviceName, tier: 'bench' });

      const operator = await cluster.startOperator({
        compiled: true,
        kubeconfigPath: operatorKubeconfig,
        leaderElect: false,
        logLevel: 'info',
        env: { CERTKEEPER_PROBE_CONCURRENCY: String(options.concurrency), CERTKEEPER_ENDPOINT_RECHECK_INTERVAL: `${options.recheckSeconds}s` },
      });
      await waitForOperatorReady(operator, 60_000);
      const result = await runPhases(options, cluster.env, nginx, operator, clients, signal, log);
      const json = JSON.stringify(result, null, 2);
      process.stdout.write(`\n${formatEndpointsReport(result)}\n\n${json}\n`);
      if (options.json !== undefined) await writeFile(options.json, `${json}\n`);
    } finally {
      await nginx?.stop();
      await network.teardown();
      process.off('exit', onExit);
    }
  });
  return 0;
}
