/**
 * `npm run demo -- --cluster`: certkeeper the way its users run it, on the
 * real single-node cluster of hack/cluster.sh, step by step and timed:
 *
 *   1. the cluster (started here unless it is already up)
 *   2. `helm install` of the chart with the locally built image: two pods, one leader
 *   3. a Certificate issued by the platform team's CA
 *   4. a Certificate issued by Pebble (running as a pod) through ACME HTTP-01,
 *      validated through the chart's solver Service
 *   5. a 3-replica nginx Deployment serving it: a renewal two pods pick up and
 *      one does not, named by the operator, fixed by `kubectl rollout restart`
 *
 * What it created is removed at the end, also on failure and Ctrl-C; a cluster
 * it started is taken down again (--keep-cluster keeps it).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../env/tools.js';

const NS = 'certkeeper';
const APP = 'shop';
const SELECTOR = 'app.kubernetes.io/name=certkeeper';
const tty = process.stdout.isTTY;
const paint = (code: string) => (text: string) => (tty ? `\u001b[${code}m${text}\u001b[0m` : text);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');

let env: Record<string, string> = {};
const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
let interrupted = false;

class DemoFailure extends Error {}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function exec(command: string, args: readonly string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(new Error(`${command} could not run: ${error.message}`));
      else resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function ok(command: string, args: readonly string[], input?: string): Promise<string> {
  const result = await exec(command, args, input);
  if (result.code !== 0) throw new DemoFailure(`${command} ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The cluster's own kubectl, from .dev/env (read in step 1, before any kubectl runs). */
const kubectl = (...args: string[]): Promise<string> => ok(var_('KUBECTL_BIN'), args);
const apply = (objects: object[], namespace?: string): Promise<string> =>
  ok(var_('KUBECTL_BIN'), ['apply', ...(namespace === undefined ? [] : ['-n', namespace]), '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));

/** Shows a command as typed, then its output, indented. */
async function show(...args: string[]): Promise<void> {
  console.log(dim(`  $ kubectl ${args.join(' ')}`));
  const out = await kubectl(...args);
  console.log(out.trimEnd().split('\n').map((l) => `    ${l}`).join('\n'));
}

/** Polls until `check` returns a value; the failure says what was awaited and what was seen last. */
async function until<T>(what: string, check: () => Promise<T | undefined | string>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (interrupted) throw new DemoFailure('interrupted');
    const value = await check().catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (value !== undefined && typeof value !== 'string') return value;
    if (typeof value === 'string') last = value;
    if (Date.now() > deadline) throw new DemoFailure(`gave up waiting for ${what} after ${timeoutMs / 1000}s${last === '' ? '' : `; last seen: ${last}`}`);
    await sleep(1000);
  }
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}
interface Cert {
  status?: { conditions?: Condition[]; fingerprintSHA256?: string };
}

async function conditionOf(namespace: string, name: string, type: string): Promise<Condition | undefined> {
  const cert = JSON.parse(await kubectl('get', 'certificates.certkeeper.dev', name, '-n', namespace, '-o', 'json')) as Cert;
  return cert.status?.conditions?.find((c) => c.type === type);
}

async function waitCondition(namespace: string, name: string, type: string, status: string, reason?: string): Promise<Condition> {
  return until(`${type}=${status} on Certificate ${name}`, async () => {
    const c = await conditionOf(namespace, name, type);
    if (c?.status === status && (reason === undefined || c.reason === reason)) return c;
    return `${type} ${c?.status ?? 'absent'} ${c?.reason ?? ''}: ${c?.message ?? ''}`;
  });
}

async function readDevEnv(): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const line of (await readFile(join(REPO_ROOT, '.dev', 'env'), 'utf8')).split('\n')) {
    const match = /^export ([A-Z0-9_]+)='([^']*)'$/.exec(line.trim()) ?? /^export ([A-Z0-9_]+)=(\S*)$/.exec(line.trim());
    if (match?.[1] !== undefined && match[2] !== undefined) values[match[1]] = match[2];
  }
  if (values.CERTKEEPER_CLUSTER !== '1') throw new DemoFailure('.dev/env is not hack/cluster.sh\'s');
  return values;
}

function cluster(command: 'up' | 'down' | 'status', quiet = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'hack', 'cluster.sh'), command], { cwd: REPO_ROOT, stdio: ['ignore', quiet ? 'ignore' : 'inherit', quiet ? 'ignore' : 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const var_ = (key: string): string => {
  const value = env[key];
  if (value === undefined) throw new DemoFailure(`.dev/env has no ${key}`);
  return value;
};

async function stepCluster(): Promise<void> {
  if ((await cluster('status', true)) === 0) {
    console.log('  the cluster is already up: using it (and leaving it up)');
  } else {
    if ((await cluster('up')) !== 0) throw new DemoFailure('bash hack/cluster.sh up failed (its output is above)');
    if (!process.argv.includes('--keep-cluster')) cleanups.push({ what: 'cluster down', run: () => cluster('down') });
  }
  env = await readDevEnv();
  await show('get', 'nodes', '-o', 'wide');
  await show('get', 'pods', '-A');
}

async function stepInstall(): Promise<void> {
  const [repository, tag] = var_('CERTKEEPER_OPERATOR_IMAGE').split(':');
  await apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
  await apply([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'pebble-ca', namespace: NS }, stringData: { 'ca.crt': await readFile(var_('ACME_CA_FILE'), 'utf8') } }]);
  const args = [
    'upgrade', '--install', 'certkeeper', 'charts/certkeeper', '-n', NS, '--wait', '--timeout', '5m',
    '--set', `image.repository=${repository ?? ''}`, '--set', `image.tag=${tag ?? ''}`, '--set', 'image.pullPolicy=Never',
    '--set', 'operator.endpointRecheckInterval=3s', '--set', 'acme.caSecret.name=pebble-ca', '--set', 'acme.caSecret.key=ca.crt',
    '--set', 'acme.http01SelfCheckPort=8089', '--set', `acme.selfCheckNameserver=${var_('CHALLTESTSRV_DNS')}`,
  ];
  console.log(dim(`  $ helm ${args.join(' ')}`));
  cleanups.push({ what: 'helm uninstall', run: () => ok(var_('HELM_BIN'), ['uninstall', 'certkeeper', '-n', NS, '--wait']) });
  await ok(var_('HELM_BIN'), args);
  await show('get', 'pods', '-n', NS, '-l', SELECTOR, '-o', 'wide');
  // until() reads a string as "not yet, last seen"; the holder comes back wrapped.
  const { holder } = await until('a leader', async () => {
    const name = await kubectl('get', 'lease', 'certkeeper-operator', '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}');
    return name === '' ? 'no holder yet' : { holder: name };
  });
  console.log(`  leader (Lease certkeeper-operator): ${bold(holder)}; the other pod stands by`);
}

async function stepCa(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-demo-ca-'));
  try {
    await ok('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'),
      '-subj', '/CN=Shop Platform CA', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
    console.log(dim('  $ kubectl -n certkeeper create secret tls internal-ca --cert=ca.crt --key=ca.key'));
    await kubectl('-n', NS, 'create', 'secret', 'tls', 'internal-ca', `--cert=${join(dir, 'ca.crt')}`, `--key=${join(dir, 'ca.key')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  cleanups.push({ what: 'CA Secret', run: () => kubectl('-n', NS, 'delete', 'secret', 'internal-ca', '--ignore-not-found') });
  cleanups.push({ what: 'namespace shop', run: () => kubectl('delete', 'namespace', APP, '--ignore-not-found', '--wait=true', '--timeout=120s') });
  cleanups.push({ what: 'TLSPolicies', run: () => kubectl('delete', 'tlspolicy', 'internal-ca', 'pebble', '--ignore-not-found') });
  await apply([
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: APP, labels: { 'certkeeper.dev/issuer': 'internal-ca' } } },
    {
      apiVersion: 'certkeeper.dev/v1alpha1', kind: 'TLSPolicy', metadata: { name: 'internal-ca' },
      spec: { namespaceSelector: { matchLabels: { 'certkeeper.dev/issuer': 'internal-ca' } }, issuer: { ca: { secretName: 'internal-ca' } }, certificates: { allowedDomains: ['**.svc.cluster.local'] } },
    },
    {
      apiVersion: 'certkeeper.dev/v1alpha1', kind: 'Certificate', metadata: { name: 'storefront', namespace: APP },
      spec: { secretName: 'storefront-tls', dnsNames: [`storefront.${APP}.svc.cluster.local`], privateKey: { algorithm: 'ECDSA' }, endpoints: [{ service: 'storefront', port: 443 }] },
    },
  ]);
  await waitCondition(APP, 'storefront', 'Ready', 'True');
  await show('get', 'certificates.certkeeper.dev', '-n', APP);
}

async function stepAcme(): Promise<void> {
  const solverIp = await kubectl('get', 'service', 'certkeeper-acme-solver', '-n', NS, '-o', 'jsonpath={.spec.clusterIP}');
  const response = await fetch(`${var_('CHALLTESTSRV_URL')}/set-default-ipv4`, { method: 'POST', body: JSON.stringify({ ip: solverIp }) });
  if (response.status !== 200) throw new DemoFailure(`challtestsrv refused the default address: HTTP ${response.status}`);
  console.log(`  Pebble's DNS (challtestsrv) answers every name with the solver Service's ClusterIP ${solverIp}: validation goes through kube-proxy`);
  await kubectl('label', 'namespace', APP, 'certkeeper.dev/acme=pebble', '--overwrite');
  await apply([
    {
      apiVersion: 'certkeeper.dev/v1alpha1', kind: 'TLSPolicy', metadata: { name: 'pebble' },
      spec: {
        namespaceSelector: { matchLabels: { 'certkeeper.dev/acme': 'pebble' } },
        issuer: { acme: { server: var_('ACME_DIRECTORY_URL'), email: 'demo@example.com', privateKeySecretRef: { name: 'pebble-account' }, solvers: [{ http01: { ingress: { ingressClassName: 'demo' } } }] } },
        certificates: { allowedDomains: ['**.shop.example'] },
      },
    },
    {
      apiVersion: 'certkeeper.dev/v1alpha1', kind: 'Certificate', metadata: { name: 'www', namespace: APP },
      spec: { secretName: 'www-tls', dnsNames: ['www.shop.example'], policyRef: { name: 'pebble' }, privateKey: { algorithm: 'ECDSA' } },
    },
  ]);
  await waitCondition(APP, 'www', 'Ready', 'True');
  await show('get', 'certificates.certkeeper.dev', '-n', APP);
  const crt = Buffer.from(await kubectl('get', 'secret', 'www-tls', '-n', APP, '-o', 'jsonpath={.data.tls\\.crt}'), 'base64').toString('utf8');
  const issuer = await ok('openssl', ['x509', '-noout', '-issuer', '-enddate'], crt);
  console.log(issuer.trimEnd().split('\n').map((l) => `    ${l}`).join('\n'));
}

async function stepEndpoints(): Promise<void> {
  const conf = 'server {\n  listen 8443 ssl;\n  ssl_certificate /etc/tls/tls.crt;\n  ssl_certificate_key /etc/tls/tls.key;\n  location / { return 200 "ok\\n"; }\n}\n';
  await apply(
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'storefront-nginx' }, data: { 'storefront.conf': conf } },
      {
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'storefront' },
        spec: {
          replicas: 3, selector: { matchLabels: { app: 'storefront' } },
          template: {
            metadata: { labels: { app: 'storefront' } },
            spec: {
              containers: [{
                name: 'nginx', image: var_('CERTKEEPER_NGINX_IMAGE'), imagePullPolicy: 'Never', ports: [{ name: 'https', containerPort: 8443 }],
                readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 2 },
                volumeMounts: [{ name: 'tls', mountPath: '/etc/tls', readOnly: true }, { name: 'conf', mountPath: '/etc/nginx/conf.d', readOnly: true }],
              }],
              volumes: [{ name: 'tls', secret: { secretName: 'storefront-tls' } }, { name: 'conf', configMap: { name: 'storefront-nginx' } }],
            },
          },
        },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'storefront' }, spec: { selector: { app: 'storefront' }, ports: [{ name: 'https', port: 443, targetPort: 'https' }] } },
    ],
    APP,
  );
  await kubectl('rollout', 'status', 'deployment/storefront', '-n', APP, '--timeout=180s');
  await show('get', 'pods', '-n', APP, '-l', 'app=storefront', '-o', 'wide');
  let c = await waitCondition(APP, 'storefront', 'EndpointsVerified', 'True');
  console.log(`  EndpointsVerified=${green(c.status)} ${c.reason ?? ''}: ${c.message ?? ''}`);

  console.log(dim(`  $ certkeeper renew storefront -n ${APP}`));
  const before = (JSON.parse(await kubectl('get', 'certificates.certkeeper.dev', 'storefront', '-n', APP, '-o', 'json')) as Cert).status?.fingerprintSHA256;
  await ok(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [join(REPO_ROOT, 'src', 'main.ts'), 'renew', 'storefront', '-n', APP]);
  await until('the renewed certificate', async () => {
    const cert = JSON.parse(await kubectl('get', 'certificates.certkeeper.dev', 'storefront', '-n', APP, '-o', 'json')) as Cert;
    return cert.status?.fingerprintSHA256 !== before ? true : 'not renewed yet';
  });
  const pods = (await kubectl('get', 'pods', '-n', APP, '-l', 'app=storefront', '-o', 'jsonpath={.items[*].metadata.name}')).split(' ');
  const renewed = Buffer.from(await kubectl('get', 'secret', 'storefront-tls', '-n', APP, '-o', 'jsonpath={.data.tls\\.crt}'), 'base64').toString('utf8');
  console.log('  waiting for kubelet to update the Secret volume in every pod ...');
  for (const pod of pods) {
    await until(`the new Secret in ${pod}`, async () => ((await kubectl('exec', '-n', APP, pod, '--', 'cat', '/etc/tls/tls.crt')) === renewed ? true : 'old files'));
  }
  const [a, b, missed] = pods as [string, string, string];
  for (const pod of [a, b]) {
    console.log(dim(`  $ kubectl exec -n ${APP} ${pod} -- nginx -s reload`));
    await kubectl('exec', '-n', APP, pod, '--', 'nginx', '-s', 'reload');
  }
  console.log(`  (${missed} is not reloaded: it keeps serving the old certificate)`);
  c = await until(`StaleCertificate naming ${missed}`, async () => {
    const cond = await conditionOf(APP, 'storefront', 'EndpointsVerified');
    return cond?.reason === 'StaleCertificate' && cond.message?.includes(`pod ${missed} `) === true && cond.message.includes(a) === false ? cond : `${cond?.reason ?? ''}: ${cond?.message ?? ''}`;
  });
  console.log(`  EndpointsVerified=${red(c.status)} ${c.reason ?? ''}: ${c.message ?? ''}`);
  console.log(dim(`  $ kubectl rollout restart deployment/storefront -n ${APP}`));
  await kubectl('rollout', 'restart', 'deployment/storefront', '-n', APP);
  await kubectl('rollout', 'status', 'deployment/storefront', '-n', APP, '--timeout=180s');
  c = await waitCondition(APP, 'storefront', 'EndpointsVerified', 'True');
  console.log(`  EndpointsVerified=${green(c.status)} ${c.reason ?? ''}: ${c.message ?? ''}`);
}

async function cleanUp(): Promise<boolean> {
  let clean = true;
  for (const { what, run } of cleanups.splice(0).reverse()) {
    try {
      await run();
      console.log(dim(`  removed: ${what}`));
    } catch (error) {
      clean = false;
      console.error(red(`  could not remove ${what}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }
  return clean;
}

export async function runClusterDemo(): Promise<number> {
  process.on('SIGINT', () => {
    interrupted = true;
  });
  const steps: [string, () => Promise<void>][] = [
    ['A real single-node cluster (hack/cluster.sh up)', stepCluster],
    ['helm install certkeeper: two replicas, one leader, in-cluster credentials', stepInstall],
    ['A Certificate from the platform team\'s CA', stepCa],
    ['A Certificate from Pebble (a pod) through ACME HTTP-01 via the solver Service', stepAcme],
    ['A real Deployment behind a Service: a renewal one pod misses', stepEndpoints],
  ];
  const started = performance.now();
  let failure: unknown;
  for (const [index, [title, run]] of steps.entries()) {
    console.log(`\n${bold(`[${index + 1}/${steps.length}] ${title}`)}`);
    const stepStart = performance.now();
    try {
      await run();
    } catch (error) {
      failure = error;
      break;
    }
    console.log(dim(`  step ${index + 1} took ${seconds(performance.now() - stepStart)}`));
  }
  console.log(`\n${bold('Cleaning up')}`);
  const clean = await cleanUp();
  const total = seconds(performance.now() - started);
  if (failure !== undefined) {
    console.error(`\n${red(bold('certkeeper cluster demo FAILED'))} after ${total}: ${failure instanceof Error ? failure.message : JSON.stringify(failure)}`);
    return 1;
  }
  if (!clean) return 1;
  console.log(`\n${green(bold('certkeeper cluster demo passed'))} in ${total}.`);
  return 0;
}
