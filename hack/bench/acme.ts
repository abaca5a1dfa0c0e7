import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { GROUP, VERSION } from '../../src/api/meta.js';
import { localAcmeEnv, waitForOperatorReady, type OperatorProcess } from '../env/index.js';
import { waitForReady } from '../env/processes.js';
import { withBenchCluster } from './cluster.js';
import { createCertificate, createPolicy, type BenchClients } from './fixtures.js';
import { CLUSTER_FLAGS, parseScenarioArgs, positiveInt } from './options.js';

// `npm run bench -- --scenario acme [--single 7] [--batch 200] [--workers 16] [--keep-dir]`
//
// ACME issuance against the environment's Pebble (PEBBLE_VA_NOSLEEP=1, its
// 5 % bad nonces on) with HTTP-01 through the operator's responder and a
// temporary Ingress per challenge: the time from creating one Certificate to
// Ready (median of several, one at a time), then for a batch created at once.
// Prints; asserts nothing.

export const ACME_USAGE = `usage: npm run bench -- --scenario acme [flags]
  --single N     one-at-a-time issuances to time (default 7)
  --batch N      Certificates created at once (default 200)
  --workers W    operator workers (default 16)
  --keep-dir     keep the environment folder afterwards`;

const NAMESPACE = 'bench-acme';
const POLICY = 'bench-acme';

interface Options {
  single: number;
  batch: number;
  workers: number;
  keepDir: boolean;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({ args: argv, strict: true, options: { single: { type: 'string' }, batch: { type: 'string' }, workers: { type: 'string' }, ...CLUSTER_FLAGS } });
  if (values.help === true) return 'help';
  return {
    single: positiveInt('single', values.single, 7, { min: 0 }),
    batch: positiveInt('batch', values.batch, 200, { min: 0 }),
    workers: positiveInt('workers', values.workers, 16, { min: 0 }),
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

async function acmeRequests(op: OperatorProcess): Promise<number> {
  const text = await (await fetch(`${op.url}/metrics`)).text();
  return [...text.matchAll(/^certkeeper_acme_client_requests_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Polls `probe` while the operator runs; `intervalMs` paces the polls that time issuances. */
function untilDone<T>(op: OperatorProcess, description: string, intervalMs: number, timeoutMs: number, signal: AbortSignal, probe: () => Promise<T | undefined>): Promise<Exclude<T, undefined>> {
  return waitForReady(probe, { description, timeoutMs, intervalMs, watch: [op.process], signal });
}

export async function runAcmeScenario(argv: string[], signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const options = parseScenarioArgs(argv, parse, ACME_USAGE);
  if (typeof options === 'number') return options;
  await withBenchCluster({ name: 'acme', build: false, acme: true, keepDir: options.keepDir, signal, log }, async ({ env, clients, startOperator }) => {
    const acme = env.acme;
    if (acme === undefined) throw new Error('the environment has no ACME components');
    const objects = clients.customObjects;
    await clients.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const operator = await startOperator({
      leaderElect: false,
      workers: options.workers,
      env: localAcmeEnv({ http01Port: acme.httpChallengePort, caFile: acme.serverCaPath, nameserver: acme.dnsServer }),
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

    const before = await acmeRequests(operator);
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
    const requests = (await acmeRequests(operator)) - before;
    const report = [
      `ACME issuance against Pebble ${env.versions.pebble ?? ''} (HTTP-01, temporary Ingress, ${options.workers} workers)`,
      `  one Certificate, apply to Ready: median ${median(singles).toFixed(0)} ms, min ${Math.min(...singles).toFixed(0)} ms, max ${Math.max(...singles).toFixed(0)} ms (n=${singles.length})`,
      `  ${options.batch} Certificates at once, first apply to all Ready: ${(batchMs / 1000).toFixed(1)} s (${((options.batch * 1000) / batchMs).toFixed(1)} per second), ${requests} requests to the CA (${(requests / Math.max(1, options.batch)).toFixed(1)} per Certificate)`,
    ];
    process.stdout.write(`\n${report.join('\n')}\n`);
    process.stdout.write(`${JSON.stringify({ singleMs: singles.map(Math.round), singleMedianMs: Math.round(median(singles)), batch: options.batch, batchMs: Math.round(batchMs), caRequests: requests })}\n`);

  });
  return 0;
}
