/**
 * `npm run demo`: certkeeper end to end on this machine, in about half a minute
 * (plus a one-time build of the control plane, ~5 min, on a fresh machine).
 *
 * A real etcd + kube-apiserver and Pebble (the ACME test CA) start on
 * loopback in a temp dir; the platform team's CA and TLSPolicy and an app
 * team's Certificates are created; the operator runs as a real process and
 * issues (and refuses); a real TLS handshake proves the issued Secret works;
 * a second Certificate is issued by Pebble through ACME HTTP-01; nginx
 * "pods" in a network namespace serve both behind Services and the operator
 * validates them live, through a renewal one pod missed; the policy grades
 * them; the inventory lists every TLS Secret, managed or not. Everything is torn down again,
 * also on Ctrl-C. The endpoint steps need root (network namespaces).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP, VERSION } from '../src/api/meta.js';
import { parseCertificateChainPem, summarizeCertificate } from '../src/pki/certificates.js';
import { buildBundle } from './build.js';
import { issueThroughAcme } from './demo/acme.js';
import { bold, detail, dim, facts, formatSeconds, green, red, Steps, yellow } from './demo/console.js';
import { gradeEdge, renewAndReload, serveAndVerify } from './demo/endpoints.js';
import { showInventory } from './demo/inventory.js';
import {
  APP_NAMESPACE,
  CA_SECRET,
  CHECKOUT,
  createDemoCa,
  internalCaPolicy,
  INTRUDER,
  intruderCertificate,
  namespace,
  OPERATOR_NAMESPACE,
  POLICY,
  STOREFRONT,
  STOREFRONT_NAMES,
  STOREFRONT_SECRET,
  storefrontCertificate,
} from './demo/manifests.js';
import { api, clientsFor, DemoFailure, interrupt, interruptible, safetyNet, secretField, teardown, yamlBlock, type Clients, type Cluster, type RunningDemo } from './demo/runtime.js';
import { handshake } from './demo/tls-check.js';
import { readyCondition, waitForOutcome, type Outcome } from './demo/wait.js';
import {
  ensureTools,
  localAcmeEnv,
  startEnvironment,
  startOperatorProcess,
  waitForOperatorReady,
  type OperatorProcess,
} from './env/index.js';

const ISSUANCE_TIMEOUT_MS = 60_000;
const LEASE_NAME = 'certkeeper-operator';
/** After Ctrl-C, how long the run may take to reach its own teardown before the handler does it. */
const INTERRUPT_GRACE_MS = 45_000;
/**
 * tsx's CLI forwards a Ctrl-C to this process although the terminal already
 * delivered it, so one key press can arrive twice: only a signal this long
 * after the first counts as "press again to force".
 */
const REPEAT_SIGNAL_MS = 1_000;

const steps = new Steps(11);
let operator: OperatorProcess | undefined;
let interruptedAt: number | undefined;

async function startCluster(): Promise<Cluster> {
  detail('Building etcd, kube-apiserver and Pebble if they are not cached yet (first time only: ~5 min) ...');
  const toolsStartedAt = performance.now();
  const tools = await ensureTools();
  detail(`tools ready in ${formatSeconds(performance.now() - toolsStartedAt)}`);

  const workDir = await mkdtemp(join(tmpdir(), 'certkeeper-demo-'));
  safetyNet.watchDir(workDir);
  await teardown.add(`removed ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
  detail(`working directory: ${workDir}`);

  const env = await startEnvironment({
    dir: join(workDir, 'env'),
    components: { kube: true, acme: true },
    tools,
    crds: true,
    signal: interrupt.signal,
    log: (line) => detail(dim(line)),
    onProcessStarted: (record) => safetyNet.watchProcess(record),
  });
  await teardown.add('stopped pebble, pebble-challtestsrv, kube-apiserver and etcd', () => env.stop());
  if (env.kubeconfigPath === undefined) throw new DemoFailure('the environment started without a kubeconfig');
  if (env.acme === undefined) throw new DemoFailure('the environment started without Pebble');
  const acme = env.acme;

  facts([
    ['API server', `${env.apiserverUrl ?? '?'} (kube-apiserver ${env.versions.kubeApiserver ?? '?'}, etcd ${env.versions.etcd ?? '?'})`],
    ['ACME server', `${env.acme?.directoryUrl ?? '?'} (Pebble ${env.versions.pebble ?? '?'}; DNS ${acme.dnsServer} via pebble-challtestsrv)`],
    ['kubeconfig', env.kubeconfigPath],
  ]);
  return { workDir, kubeconfigPath: env.kubeconfigPath, clients: clientsFor(env.kubeconfigPath), acme };
}

async function createCa({ core }: Clients): Promise<void> {
  await api(`creating namespace ${OPERATOR_NAMESPACE}`, () => core.createNamespace({ body: namespace(OPERATOR_NAMESPACE) }));
  detail(`namespace ${OPERATOR_NAMESPACE} created (the operator's home: CA Secrets, leader Lease)`);
  const ca = await createDemoCa(new Date());
  await api(`creating Secret ${OPERATOR_NAMESPACE}/${CA_SECRET}`, () =>
    core.createNamespacedSecret({ namespace: OPERATOR_NAMESPACE, body: ca.secret }),
  );
  detail(`Secret ${OPERATOR_NAMESPACE}/${CA_SECRET} (kubernetes.io/tls: tls.crt, tls.key, ca.crt) holds a CA made just now:`);
  facts([
    ['subject', ca.summary.subject],
    ['key', `${ca.summary.keyAlgorithm} P-${ca.summary.keySize ?? '?'} (generated now, never printed)`],
    ['valid until', ca.summary.notAfter.toISOString()],
    ['SHA-256', ca.summary.fingerprintSHA256],
  ]);
}

async function createPolicyAndCertificates({ core, customObjects }: Clients): Promise<void> {
  await api(`creating namespace ${APP_NAMESPACE}`, () => core.createNamespace({ body: namespace(APP_NAMESPACE, { team: 'shop' }) }));
  detail(`namespace ${APP_NAMESPACE} created, labelled team=shop`);

  await api(`creating TLSPolicy ${POLICY}`, () =>
    customObjects.createClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', body: internalCaPolicy }),
  );
  detail(`TLSPolicy ${POLICY} (cluster-scoped, the platform team's rules for namespaces labelled team=shop):`);
  yamlBlock({ spec: internalCaPolicy.spec });

  for (const cert of [storefrontCertificate, intruderCertificate]) {
    await api(`creating Certificate ${APP_NAMESPACE}/${cert.metadata.name}`, () =>
      customObjects.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: APP_NAMESPACE, plural: 'certificates', body: cert }),
    );
  }
  detail(`Certificate ${APP_NAMESPACE}/${STOREFRONT} (what the app team applies):`);
  yamlBlock({ spec: storefrontCertificate.spec });
  detail(`Certificate ${APP_NAMESPACE}/${INTRUDER} asks for ${intruderCertificate.spec.dnsNames.join(', ')}, outside allowedDomains: it must be refused.`);
}

/**
 * The operator's settings for this machine: wired to the environment's Pebble
 * (localAcmeEnv: the self-check resolves through challtestsrv), and a 2 s
 * endpoint recheck so a reload shows within seconds (30 s in production).
 */
function operatorEnv(cluster: Cluster): Record<string, string> {
  const { acme } = cluster;
  return {
    ...localAcmeEnv({ http01Port: acme.httpChallengePort, caFile: acme.serverCaPath, nameserver: acme.dnsServer }),
    CERTKEEPER_ACME_SELF_CHECK_TIMEOUT: '20s',
    CERTKEEPER_ENDPOINT_RECHECK_INTERVAL: '2s',
  };
}

async function runOperator(cluster: Cluster): Promise<{ outcome: Outcome; demo: RunningDemo }> {
  const logFile = join(cluster.workDir, 'operator.log');
  const env = operatorEnv(cluster);
  const started = await interruptible(
    startOperatorProcess({ kubeconfigPath: cluster.kubeconfigPath, logFile, leaderElect: true, env, compiled: true }),
    (late) => late.process.stop(),
  );
  operator = started;
  safetyNet.watchProcess(started.process.record);
  await teardown.add(
    `stopped the operator, pid ${started.process.pid} (on SIGTERM it releases its Lease)`,
    () => started.process.stop(),
    () => started.process.describeExit(),
  );
  detail(`operator running: pid ${started.process.pid}, health at ${started.url}, log ${logFile}`);
  detail(dim(`  ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`));

  await interruptible(waitForOperatorReady(started, 30_000));
  const lease = await api(`reading Lease ${OPERATOR_NAMESPACE}/${LEASE_NAME}`, () =>
    cluster.clients.coordination.readNamespacedLease({ namespace: OPERATOR_NAMESPACE, name: LEASE_NAME }),
  );
  detail(`leader election won: Lease ${OPERATOR_NAMESPACE}/${LEASE_NAME} is held by ${lease.spec?.holderIdentity ?? '?'}; caches synced`);
  detail(`waiting (up to ${ISSUANCE_TIMEOUT_MS / 1000} s) for ${STOREFRONT} Ready=True and ${INTRUDER} Ready=False/DomainNotAllowed:`);

  const outcome = await waitForOutcome({
    api: cluster.clients.customObjects,
    namespace: APP_NAMESPACE,
    storefront: STOREFRONT,
    intruder: INTRUDER,
    operator: started,
    timeoutMs: ISSUANCE_TIMEOUT_MS,
    signal: interrupt.signal,
    report: (line) => detail(dim(`  ${line}`)),
  });

  const status = outcome.storefront.status;
  detail(green(`${APP_NAMESPACE}/${STOREFRONT} is Ready: issued into Secret ${STOREFRONT_SECRET}`));
  facts([
    ['  policy', status?.policy ?? '?'],
    ['  serial', status?.serialNumber ?? '?'],
    ['  valid', `${status?.notBefore ?? '?'} .. ${status?.notAfter ?? '?'}`],
    ['  renews at', `${status?.renewalTime ?? '?'} (${status?.renewalBasis ?? '?'})`],
    ['  SHA-256', status?.fingerprintSHA256 ?? '?'],
  ]);
  const refused = readyCondition(outcome.intruder);
  detail(yellow(`${APP_NAMESPACE}/${INTRUDER} was refused by the guardrail: Ready=${refused?.status ?? '?'}, reason ${refused?.reason ?? '?'}`));
  detail(`  message: ${refused?.message ?? '?'}`);
  return { outcome, demo: { cluster, operator: started } };
}

async function proveServed({ core }: Clients, outcome: Outcome): Promise<void> {
  const secret = await api(`reading Secret ${APP_NAMESPACE}/${STOREFRONT_SECRET}`, () =>
    core.readNamespacedSecret({ namespace: APP_NAMESPACE, name: STOREFRONT_SECRET }),
  );
  if (secret.type !== 'kubernetes.io/tls') throw new DemoFailure(`Secret ${APP_NAMESPACE}/${STOREFRONT_SECRET} has type ${secret.type ?? 'none'}, expected kubernetes.io/tls`);
  const where = `${APP_NAMESPACE}/${STOREFRONT_SECRET}`;
  const certificatePem = secretField(secret.data, 'tls.crt', where);
  const privateKeyPem = secretField(secret.data, 'tls.key', where);
  const caPem = secretField(secret.data, 'ca.crt', where);
  const [leaf] = parseCertificateChainPem(certificatePem, `tls.crt of Secret ${APP_NAMESPACE}/${STOREFRONT_SECRET}`);
  if (leaf === undefined) throw new DemoFailure(`tls.crt of Secret ${APP_NAMESPACE}/${STOREFRONT_SECRET} holds no certificate`);
  const secretFingerprint = summarizeCertificate(leaf).fingerprintSHA256;

  const serverName = STOREFRONT_NAMES[0];
  detail(`serving tls.crt + tls.key with node:tls on 127.0.0.1; the client trusts only ca.crt and sends SNI ${serverName}`);
  const result = await interruptible(handshake({ certificatePem, privateKeyPem, caPem, serverName }));
  facts([
    ['port', String(result.port)],
    ['authorized', result.authorized ? 'yes (chain verified against ca.crt, name matched)' : `NO: ${result.authorizationError ?? 'unknown reason'}`],
    ['protocol', result.protocol],
    ['cipher', result.cipher],
    ['subject', result.subject === '' ? '(empty: the names are in the SANs)' : result.subject],
    ['issuer', result.issuer],
    ['SANs', result.dnsNames.join(', ')],
    ['notAfter', result.notAfter.toISOString()],
    ['SHA-256', result.fingerprintSHA256],
    ['server said', result.greeting],
  ]);

  const problems: string[] = [];
  if (!result.authorized) problems.push(`the client did not authorize the server: ${result.authorizationError ?? 'unknown reason'}`);
  const expected = outcome.storefront.status?.fingerprintSHA256;
  if (result.fingerprintSHA256 !== expected) {
    problems.push(`served leaf SHA-256 ${result.fingerprintSHA256} != Certificate status.fingerprintSHA256 ${expected ?? '(none)'}`);
  }
  if (result.fingerprintSHA256 !== secretFingerprint) problems.push(`served leaf SHA-256 ${result.fingerprintSHA256} != tls.crt in the Secret ${secretFingerprint}`);
  const missing = STOREFRONT_NAMES.filter((name) => !result.dnsNames.includes(name));
  if (missing.length > 0) problems.push(`the served certificate lacks ${missing.join(', ')}`);
  if (problems.length > 0) throw new DemoFailure(`the served certificate is not the one certkeeper issued:\n  ${problems.join('\n  ')}`);
  detail(green('served leaf = Secret tls.crt = Certificate status.fingerprintSHA256, and the handshake verified'));
}

async function main(): Promise<number> {
  const startedAt = performance.now();
  console.log(bold('certkeeper demo') + dim(' — a local Kubernetes API server, a CA and an ACME policy, the operator, live endpoint validation, the inventory'));
  let failure: unknown;
  try {
    await steps.run('Bundle the operator as the image ships it (esbuild, hack/build.ts)', async () => detail(await buildBundle()));
    const cluster = await steps.run('Start a local Kubernetes API server (etcd + kube-apiserver) and Pebble, install the CRDs', startCluster);
    await steps.run(`Create the operator namespace and the CA Secret ${CA_SECRET}`, () => createCa(cluster.clients));
    await steps.run(`Create namespace ${APP_NAMESPACE}, TLSPolicy ${POLICY} and Certificates ${STOREFRONT} + ${INTRUDER}`, () =>
      createPolicyAndCertificates(cluster.clients),
    );
    const { outcome, demo } = await steps.run('Start the operator and wait for it to issue (and refuse)', () => runOperator(cluster));
    await steps.run(`Serve ${STOREFRONT_SECRET} over TLS and verify it like a client would`, () => proveServed(cluster.clients, outcome));
    const acme = await steps.run(`Issue Certificate ${CHECKOUT} through ACME (Pebble, HTTP-01)`, () => issueThroughAcme(demo));
    const pods = await steps.run(`Serve ${CHECKOUT} (two pods) and ${STOREFRONT} (one) from nginx behind Services; the operator validates them live`, () =>
      serveAndVerify(demo, acme.fingerprintSHA256, outcome.storefront.status?.fingerprintSHA256 ?? ''),
    );
    await steps.run('Renew; reload only one pod; the operator names the stale one; reload it', () => renewAndReload(demo, pods, acme.fingerprintSHA256));
    await steps.run(`TLSPolicy ${POLICY} grades the edge Services' pods against Mozilla intermediate`, () => gradeEdge(demo, pods));
    await steps.run('Inventory: `certkeeper status -o wide` and `certkeeper inventory -A`', () => showInventory(cluster));
  } catch (error) {
    failure = error;
  }
  const clean = await steps.final('Tear down (nginx pods, network namespace, operator, environment, temp dir)', () => teardown.run());
  // Only a complete teardown dismisses the safety net; otherwise it retries once this process exits.
  if (clean) await safetyNet.release();
  const total = formatSeconds(performance.now() - startedAt);

  if (interrupt.signal.aborted) {
    console.log(`\n${yellow(`certkeeper demo interrupted after ${total}; everything it started was stopped.`)}`);
    return 130;
  }
  if (failure !== undefined) {
    const message = failure instanceof Error ? failure.message : JSON.stringify(failure);
    console.error(`\n${red(bold('certkeeper demo FAILED'))} after ${total}:\n${message}`);
    // Where in the demo it broke, for anything that is not one of the demo's own checks.
    if (failure instanceof Error && !(failure instanceof DemoFailure)) {
      const frames = (failure.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
      if (frames.length > 0) console.error(dim(frames.slice(0, 4).join('\n')));
    }
    return 1;
  }
  if (!clean) {
    console.error(`\n${red('certkeeper demo passed, but the teardown was incomplete (see above).')} Total ${total}.`);
    return 1;
  }
  console.log(`\n${green(bold('certkeeper demo passed'))} in ${total}.`);
  return 0;
}

function onSignal(signal: NodeJS.Signals): void {
  if (interruptedAt !== undefined) {
    if (Date.now() - interruptedAt < REPEAT_SIGNAL_MS) return;
    console.error(red(`\n${signal} again: killing the operator and the environment now, without waiting.`));
    operator?.process.killNow();
    // The environment SIGKILLs its processes when this process exits; the safety net removes the temp dir.
    process.exit(130);
  }
  interruptedAt = Date.now();
  console.log(yellow(`\n${signal} received: stopping the demo and tearing everything down (press Ctrl-C again to force) ...`));
  interrupt.abort(new Error(`interrupted by ${signal}`));
  // Normally main() reaches its own teardown within a moment; this covers a step that cannot be interrupted.
  setTimeout(() => {
    void teardown
      .run()
      .then(async (clean) => {
        if (clean) await safetyNet.release();
      })
      .finally(() => process.exit(130));
  }, INTERRUPT_GRACE_MS).unref();
}

// `npm run demo -- --cluster`: the product on the real cluster of hack/cluster.sh (hack/cluster/demo.ts).
const clusterMode = process.argv.includes('--cluster');
if (!clusterMode) {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// The quick demo's safety net has nothing to guard in cluster mode: released so it does not report an abrupt end.
const runClusterDemo = async (): Promise<number> => {
  const code = await (await import('./cluster/demo.js')).runClusterDemo();
  await safetyNet.release();
  return code;
};

(clusterMode ? runClusterDemo() : main()).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(red(`certkeeper demo crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
    process.exit(1);
  },
);
