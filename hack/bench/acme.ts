import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GROUP, VERSION } from '../../src/api/meta.js';
import { localAcmeEnv, waitForOperatorReady, type OperatorProcess } from '../env/index.js';
import { waitForReady } from '../env/processes.js';
import { withBenchCluster } from './cluster.js';
import { AuditFollower, countRequests } from './audit.js';
import { createCertificate, createPolicy, grantOperatorUser, OPERATOR_USER, writeOperatorKubeconfig, type BenchClients } from './fixtures.js';
import { CLUSTER_FLAGS, parseScenarioArgs, positiveInt } from './options.js';
import { readCpuSeconds, readMachineBusySeconds } from './proc.js';
import { cpuProfilerNodeOptions, formatProfile, PROFILE_SPLIT_SIGNAL, summarizeProfiles } from './profile.js';

// `npm run bench -- --scenario acme [--single 7] [--batch 200] [--workers 16] [--keep-dir]`
//
// ACME issuance against the environment's Pebble (PEBBLE_VA_NOSLEEP=1, its
// 5 % bad nonces on) with HTTP-01 through the operator's responder and a
// temporary Ingress per challenge: the time from creating one Certificate to
// Ready (median of several, one at a time), then for a batch created at once.
// For the one-at-a-time issuances, where the time goes, from the operator's
// metrics: its requests to the CA by action, the steps of its own work
// (Kubernetes reads and writes, self-check, CSR), the rest of its reconciles,
// and what is left: waiting (poll delays, watch and queue latency).
// Pebble's Retry-After is off by default (`--pebble-retry-after 0,0`): with
// PEBBLE_VA_NOSLEEP it validates and issues at once, and the operator honours
// a Retry-After, so the environment's 1 s / 1 s would be timed instead.
// Prints; asserts nothing.

export const ACME_USAGE = `usage: npm run bench -- --scenario acme [flags]
  --single N     one-at-a-time issuances to time (default 7)
  --batch N      Certificates created at once (default 200)
  --workers W    operator workers (default 16)
  --pebble-retry-after A,O
                 Retry-After (s) Pebble sends on authorizations being validated
                 and on processing orders; 0 sends none (default 0,0)
  --cpu-prof DIR profile the operator into DIR: until the batch starts, then the batch
  --audit        kube-apiserver writes an audit log; the operator's API requests during the
                 batch are counted per Certificate by verb and resource (the log costs CPU:
                 compare rates only between runs with the same setting)
  --keep-dir     keep the environment folder afterwards`;

const NAMESPACE = 'bench-acme';
const POLICY = 'bench-acme';

interface Options {
  single: number;
  batch: number;
  workers: number;
  retryAfter: { authz: number; order: number };
  cpuProfDir: string | undefined;
  audit: boolean;
  keepDir: boolean;
}

function parseRetryAfterFlag(value: string | undefined): { authz: number; order: number } {
  if (value === undefined) return { authz: 0, order: 0 };
  const m = /^(\d{1,3}),(\d{1,3})$/.exec(value);
  if (m === null) throw new Error(`--pebble-retry-after wants AUTHZ,ORDER in seconds (e.g. 3,5), not "${value}"`);
  return { authz: Number(m[1]), order: Number(m[2]) };
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({ args: argv, strict: true, options: { single: { type: 'string' }, batch: { type: 'string' }, workers: { type: 'string' }, 'pebble-retry-after': { type: 'string' }, 'cpu-prof': { type: 'string' }, audit: { type: 'boolean' }, ...CLUSTER_FLAGS } });
  if (values.help === true) return 'help';
  return {
    single: positiveInt('single', values.single, 7, { min: 0 }),
    batch: positiveInt('batch', values.batch, 200, { min: 0 }),
    workers: positiveInt('workers', values.workers, 16, { min: 0 }),
    retryAfter: parseRetryAfterFlag(values['pebble-retry-after']),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
    audit: values.audit === true,
    keepDir: values['keep-dir'] === true,
  };
}

interface Cert {
  status?: { conditions?: { type: string; status: string }[] };
  metadata: { name: string };
}
const ready = (c: Cert) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;

/** One Certificate issued through the bench's ACME policy. */
function createAcmeCertificate(clients: BenchClients, name: string): Promise<void> {
  return createCertificate(clients, NAMESPACE, name, { secretName: `${name}-tls`, dnsNames: [`${name}.bench.test`], privateKey: { algorithm: 'ECDSA' }, policyRef: { name: POLICY } });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

/** Every sample of the operator's /metrics, by its full series name (name and labels, as printed). */
async function scrape(op: OperatorProcess): Promise<Map<string, number>> {
  const text = await (await fetch(`${op.url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const m of text.matchAll(/^(certkeeper_[a-z_]+(?:\{[^}]*\})?) ([-+0-9.eE]+|NaN)$/gm)) samples.set(m[1] ?? '', Number(m[2]));
  return samples;
}

/** Sums, over the series of `metric` that changed between two scrapes, the change, keyed by the value of `label`. */
function deltaBy(before: Map<string, number>, after: Map<string, number>, metric: string, label: string, filter = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const [series, value] of after) {
    if (!series.startsWith(`${metric}{`) || !series.includes(filter)) continue;
    const key = new RegExp(`${label}="([^"]*)"`).exec(series)?.[1] ?? '';
    out.set(key, (out.get(key) ?? 0) + value - (before.get(series) ?? 0));
  }
  return out;
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/**
 * Where the time of `n` one-at-a-time issuances went, per issuance: CA
 * requests by action, the operator's own steps, the rest of its reconciles,
 * and waiting (apply to Ready minus reconcile time: poll delays, watch and queue latency).
 */
function breakdown(before: Map<string, number>, after: Map<string, number>, n: number, applyToReadyMs: number) {
  const per = (x: number) => x / Math.max(1, n);
  const caMs = deltaBy(before, after, 'certkeeper_acme_client_request_duration_seconds_sum', 'action');
  const caCount = deltaBy(before, after, 'certkeeper_acme_client_request_duration_seconds_count', 'action');
  const stepMs = deltaBy(before, after, 'certkeeper_acme_issuance_step_duration_seconds_sum', 'step');
  const stepCount = deltaBy(before, after, 'certkeeper_acme_issuance_step_duration_seconds_count', 'step');
  const reconcileMs = per(total(deltaBy(before, after, 'certkeeper_reconcile_duration_seconds_sum', 'controller', 'controller="certificate"')) * 1000);
  const reconciles = per(total(deltaBy(before, after, 'certkeeper_reconcile_duration_seconds_count', 'controller', 'controller="certificate"')));
  const rows = (ms: Map<string, number>, count: Map<string, number>) =>
    [...ms.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ name: k, ms: per(v * 1000), count: per(count.get(k) ?? 0) }));
  const ca = rows(caMs, caCount);
  const steps = rows(stepMs, stepCount);
  const caTotal = ca.reduce((a, r) => a + r.ms, 0);
  const stepTotal = steps.reduce((a, r) => a + r.ms, 0);
  return { reconciles, reconcileMs, ca, caTotal, steps, stepTotal, otherReconcileMs: reconcileMs - caTotal - stepTotal, waitingMs: applyToReadyMs - reconcileMs };
}

/** Polls `probe` while the operator runs; `intervalMs` paces the polls that time issuances. */
function untilDone<T>(op: OperatorProcess, description: string, intervalMs: number, timeoutMs: number, signal: AbortSignal, probe: () => Promise<T | undefined>): Promise<Exclude<T, undefined>> {
  return waitForReady(probe, { description, timeoutMs, intervalMs, watch: [op.process], signal });
}

export async function runAcmeScenario(argv: string[], signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const options = parseScenarioArgs(argv, parse, ACME_USAGE);
  if (typeof options === 'number') return options;
  await withBenchCluster({ name: 'acme', build: false, acme: true, audit: options.audit, pebbleRetryAfter: options.retryAfter, keepDir: options.keepDir, signal, log }, async (cluster) => {
    const { env, clients, startOperator } = cluster;
    const acme = env.acme;
    if (acme === undefined) throw new Error('the environment has no ACME components');
    const objects = clients.customObjects;
    await clients.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const profileDir = options.cpuProfDir;
    if (profileDir !== undefined) await mkdir(profileDir, { recursive: true });
    // With --audit the operator runs as a user of its own (impersonated), so its requests can be told apart.
    let audit: AuditFollower | undefined;
    let operatorKubeconfig: string | undefined;
    if (options.audit) {
      if (env.auditLogPath === undefined) throw new Error('environment started without an audit log');
      await grantOperatorUser(clients);
      operatorKubeconfig = join(cluster.dir, 'operator.kubeconfig');
      await writeOperatorKubeconfig(cluster.kubeconfigPath, operatorKubeconfig);
      audit = new AuditFollower(env.auditLogPath, OPERATOR_USER);
    }
    const operator = await startOperator({
      ...(operatorKubeconfig === undefined ? {} : { kubeconfigPath: operatorKubeconfig }),
      leaderElect: false,
      workers: options.workers,
      env: {
        ...localAcmeEnv({ http01Port: acme.httpChallengePort, caFile: acme.serverCaPath, nameserver: acme.dnsServer }),
        ...(profileDir === undefined ? {} : { NODE_OPTIONS: await cpuProfilerNodeOptions(profileDir) }),
      },
      stopGraceMs: profileDir === undefined ? 5_000 : 60_000,
    });
    await waitForOperatorReady(operator);
    await createPolicy(clients, POLICY, {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } },
      issuer: { acme: { server: acme.directoryUrl, privateKeySecretRef: { name: 'bench-acme-account' }, solvers: [{ http01: { ingress: { ingressClassName: 'bench' } } }] } },
    });
    await untilDone(operator, `TLSPolicy ${POLICY} Ready (ACME account registered)`, 100, 60_000, signal, async () => {
      const p = (await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name: POLICY })) as Cert;
      return ready(p) ? true : undefined;
    });
    log('account registered');

    const singles: number[] = [];
    const beforeSingles = await scrape(operator);
    // CPU seconds of each process of ours, and of the whole machine (others' work included).
    const cpu = () => {
      const pids = [{ name: 'operator', pid: operator.process.pid }, ...env.processes.map((p) => ({ name: p.name, pid: p.pid }))];
      return { at: performance.now(), machine: readMachineBusySeconds() ?? 0, by: new Map(pids.map((p) => [p.name, readCpuSeconds(p.pid) ?? 0])) };
    };
    for (let i = 0; i < options.single; i++) {
      const name = `one-${i}-${randomBytes(2).toString('hex')}`;
      const started = performance.now();
      await createAcmeCertificate(clients, name);
      await untilDone(operator, `Certificate ${NAMESPACE}/${name} Ready`, 20, 120_000, signal, async () => {
        const c = (await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace: NAMESPACE, name })) as Cert;
        return ready(c) ? true : undefined;
      });
      singles.push(performance.now() - started);
      log(`single ${i + 1}/${options.single}: ${(singles[singles.length - 1] ?? 0).toFixed(0)} ms`);
    }

    const afterSingles = await scrape(operator);
    const phases = breakdown(beforeSingles, afterSingles, singles.length, singles.reduce((a, b) => a + b, 0) / Math.max(1, singles.length));
    const before = afterSingles;
    const cpuBefore = cpu();
    // The profile so far (start, account, one-at-a-time issuances) is saved; what follows is the batch.
    if (profileDir !== undefined) process.kill(operator.process.pid, PROFILE_SPLIT_SIGNAL);
    audit?.readNew();
    const batchStarted = performance.now();
    const names = Array.from({ length: options.batch }, (_, i) => `batch-${i}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((n) => createAcmeCertificate(clients, n)));
    }
    await untilDone(operator, `all ${options.batch} batch Certificates Ready`, 250, 600_000, signal, async () => {
      const list = (await objects.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace: NAMESPACE })) as { items: Cert[] };
      return list.items.filter((c) => c.metadata.name.startsWith('batch-') && ready(c)).length >= options.batch ? true : undefined;
    });
    const batchMs = performance.now() - batchStarted;
    const cpuAfter = cpu();
    const cpuSeconds: Record<string, number> = Object.fromEntries(
      [...cpuAfter.by].map(([name, sec]): [string, number] => [name, sec - (cpuBefore.by.get(name) ?? 0)]).sort((x, y) => y[1] - x[1]),
    );
    const machineBusy = cpuAfter.machine - cpuBefore.machine;
    const cores = availableParallelism();
    const apiRequests = audit === undefined ? undefined : countRequests(audit.readNew());
    const byAction = deltaBy(before, await scrape(operator), 'certkeeper_acme_client_requests_total', 'action');
    const requests = total(byAction);
    const perCert = (x: number) => (x / Math.max(1, options.batch)).toFixed(2);
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    const report = [
      `ACME issuance against Pebble ${env.versions.pebble ?? ''} (HTTP-01, temporary Ingress, ${options.workers} workers, Pebble Retry-After ${options.retryAfter.authz} s / ${options.retryAfter.order} s)`,
      `  one Certificate, apply to Ready: median ${median(singles).toFixed(0)} ms, min ${Math.min(...singles).toFixed(0)} ms, max ${Math.max(...singles).toFixed(0)} ms (n=${singles.length})`,
      `    per issuance (mean): ${phases.reconciles.toFixed(1)} reconciles taking ${ms(phases.reconcileMs)}, waiting between them ${ms(phases.waitingMs)}`,
      `    requests to the CA ${ms(phases.caTotal)}: ${phases.ca.map((r) => `${r.name} ${ms(r.ms)} (${r.count.toFixed(1)}×)`).join(', ')}`,
      `    own steps ${ms(phases.stepTotal)}: ${phases.steps.map((r) => `${r.name} ${ms(r.ms)} (${r.count.toFixed(1)}×)`).join(', ')}`,
      `    rest of the reconciles (decide, caches, status of Ready, events) ${ms(phases.otherReconcileMs)}`,
      `  ${options.batch} Certificates at once, first apply to all Ready: ${(batchMs / 1000).toFixed(1)} s (${((options.batch * 1000) / batchMs).toFixed(1)} per second), ${requests} requests to the CA (${perCert(requests)} per Certificate: ${[...byAction.entries()].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${perCert(v)}`).join(', ')})`,
      `    CPU during the batch: ${Object.entries(cpuSeconds)
        .map(([name, sec]) => `${name} ${sec.toFixed(1)} s`)
        .join(', ')}; the machine was busy ${machineBusy.toFixed(1)} of ${((cores * batchMs) / 1000).toFixed(1)} CPU-seconds (${cores} cores, others' work included)`,
      ...(apiRequests === undefined
        ? []
        : [
            `    the operator's API requests during the batch: ${perCert(apiRequests.total)} per Certificate (${Object.entries(apiRequests.byVerbResource)
              .map(([k, v]) => `${k} ${perCert(v)}`)
              .join(', ')})`,
          ]),
    ];
    process.stdout.write(`\n${report.join('\n')}\n`);
    process.stdout.write(
      `${JSON.stringify({
        singleMs: singles.map(Math.round),
        singleMedianMs: Math.round(median(singles)),
        pebbleRetryAfterSeconds: options.retryAfter,
        singleBreakdownMs: phases,
        batch: options.batch,
        batchMs: Math.round(batchMs),
        caRequests: requests,
        caRequestsByAction: Object.fromEntries(byAction),
        batchCpuSeconds: cpuSeconds,
        batchMachineBusySeconds: machineBusy,
        ...(apiRequests === undefined ? {} : { batchApiRequests: apiRequests }),
      })}\n`,
    );

  });
  if (options.cpuProfDir !== undefined) for (const profile of await summarizeProfiles(options.cpuProfDir)) process.stdout.write(`\n${formatProfile(profile)}\n`);
  return 0;
}
