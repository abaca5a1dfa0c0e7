import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Certificate } from '../../src/api/certificate.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import { requestRenewal } from '../../src/cli/renew.js';
import { leafFingerprint, startNetnsNginx, type NetnsNginx, type ServedCertificate } from '../tls/netns-nginx.js';
import { INTERMEDIATE_TLS } from '../tls/fixtures.js';
import { NGINX } from '../tls/servers.js';
import { createTestNetwork, IP, type TestNetwork } from '../env/netns.js';
import { REPO_ROOT } from '../env/index.js';
import { waitForPolicy } from './acme.js';
import { bold, detail, dim, facts, green, yellow } from './console.js';
import {
  APP_NAMESPACE,
  CHECKOUT,
  CHECKOUT_SECRET,
  CHECKOUT_SERVICE,
  edgeGrading,
  edgeService,
  endpointSlice,
  HTTPS_PORT,
  POLICY,
  STOREFRONT,
  STOREFRONT_SECRET,
  STOREFRONT_SERVICE,
} from './manifests.js';
import { api, DemoFailure, interrupt, interruptible, safetyNet, secretField, teardown, yamlBlock, type RunningDemo } from './runtime.js';
import { condition, waitForCertificate } from './wait.js';

// Steps: the checkout certificate served by two nginx "pods" (and storefront
// by one) in a network namespace (10.250.x.y: kube-apiserver refuses loopback
// addresses in EndpointSlices), behind selector-less Services; the operator
// probes them live, notices the pod that was not reloaded after a renewal,
// and the platform team's policy grades them against Mozilla intermediate.

const VERIFY_TIMEOUT_MS = 45_000;
const CHECKOUT_PODS = 2;
export interface Pods {
  network: TestNetwork;
  /** Behind Service checkout, serving checkout-tls. */
  checkout: NetnsNginx[];
  /** Behind Service storefront, serving storefront-tls. */
  storefront: NetnsNginx;
}

const short = (fingerprint: string | undefined): string => (fingerprint === undefined ? '(none)' : `${fingerprint.slice(0, 16)}…`);

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** nginx and ip are Debian packages the tests use too; hack/install-deps.sh installs what is missing, as root. */
async function ensureHostTools(): Promise<void> {
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) {
    throw new DemoFailure('live endpoint validation runs nginx in a network namespace, which needs root (CAP_NET_ADMIN): run `npm run demo` as root');
  }
  const missing = [];
  for (const path of [NGINX, IP]) if (!(await executable(path))) missing.push(path);
  if (missing.length === 0) return;
  detail(yellow(`${missing.join(' and ')} missing: running bash hack/install-deps.sh (Debian packages, needs root) ...`));
  const code = await interruptible(
    new Promise<number | null>((resolve, reject) => {
      const child = spawn('bash', [join(REPO_ROOT, 'hack', 'install-deps.sh')], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('close', resolve);
    }),
  );
  const still = [];
  for (const path of missing) if (!(await executable(path))) still.push(path);
  if (code !== 0 || still.length > 0) throw new DemoFailure(`bash hack/install-deps.sh exited with ${String(code)}; still missing: ${still.join(', ') || 'nothing'}`);
}

async function servedFrom(demo: RunningDemo, name: string): Promise<ServedCertificate> {
  const where = `${APP_NAMESPACE}/${name}`;
  const secret = await api(`reading Secret ${where}`, () => demo.cluster.clients.core.readNamespacedSecret({ namespace: APP_NAMESPACE, name }));
  return { chainPem: secretField(secret.data, 'tls.crt', where), keyPem: secretField(secret.data, 'tls.key', where) };
}

function endpointsVerified(cert: Certificate): string {
  const c = condition(cert, 'EndpointsVerified');
  return c === undefined ? 'EndpointsVerified not set yet' : `EndpointsVerified=${c.status} (${c.reason}): ${c.message}`;
}

function showEndpoints(cert: Certificate): void {
  const rows = cert.status?.endpoints ?? [];
  facts(
    rows.map((e) => [
      `  ${e.service} ${e.address}:${e.port}`,
      `${e.current ? green('current') : yellow('STALE  ')} serves ${short(e.servedFingerprintSHA256)} (SNI ${e.serverName})${e.error === undefined ? '' : ` error: ${e.error}`}`,
    ]),
  );
}

function waitVerified(demo: RunningDemo, expected: string, done: (c: Certificate) => boolean, name: string = CHECKOUT): Promise<Certificate> {
  return waitForCertificate({
    api: demo.cluster.clients.customObjects,
    namespace: APP_NAMESPACE,
    name,
    expected,
    done,
    describe: endpointsVerified,
    operator: demo.operator,
    timeoutMs: VERIFY_TIMEOUT_MS,
    signal: interrupt.signal,
    report: (line) => detail(dim(`  ${line}`)),
  });
}

/** Every endpoint of the Service listed and serving exactly `fingerprint`. */
function allServe(cert: Certificate, addresses: readonly string[], fingerprint: string): boolean {
  const ok = condition(cert, 'EndpointsVerified');
  const entries = cert.status?.endpoints ?? [];
  return (
    ok?.status === 'True' &&
    ok.reason === 'CurrentCertificateServed' &&
    cert.status?.fingerprintSHA256 === fingerprint &&
    addresses.every((a) => entries.some((e) => e.address === a && e.current && e.servedFingerprintSHA256 === fingerprint))
  );
}

/** nginx in the namespace on one address, stopped by the teardown (or the safety net). */
async function startPod(demo: RunningDemo, network: TestNetwork, name: string, address: string, certificate: ServedCertificate): Promise<NetnsNginx> {
  const pod = await interruptible(
    startNetnsNginx({ network, name, baseDir: join(demo.cluster.workDir, 'pods'), addresses: [address], port: HTTPS_PORT.port, certificate, tls: INTERMEDIATE_TLS }),
    (late) => late.stop(),
  );
  safetyNet.watchProcess(pod.process.record);
  await teardown.add(`stopped nginx ${name} (pid ${pod.process.pid})`, () => pod.stop(), () => pod.process.describeExit());
  return pod;
}

async function createEdgeService(demo: RunningDemo, service: string, addresses: readonly string[]): Promise<void> {
  const { core, discovery } = demo.cluster.clients;
  await api(`creating Service ${APP_NAMESPACE}/${service}`, () => core.createNamespacedService({ namespace: APP_NAMESPACE, body: edgeService(service) }));
  const slice = endpointSlice(service, addresses);
  await api(`creating EndpointSlice ${APP_NAMESPACE}/${slice.metadata?.name ?? ''}`, () => discovery.createNamespacedEndpointSlice({ namespace: APP_NAMESPACE, body: slice }));
  detail(`Service ${APP_NAMESPACE}/${service} (no selector, labelled tier=edge), EndpointSlice: ${addresses.map((a) => `${a}:${HTTPS_PORT.port}`).join(', ')}`);
}

export async function serveAndVerify(demo: RunningDemo, fingerprint: string, storefrontFingerprint: string): Promise<Pods> {
  await ensureHostTools();
  const network = await interruptible(createTestNetwork({ addresses: CHECKOUT_PODS + 1, label: 'certkeeper demo' }), (late) => late.teardown());
  safetyNet.watchNetns(network.name, network.hostInterface);
  await teardown.add(`removed network namespace ${network.name} and veth ${network.hostInterface}`, () => network.teardown());
  detail(`network namespace ${network.name}: pods at ${network.addresses.join(', ')}, reached from ${network.hostAddress} (nothing leaves this machine)`);

  const served = await servedFrom(demo, CHECKOUT_SECRET);
  if (leafFingerprint(served.chainPem) !== fingerprint) throw new DemoFailure(`Secret ${CHECKOUT_SECRET} changed under the demo: it holds ${short(leafFingerprint(served.chainPem))}, expected ${short(fingerprint)}`);
  const checkoutAddresses = network.addresses.slice(0, CHECKOUT_PODS);
  const storefrontAddress = network.addresses[CHECKOUT_PODS];
  if (storefrontAddress === undefined) throw new DemoFailure(`the network has ${network.addresses.length} addresses, expected ${CHECKOUT_PODS + 1}`);
  const checkout: NetnsNginx[] = [];
  for (const [i, address] of checkoutAddresses.entries()) {
    const pod = await startPod(demo, network, `checkout-${i}`, address, served);
    checkout.push(pod);
    detail(`pod ${pod.name}: nginx ${pod.process.pid} serves ${CHECKOUT_SECRET} on ${address}:${HTTPS_PORT.port} (TLS 1.2/1.3, Mozilla intermediate)`);
  }
  const storefront = await startPod(demo, network, 'storefront-0', storefrontAddress, await servedFrom(demo, STOREFRONT_SECRET));
  detail(`pod ${storefront.name}: nginx ${storefront.process.pid} serves ${STOREFRONT_SECRET} on ${storefrontAddress}:${HTTPS_PORT.port} (same settings)`);
  await createEdgeService(demo, CHECKOUT_SERVICE, checkoutAddresses);
  await createEdgeService(demo, STOREFRONT_SERVICE, [storefrontAddress]);

  detail(`waiting (up to ${VERIFY_TIMEOUT_MS / 1000} s) for the operator to probe the pods of both Certificates' spec.endpoints:`);
  const [verified, storefrontVerified] = await Promise.all([
    waitVerified(demo, 'EndpointsVerified=True on every pod', (c) => allServe(c, checkoutAddresses, fingerprint)),
    waitVerified(demo, 'EndpointsVerified=True', (c) => allServe(c, [storefrontAddress], storefrontFingerprint), STOREFRONT),
  ]);
  detail(green(`${CHECKOUT}: EndpointsVerified=True (${condition(verified, 'EndpointsVerified')?.reason ?? '?'}): every pod serves the current certificate`));
  showEndpoints(verified);
  detail(green(`${STOREFRONT}: EndpointsVerified=True (${condition(storefrontVerified, 'EndpointsVerified')?.reason ?? '?'})`));
  showEndpoints(storefrontVerified);
  return { network, checkout, storefront };
}

export async function renewAndReload(demo: RunningDemo, pods: Pods, before: string): Promise<void> {
  const { customObjects, cli } = demo.cluster.clients;
  detail(bold(`$ certkeeper renew -n ${APP_NAMESPACE} ${CHECKOUT}`));
  await api(`requesting renewal of ${APP_NAMESPACE}/${CHECKOUT}`, () => requestRenewal(cli.customObjects, APP_NAMESPACE, CHECKOUT, new Date()));
  const renewed = await waitForCertificate({
    api: customObjects,
    namespace: APP_NAMESPACE,
    name: CHECKOUT,
    expected: 'Ready=True with a new certificate',
    done: (c) => condition(c, 'Ready')?.status === 'True' && c.status?.fingerprintSHA256 !== undefined && c.status.fingerprintSHA256 !== before,
    describe: (c) => `Ready=${condition(c, 'Ready')?.status ?? '?'} (${condition(c, 'Ready')?.reason ?? '?'}), serving fingerprint ${short(c.status?.fingerprintSHA256)}`,
    operator: demo.operator,
    timeoutMs: VERIFY_TIMEOUT_MS,
    signal: interrupt.signal,
    report: (line) => detail(dim(`  ${line}`)),
  });
  const after = renewed.status?.fingerprintSHA256 ?? '';
  detail(green(`re-issued through ACME: ${short(before)} -> ${short(after)}, notAfter ${renewed.status?.notAfter ?? '?'}`));

  const next = await servedFrom(demo, CHECKOUT_SECRET);
  if (leafFingerprint(next.chainPem) !== after) throw new DemoFailure(`Secret ${CHECKOUT_SECRET} holds ${short(leafFingerprint(next.chainPem))}, the Certificate reports ${short(after)}`);
  const [reloaded, lagging] = pods.checkout;
  if (reloaded === undefined || lagging === undefined) throw new DemoFailure(`expected ${CHECKOUT_PODS} checkout pods, have ${pods.checkout.length}`);
  // Like a mounted Secret: every pod sees the new files, but nginx serves what it loaded until it is reloaded.
  await Promise.all(pods.checkout.map((p) => p.writeCertificate(next)));
  await interruptible(reloaded.reload());
  const laggingAddress = `${lagging.addresses[0] ?? '?'}:${HTTPS_PORT.port}`;
  const reloadedAddress = `${reloaded.addresses[0] ?? '?'}:${HTTPS_PORT.port}`;
  detail(`new files written to both pods; only ${reloaded.name} (${reloadedAddress}) reloaded — ${lagging.name} (${laggingAddress}) keeps the old certificate in memory`);

  const names = (message: string, address: string): boolean => new RegExp(`(^|[^0-9.])${address.replace(/\./g, '\\.')}($|[^0-9])`).test(message);
  const stale = await waitVerified(demo, `EndpointsVerified=False (StaleCertificate) naming only ${laggingAddress}`, (c) => {
    const v = condition(c, 'EndpointsVerified');
    return v?.status === 'False' && v.reason === 'StaleCertificate' && c.status?.fingerprintSHA256 === after && names(v.message, laggingAddress) && !names(v.message, reloadedAddress);
  });
  detail(yellow(`EndpointsVerified=False (StaleCertificate): ${condition(stale, 'EndpointsVerified')?.message ?? '?'}`));
  showEndpoints(stale);

  await interruptible(lagging.reload());
  detail(`reloaded ${lagging.name}`);
  const again = await waitVerified(demo, 'EndpointsVerified=True again', (c) => allServe(c, pods.checkout.flatMap((p) => p.addresses), after));
  detail(green(`EndpointsVerified=True again: both pods serve ${short(after)}`));
  showEndpoints(again);
}

export async function gradeEdge(demo: RunningDemo, pods: Pods): Promise<void> {
  const { customObjects } = demo.cluster.clients;
  await api(`adding spec.endpoints to TLSPolicy ${POLICY}`, () =>
    customObjects.patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural: 'tlspolicies', name: POLICY, body: { spec: edgeGrading } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    ),
  );
  detail(`TLSPolicy ${POLICY} gets spec.endpoints: every tier=edge Service of the namespaces it governs, graded against Mozilla intermediate:`);
  yamlBlock({ spec: edgeGrading });
  const expected = pods.network.addresses.length;
  const graded = await waitForPolicy(
    demo,
    POLICY,
    `status.endpoints with all ${expected} checkout addresses judged`,
    (p) => {
      const e = p.status?.endpoints;
      return e !== undefined && e.total === expected && e.compliant + e.violating + e.unreachable === expected && e.lastProbeTime !== undefined;
    },
    VERIFY_TIMEOUT_MS,
  );
  const e = graded.status?.endpoints;
  if (e === undefined) throw new DemoFailure(`TLSPolicy ${POLICY} has no status.endpoints`);
  facts([
    ['  selected', `${e.total} (Services ${CHECKOUT_SERVICE} and ${STOREFRONT_SERVICE}, port ${HTTPS_PORT.name})`],
    ['  compliant', String(e.compliant)],
    ['  violating', String(e.violating)],
    ['  unreachable', String(e.unreachable)],
    ['  probed at', e.lastProbeTime ?? '?'],
  ]);
  if (e.worst.length === 0) detail('  status.endpoints.worst is empty: no endpoint graded below the rest');
  for (const w of e.worst) {
    detail(`  ${w.namespace}/${w.service} ${w.address}:${w.port}  grade ${bold(w.grade)}${w.error === undefined ? '' : `  error: ${w.error}`}`);
    for (const v of w.violations) detail(yellow(`      violation ${v}`));
    if (w.violations.length === 0) detail(green('      no violations of the intermediate profile'));
  }
  const missing = pods.network.addresses.filter((a) => !e.worst.some((w) => w.address === a));
  if (missing.length > 0 && e.worst.length < e.total) detail(dim(`  not in status.endpoints.worst (nothing to report): ${missing.join(', ')}`));
  // Pebble's root is made at each start and sits in no trust store; the grader trusts the system
  // roots plus the ca.crt of the Certificates served there, and an ACME Secret carries no root.
  if (e.worst.some((w) => w.service === CHECKOUT_SERVICE && w.violations.some((v) => v.startsWith('certificate-untrusted')))) {
    detail(dim(`  ${CHECKOUT}'s chain ends at Pebble's test root, which no trust store holds: with a public ACME CA it would lead to the system roots.`));
  }
}
