import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AdmissionregistrationV1Api, AuthenticationV1Api, AuthorizationV1Api, CoordinationV1Api, EventsV1Api, KubeConfig, NetworkingV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { CHART_DIR, helmOk, runHelm } from '../../hack/chart.js';
import { createTestNetwork, type TestNetwork } from '../../hack/env/netns.js';
import { startOperatorProcess, waitForOperatorReady, type OperatorProcess } from '../../hack/env/operator.js';
import { ensureTools } from '../../hack/env/tools.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import type { InventoryJson } from '../../src/inventory/json.js';
import type { TLSPolicy } from '../../src/api/tlspolicy.js';
import { REVOKE_FINALIZER } from '../../src/controllers/certificate/acme/revocation.js';
import { isNotFound } from '../../src/kube/errors.js';
import { acmeIssuer, installHttpRouteCrd, sharedPebbleOperatorOptions, waitForPolicyReady } from '../support/acme.js';
import { condition, createCertificate, createPolicy, deletePolicy, getCertificate, readSecret, secretText, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { createServiceWithEndpoints } from '../support/endpoints.js';
import { createTestNamespace, impersonatingKubeconfigFile, testKube, waitFor } from '../support/kube.js';
import { leafFingerprint, startNetnsNginx, type NetnsNginx } from '../../hack/tls/netns-nginx.js';
import { makeTestCa } from '../support/pki.js';
import { installStandInCrds, standInCrd } from '../support/stand-in-crds.js';
import { HSTS_TWO_YEARS, MOZILLA_CURVES, MOZILLA_INTERMEDIATE_CIPHERS } from '../../hack/tls/fixtures.js';

// The chart's RBAC, proven against the real API server: the operator runs
// out of cluster with a kubeconfig that impersonates the chart's
// ServiceAccount (admin client certificate + `as:`; RBAC judges the
// impersonated user), and does everything it is for with no "forbidden" in
// its log. Then each rule of the ClusterRole and Role is taken away in turn
// (a ServiceAccount of its own with every other rule) and what breaks
// without it is shown: the API server's refusal in the log, plus a symptom a
// user would see.

const suffix = uniqueSuffix();
const release = `rbac-${suffix}`;
const fullname = `${release}-certkeeper`;
// The same chart, installed a second time with operator.watchNamespaces: namespaced Roles only.
const releaseW = `rbacw-${suffix}`;
const fullnameW = `${releaseW}-certkeeper`;
const LEASE = 'certkeeper-operator';
/** Label that opts a ConfigMap into the inventory here (the chart's inventory.configMapSelector). */
const BUNDLE_LABEL = 'certkeeper.dev/rbac-test-bundle';
const GATEWAY_CRD = standInCrd('gateway.networking.k8s.io', 'Gateway', { 'api-approved.kubernetes.io': 'unapproved, certkeeper test stand-in' });
const acmeEnv = inject('acme');

let helm: string;
let ns: string;
let kubeconfigDir: string;
let clusterRules: V1PolicyRule[] = [];
let roleRules: V1PolicyRule[] = [];
/** The namespace the watch-mode release watches. */
let teamW: string;
let clusterRulesW: V1PolicyRule[] = [];
let watchedRulesW: V1PolicyRule[] = [];
let releaseRulesW: V1PolicyRule[] = [];
let removeRouteCrd: (() => Promise<void>) | undefined;
const policies: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

const serviceAccountUser = (sa: string) => `system:serviceaccount:${ns}:${sa}`;

const impersonatingKubeconfig = (user: string): string => impersonatingKubeconfigFile(kubeconfigDir, user);

async function startOperatorAs(sa: string, name: string, waitUntil: 'healthy' | 'listening' = 'healthy', extraEnv: Record<string, string> = {}): Promise<OperatorProcess> {
  const acme = sharedPebbleOperatorOptions();
  // A fresh Lease each time: a variant without `create` on leases must have to create it.
  await testKube()
    .kubeconfig.makeApiClient(CoordinationV1Api)
    .deleteNamespacedLease({ name: LEASE, namespace: ns })
    .catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
  return startOperatorProcess({
    kubeconfigPath: impersonatingKubeconfig(serviceAccountUser(sa)),
    logFile: join(inject('envDir'), `operator-rbac-${name}-${randomBytes(3).toString('hex')}.log`),
    // As in the chart: leader election on, in the release namespace, with the chart's Lease name.
    leaderElect: true,
    namespace: ns,
    logLevel: 'info',
    waitUntil,
    env: {
      CERTKEEPER_LEASE_NAME: LEASE,
      CERTKEEPER_ACME_HTTP01_PORT: String(acme.http01Port),
      CERTKEEPER_ACME_CA_FILE: acme.caFile,
      CERTKEEPER_ACME_SELF_CHECK_NAMESERVER: acme.nameserver,
      CERTKEEPER_ACME_HTTP01_SELF_CHECK_PORT: String(acme.http01Port),
      CERTKEEPER_ACME_SELF_CHECK_TIMEOUT: '10s',
      CERTKEEPER_ENDPOINT_RECHECK_INTERVAL: '2s',
      // As the chart passes them with the values this file installs.
      CERTKEEPER_INVENTORY_SOURCES: 'webhooks,apiservices,crds,secrets',
      CERTKEEPER_INVENTORY_CONFIGMAP_SELECTOR: `${BUNDLE_LABEL}=true`,
      CERTKEEPER_INVENTORY_CONSUMERS: 'pods,ingresses,gateways',
      ...extraEnv,
    },
  });
}

function logOf(op: OperatorProcess): string {
  return readFileSync(op.process.record.logFile, 'utf8');
}

/** The log with JSON escaping flattened, so the API server's messages read as it wrote them. */
function plainLog(op: OperatorProcess): string {
  return logOf(op).replace(/\\+"/g, '"');
}

async function policy(name: string, spec: Record<string, unknown>): Promise<string> {
  policies.push(name);
  // Selecting the namespaces createCertificate grants it to (the Certificates name it in policyRef).
  await createPolicy(name, spec);
  return name;
}

/** A CA key pair in the release namespace (where the operator reads issuers' Secrets). */
async function caSecret(name: string): Promise<void> {
  const ca = await makeTestCa({ notBefore: new Date(Date.now() - 3_600_000), slot: 100 + Math.floor(Math.random() * 1000) });
  await testKube().core.createNamespacedSecret({
    namespace: ns,
    body: {
      metadata: { name },
      type: 'kubernetes.io/tls',
      data: Object.fromEntries((['tls.crt', 'tls.key', 'ca.crt'] as const).map((k) => [k, Buffer.from(ca[k]).toString('base64')])),
    },
  });
}

/** Deletes a Certificate for good: finalizers stripped first, since the operator that would remove them is gone. */
async function forgetCertificate(namespace: string, name: string): Promise<void> {
  const { customObjects } = testKube();
  const loc = { group: GROUP, version: VERSION, plural: 'certificates', namespace, name };
  try {
    await customObjects.patchNamespacedCustomObject({ ...loc, body: [{ op: 'replace', path: '/metadata/finalizers', value: [] }] });
  } catch (err) {
    if (isNotFound(err)) return;
  }
  await customObjects.deleteNamespacedCustomObject(loc).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

beforeAll(async () => {
  ({ helm } = await ensureTools());
  kubeconfigDir = await mkdtemp(join(tmpdir(), 'certkeeper-rbac-'));
  const releaseNs = await createTestNamespace('rbac-release');
  ns = releaseNs.name;
  cleanups.push(releaseNs.cleanup);
  // The admission policy is not what this file is about, and cluster-wide: left out.
  // The ConfigMap source on, so that its rule is rendered and has to prove itself too.
  // And every consumer, Gateways included (a stand-in Gateway CRD below), for the same reason.
  await helmOk(helm, [
    'install',
    release,
    CHART_DIR,
    '--namespace',
    ns,
    '--set',
    'admissionPolicy.enabled=false',
    '--set',
    `inventory.configMapSelector=${BUNDLE_LABEL}=true`,
    '--set',
    'inventory.consumers={pods,ingresses,gateways}',
    '--kubeconfig',
    inject('kubeconfigPath'),
  ]);
  const { rbac } = testKube();
  // The operator's own ClusterRole and the inventory sources' one, taken away from rule by rule alike.
  clusterRules = [...((await rbac.readClusterRole({ name: fullname })).rules ?? []), ...((await rbac.readClusterRole({ name: `${fullname}-inventory-sources` })).rules ?? [])];
  roleRules = (await rbac.readNamespacedRole({ name: `${fullname}-leader-election`, namespace: ns })).rules ?? [];

  const watched = await createTestNamespace('rbac-watched');
  teamW = watched.name;
  cleanups.push(watched.cleanup);
  // The same inventory settings: its namespaced rules move into the watched namespace's Role.
  await helmOk(helm, [
    'install', releaseW, CHART_DIR, '--namespace', ns, '--set', 'admissionPolicy.enabled=false',
    '--set', `operator.watchNamespaces={${teamW}}`, '--set', `inventory.configMapSelector=${BUNDLE_LABEL}=true`, '--set', 'inventory.consumers={pods,ingresses,gateways}',
    '--kubeconfig', inject('kubeconfigPath'),
  ]);
  clusterRulesW = [...((await rbac.readClusterRole({ name: fullnameW })).rules ?? []), ...((await rbac.readClusterRole({ name: `${fullnameW}-inventory-sources` })).rules ?? [])];
  watchedRulesW = (await rbac.readNamespacedRole({ name: fullnameW, namespace: teamW })).rules ?? [];
  releaseRulesW = (await rbac.readNamespacedRole({ name: `${fullnameW}-leader-election`, namespace: ns })).rules ?? [];
  removeRouteCrd = await installHttpRouteCrd();
  await installStandInCrds([GATEWAY_CRD], 'Gateway CRD');
  cleanups.push(async () => void (await testKube().apiextensions.deleteCustomResourceDefinition({ name: GATEWAY_CRD.metadata.name }).catch(() => undefined)));
}, 120_000);

afterAll(async () => {
  for (const p of policies) await deletePolicy(p);
  if (ns !== undefined) {
    for (const r of [release, releaseW]) await runHelm(helm, ['uninstall', r, '--namespace', ns, '--kubeconfig', inject('kubeconfigPath')]);
  }
  await removeRouteCrd?.();
  for (const c of cleanups.reverse()) await c();
  if (kubeconfigDir !== undefined) await rm(kubeconfigDir, { recursive: true, force: true });
});

/**
 * Everything the operator is for, in `team`, as ServiceAccount `sa`: CA and
 * ACME (HTTP-01 through an Ingress and an HTTPRoute) issuance, endpoint
 * validation, the inventory, events, revocation on delete; and never a
 * refusal by RBAC in its log.
 */
async function doesEverything(sa: string, team: string, label: string, env: Record<string, string>, more?: (operator: OperatorProcess) => Promise<void>): Promise<void> {
  const caName = `rbac-ca-${label}-${suffix}`;
  await caSecret(caName);
  // trustUnmanagedEndpointSlices: the endpoint check's nginx stands behind a hand-written EndpointSlice.
  const ca = await policy(`rbac-ca-${label}-${suffix}`, { issuer: { ca: { secretName: caName } }, trustUnmanagedEndpointSlices: true });
  const solvers = [{ http01: { ingress: { ingressClassName: 'test-nginx' }, gatewayHTTPRoute: { parentRefs: [{ name: 'public', namespace: 'gateways' }] } } }];
  const acme = await policy(`rbac-acme-${label}-${suffix}`, { issuer: { acme: { ...acmeIssuer(acmeEnv.directoryUrl, { solvers }), revokeOnDelete: true } } });

  const operator = await startOperatorAs(sa, label, 'healthy', env);
  let network: TestNetwork | undefined;
  let nginx: NetnsNginx | undefined;
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-rbac-nginx-'));
  try {
    await waitForOperatorReady(operator);
    // The Lease of the release namespace is held by this operator (a replica is healthy before it leads: wait for the Lease).
    const leases = testKube().kubeconfig.makeApiClient(CoordinationV1Api);
    const lease = await waitFor(
      async () => {
        const l = await leases.readNamespacedLease({ name: LEASE, namespace: ns }).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        return l?.spec?.holderIdentity === undefined ? undefined : l;
      },
      { description: `the Lease ${LEASE} to have a holder`, timeoutMs: 30_000 },
    );
    expect(lease.spec?.holderIdentity).toBe(operator.identity);

    await createCertificate(team, 'internal', { secretName: 'internal-tls', dnsNames: [`internal.${team}.svc`], policyRef: { name: ca } });
    await createCertificate(team, 'public', { secretName: 'public-tls', dnsNames: [`public-${label}-${suffix}.rbac.test`], policyRef: { name: acme } });
    await waitForPolicyReady(acme, 'True', 'AccountRegistered');
    const internal = await waitForCondition(team, 'internal', { status: 'True' });
    await waitForCondition(team, 'public', { status: 'True' }, 60_000);

    // Endpoint validation: a "pod" in a network namespace serving the issued certificate behind a Service.
    network = await createTestNetwork({ addresses: 1, label: 'rbac.test' });
    const secret = await readSecret(team, 'internal-tls');
    const served = { chainPem: secretText(secret, 'tls.crt'), keyPem: secretText(secret, 'tls.key') };
    const tls = { protocols: ['TLSv1.2', 'TLSv1.3'], ciphers: MOZILLA_INTERMEDIATE_CIPHERS, preferServerCiphers: false, curves: MOZILLA_CURVES, dhParams: false, hsts: HSTS_TWO_YEARS } as const;
    nginx = await startNetnsNginx({ network, name: `rbac-${label}-${suffix}`, baseDir: dir, addresses: network.addresses, port: 443, certificate: served, tls });
    await createServiceWithEndpoints(team, 'internal', { ports: [{ name: 'https', port: 443 }], addresses: network.addresses });
    const { customObjects } = testKube();
    await customObjects.patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'certificates',
      namespace: team,
      name: 'internal',
      body: [{ op: 'add', path: '/spec/endpoints', value: [{ service: 'internal', port: 443 }] }],
    });
    const verified = await waitForCondition(
      team,
      'internal',
      { type: 'EndpointsVerified', status: 'True', reason: 'CurrentCertificateServed', where: (c) => (c.status?.endpoints ?? []).length > 0 },
      60_000,
    );
    expect(verified.status?.endpoints).toEqual([expect.objectContaining({ service: 'internal', port: 443, address: network.addresses[0], current: true, servedFingerprintSHA256: leafFingerprint(served.chainPem) })]);
    expect(verified.status?.fingerprintSHA256).toBe(internal.status?.fingerprintSHA256);

    // The inventory lists both Secrets (it reads every TLS Secret of the cluster).
    const inventory = (await (await fetch(`${operator.url}/inventory?namespace=${team}`)).json()) as InventoryJson;
    const secretLocations = inventory.entries.flatMap((e) => e.locations.flatMap((l) => (l.type === 'secret' ? [`${l.namespace}/${l.name}#${l.key}`] : [])));
    expect(secretLocations).toEqual(expect.arrayContaining([`${team}/internal-tls#tls.crt`, `${team}/public-tls#tls.crt`]));
    // And its other sources: an opted-in ConfigMap, a PEM in an Opaque Secret, a webhook's caBundle.
    const pem = secretText(secret, 'ca.crt');
    await testKube().core.createNamespacedConfigMap({ namespace: team, body: { metadata: { name: 'trust', labels: { [BUNDLE_LABEL]: 'true' } }, data: { 'ca.crt': pem } } });
    await testKube().core.createNamespacedSecret({ namespace: team, body: { metadata: { name: 'app-pem' }, type: 'Opaque', stringData: { 'server.pem': pem } } });
    const webhookName = `rbac-${label}-${suffix}.certkeeper.dev`;
    await testKube().kubeconfig.makeApiClient(AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
      body: {
        metadata: { name: webhookName },
        // Intercepts a group nobody uses, and is ignored when down: harmless to the other tests on this API server.
        webhooks: [{ name: webhookName, admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Ignore', clientConfig: { url: 'https://127.0.0.1:1/never', caBundle: Buffer.from(pem).toString('base64') }, rules: [{ apiGroups: ['rbac-test.certkeeper.dev'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['nothing'] }] }],
      },
    });
    cleanups.push(async () => void (await testKube().kubeconfig.makeApiClient(AdmissionregistrationV1Api).deleteValidatingWebhookConfiguration({ name: webhookName })));
    await waitFor(
      async ({ observe }) => {
        const all = (await (await fetch(`${operator.url}/inventory`)).json()) as InventoryJson;
        const bundles = all.entries.flatMap((e) => e.locations.flatMap((l) => (l.type === 'bundle' ? [`${l.kind}/${l.namespace ?? ''}/${l.name}#${l.key}`] : [])));
        observe(bundles);
        return [`configmap/${team}/trust#ca.crt`, `secret_pem/${team}/app-pem#server.pem`, `validating_webhook//${webhookName}#${webhookName}`].every((b) => bundles.includes(b)) ? true : undefined;
      },
      { description: 'the ConfigMap, Opaque Secret and webhook caBundle in /inventory', timeoutMs: 20_000 },
    );
    // Consumers: an Ingress serving the issued Secret, a Pod mounting the PEM one (no kubelet runs it; the reference is what counts).
    await testKube().kubeconfig.makeApiClient(NetworkingV1Api).createNamespacedIngress({
      namespace: team,
      body: { metadata: { name: 'web' }, spec: { tls: [{ hosts: [`internal.${team}.svc`], secretName: 'internal-tls' }], defaultBackend: { service: { name: 'internal', port: { number: 443 } } } } },
    });
    await testKube().core.createNamespacedServiceAccount({ namespace: team, body: { metadata: { name: 'default' } } }).catch(() => undefined);
    await testKube().core.createNamespacedPod({
      namespace: team,
      body: { metadata: { name: 'app' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'app' }], volumes: [{ name: 'pem', secret: { secretName: 'app-pem' } }] } },
    });
    await waitFor(
      async ({ observe }) => {
        const all = (await (await fetch(`${operator.url}/inventory?namespace=${team}`)).json()) as InventoryJson;
        const used = all.entries.flatMap((e) =>
          e.locations.flatMap((l) => ((l.type === 'secret' || l.type === 'bundle') && l.consumers !== undefined ? l.consumers.consumers.map((c) => `${l.name}<-${c.kind}/${c.name}:${c.via}`) : [])),
        );
        observe(used);
        return used.includes('internal-tls<-Ingress/web:tls') && used.includes('app-pem<-Pod/app:volume') ? true : undefined;
      },
      { description: 'the Ingress and the Pod as consumers in /inventory', timeoutMs: 20_000 },
    );


    // Events were recorded (events.k8s.io) about the Certificates.
    const events = await testKube().kubeconfig.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: team });
    expect(events.items.map((e) => `${e.regarding?.kind}/${e.regarding?.name}`)).toEqual(expect.arrayContaining(['Certificate/internal', 'Certificate/public']));

    // Deleting the ACME Certificate revokes it and deletes its Secret (revokeOnDelete), then lets it go.
    const publicCert = await getCertificate(team, 'public');
    expect(publicCert.metadata.finalizers).toContain(REVOKE_FINALIZER);
    await customObjects.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace: team, name: 'public' });
    await waitFor(
      async () => {
        try {
          await getCertificate(team, 'public');
          return undefined;
        } catch (err) {
          return isNotFound(err) ? true : undefined;
        }
      },
      { description: 'the revoked Certificate to be gone', timeoutMs: 30_000 },
    );
    await expect(readSecret(team, 'public-tls')).rejects.toMatchObject({ code: 404 });

    await more?.(operator);

    // Any refusal by RBAC ("... is forbidden: User "system:serviceaccount:..." cannot ..."), not the
    // 403s of namespaces other test files left terminating (nothing may be created in those).
    expect(plainLog(operator)).not.toMatch(/forbidden: User "[^"]*" cannot [a-z]+ resource "/i);
  } finally {
    await operator.process.stop();
    await nginx?.stop();
    await network?.teardown();
    await rm(dir, { recursive: true, force: true });
    await forgetCertificate(team, 'internal');
  }
}

describe("the chart's ServiceAccount", () => {
  it('is who the operator is: the kubeconfig impersonates it, and the API server says so', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(impersonatingKubeconfig(serviceAccountUser(fullname)));
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    expect(review.status?.userInfo?.username).toBe(serviceAccountUser(fullname));
    expect(review.status?.userInfo?.groups).toEqual(expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${ns}`]));
    expect(review.status?.userInfo?.groups).not.toContain('system:masters');
    // And RBAC applies to it: no access to what the chart does not grant.
    await expect(kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'someone-elses', namespace: ns })).rejects.toMatchObject({ code: 403 });
  });

  it('is enough for ACME HTTP-01 (Ingress and HTTPRoute), CA issuance, revocation on delete, endpoint validation and the inventory, with no "forbidden"', async () => {
    const team = (await createTestNamespace('rbac-team')).name;
    await doesEverything(fullname, team, 'chart', {});
  });
});

// ---------------------------------------------------------------------------
// Each rule earns its place.

interface VariantContext {
  operator: OperatorProcess;
  team: string;
  /** CA policy and its Certificate "internal" in `team`. */
  caPolicy: string;
  /** ACME policy and its Certificate "public" in `team` (HTTP-01 through an Ingress and an HTTPRoute), when the variant needs one. */
  acmePolicy?: string;
  /** A policy whose CA Secret does not exist, when the variant needs one. */
  brokenPolicy?: string;
}

interface Breakage {
  /** What a user sees without the rule. */
  symptom: string;
  acme?: boolean;
  brokenPolicy?: boolean;
  /** Resolves when the symptom shows (throws or returns undefined while it does not). */
  shows: (c: VariantContext) => Promise<true | undefined>;
}

/** Leading, but a cache can never fill: never ready, and never live either (a pod would be restarted over and over). */
async function notReady(c: VariantContext): Promise<true | undefined> {
  const ready = await fetch(`${c.operator.url}/readyz?verbose`);
  const live = await fetch(`${c.operator.url}/healthz?verbose`);
  return ready.status === 503 && (await ready.text()).includes('caches not synced') && live.status === 500 ? true : undefined;
}

/** The CA Certificate still has no status at all: nobody could write it. */
async function noStatus(c: VariantContext): Promise<true | undefined> {
  const cert = await getCertificate(c.team, 'internal');
  return cert.status === undefined || (cert.status.conditions ?? []).length === 0 ? true : undefined;
}

async function acmeStuckWithout(c: VariantContext, what: string, exists: () => Promise<unknown[]>): Promise<true | undefined> {
  const cert = await getCertificate(c.team, 'public');
  const ready = condition(cert, 'Ready');
  if (ready?.status === 'True') throw new Error(`the ACME Certificate became Ready without ${what}`);
  return (await exists()).length === 0 && ready !== undefined ? true : undefined;
}

async function noLease(c: VariantContext): Promise<true | undefined> {
  const leases = await testKube().kubeconfig.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: ns });
  if (leases.items.some((l) => l.spec?.holderIdentity === c.operator.identity)) throw new Error('the operator holds the Lease');
  return (await noStatus(c)) === true ? true : undefined;
}

/**
 * What breaks without each rule, keyed `<apiGroup or "core">/<resources>:<verbs>`
 * (resourceNames noted). The first test checks this table and the chart's
 * rules name the same set, so a new rule needs its proof here.
 */
const BREAKAGE: Record<string, Breakage> = {
  'certkeeper.dev/certificates:get,list,watch,patch': { symptom: 'never ready nor live: no Certificate cache', shows: notReady },
  'certkeeper.dev/certificates/status:patch': { symptom: 'Certificates never get a status', shows: noStatus },
  'certkeeper.dev/tlspolicies:list,watch': { symptom: 'never ready nor live: no TLSPolicy cache', shows: notReady },
  'certkeeper.dev/tlspolicies/status:patch': {
    symptom: 'TLSPolicies never get a status',
    shows: async (c) => {
      const p = (await testKube().customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name: c.caPolicy })) as { status?: unknown };
      return p.status === undefined ? true : undefined;
    },
  },
  'core/namespaces:list,watch': { symptom: 'never ready nor live: no Namespace cache', shows: notReady },
  'core/secrets:get,list,watch,create,update,delete': { symptom: 'never ready nor live: no Secret cache', shows: notReady },
  'events.k8s.io/events:create,patch': {
    symptom: 'a Certificate is issued but no Event is recorded about it',
    shows: async (c) => {
      const cert = await getCertificate(c.team, 'internal');
      if (condition(cert, 'Ready')?.status !== 'True') return undefined;
      const events = await testKube().kubeconfig.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: c.team });
      return events.items.length === 0 ? true : undefined;
    },
  },
  'core/services:list,watch': { symptom: 'never ready nor live: no Service cache (endpoint validation)', shows: notReady },
  'discovery.k8s.io/endpointslices:list,watch': { symptom: 'never ready nor live: no EndpointSlice cache', shows: notReady },
  'core/services:create,delete': {
    symptom: 'HTTP-01 cannot present: no challenge Service, the ACME Certificate is not issued',
    acme: true,
    shows: (c) => acmeStuckWithout(c, 'a challenge Service', async () => (await testKube().core.listNamespacedService({ namespace: c.team })).items),
  },
  'networking.k8s.io/ingresses:create,delete': {
    symptom: 'HTTP-01 cannot present: no challenge Ingress, the ACME Certificate is not issued',
    acme: true,
    shows: (c) =>
      acmeStuckWithout(c, 'a challenge Ingress', async () => (await testKube().kubeconfig.makeApiClient(NetworkingV1Api).listNamespacedIngress({ namespace: c.team })).items),
  },
  'gateway.networking.k8s.io/httproutes:create,delete': {
    symptom: 'HTTP-01 through a Gateway cannot present: no HTTPRoute, the ACME Certificate is not issued',
    acme: true,
    shows: (c) =>
      acmeStuckWithout(c, 'a challenge HTTPRoute', async () => {
        const list = (await testKube().customObjects.listNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', namespace: c.team })) as { items: unknown[] };
        return list.items;
      }),
  },
  // The inventory's other sources (rbac-inventory.yaml): each is a cache the leader waits for.
  'admissionregistration.k8s.io/validatingwebhookconfigurations:list,watch': { symptom: 'never ready nor live: no ValidatingWebhookConfiguration cache (webhook caBundles)', shows: notReady },
  'admissionregistration.k8s.io/mutatingwebhookconfigurations:list,watch': { symptom: 'never ready nor live: no MutatingWebhookConfiguration cache (webhook caBundles)', shows: notReady },
  'apiregistration.k8s.io/apiservices:list,watch': { symptom: 'never ready nor live: no APIService cache (aggregated API caBundles)', shows: notReady },
  'apiextensions.k8s.io/customresourcedefinitions:list,watch': { symptom: 'never ready nor live: no CRD cache (conversion webhook caBundles)', shows: notReady },
  'core/configmaps:list,watch': { symptom: 'never ready nor live: no cache of the opted-in ConfigMaps (trust bundles)', shows: notReady },
  'core/pods:list,watch': { symptom: 'never ready nor live: no Pod cache (who mounts each Secret)', shows: notReady },
  'networking.k8s.io/ingresses:list,watch': { symptom: 'never ready nor live: no Ingress cache (who serves each Secret)', shows: notReady },
  'gateway.networking.k8s.io/gateways:list,watch': { symptom: 'never ready nor live: no Gateway cache (who serves each Secret)', shows: notReady },
  'coordination.k8s.io/leases:create': { symptom: 'the operator never leads: no Lease, nothing reconciled', shows: noLease },
  'coordination.k8s.io/leases[certkeeper-operator]:get,update': { symptom: 'the operator never leads: no Lease, nothing reconciled', shows: noLease },
};

/**
 * Watch mode (operator.watchNamespaces): the same needs, split by where they
 * are granted — `cluster:` the ClusterRole (TLSPolicies, the watched
 * Namespaces by name), `watched:` the Role in each watched namespace,
 * `release:` the Role in the release namespace.
 */
const WATCH_BREAKAGE: Record<string, Breakage> = {
  ...pick('cluster', [
    'certkeeper.dev/tlspolicies:list,watch',
    'certkeeper.dev/tlspolicies/status:patch',
    // The inventory's cluster-scoped sources: caBundles the API server trusts.
    'admissionregistration.k8s.io/validatingwebhookconfigurations:list,watch',
    'admissionregistration.k8s.io/mutatingwebhookconfigurations:list,watch',
    'apiregistration.k8s.io/apiservices:list,watch',
    'apiextensions.k8s.io/customresourcedefinitions:list,watch',
  ]),
  'cluster:core/namespaces[watched]:list,watch': { symptom: 'never ready nor live: no cache of the watched Namespace', shows: notReady },
  ...pick('watched', [
    'certkeeper.dev/certificates:get,list,watch,patch',
    'certkeeper.dev/certificates/status:patch',
    'core/secrets:get,list,watch,create,update,delete',
    'events.k8s.io/events:create,patch',
    'core/services:list,watch',
    'discovery.k8s.io/endpointslices:list,watch',
    'core/services:create,delete',
    'networking.k8s.io/ingresses:create,delete',
    'gateway.networking.k8s.io/httproutes:create,delete',
    // The inventory's namespaced sources and consumers, in the watched namespace only.
    'core/configmaps:list,watch',
    'core/pods:list,watch',
    'networking.k8s.io/ingresses:list,watch',
    'gateway.networking.k8s.io/gateways:list,watch',
  ]),
  ...pick('release', ['coordination.k8s.io/leases:create', 'coordination.k8s.io/leases[certkeeper-operator]:get,update']),
  'release:core/secrets:get,list,watch,create,delete': { symptom: 'never ready nor live: no cache of the CA Secrets in the release namespace', shows: notReady },
  'release:events.k8s.io/events:create,patch': {
    symptom: 'a TLSPolicy whose CA Secret is missing says so in its status, but no Warning Event is recorded about it',
    brokenPolicy: true,
    shows: async (c) => {
      if (c.brokenPolicy === undefined) throw new Error('the variant has no broken policy');
      const p = (await testKube().customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name: c.brokenPolicy })) as TLSPolicy;
      if (p.status?.conditions?.find((x) => x.type === 'Ready')?.status !== 'False') return undefined;
      const events = await testKube().kubeconfig.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
      return events.items.some((e) => e.regarding?.name === c.brokenPolicy) ? undefined : true;
    },
  },
};

function pick(scope: string, keys: string[]): Record<string, Breakage> {
  return Object.fromEntries(
    keys.map((k) => {
      const b = BREAKAGE[k];
      if (b === undefined) throw new Error(`no cluster-wide breakage ${k}`);
      return [`${scope}:${k}`, b];
    }),
  );
}

function ruleKey(r: V1PolicyRule): string {
  const group = r.apiGroups?.[0] === '' ? 'core' : (r.apiGroups?.[0] ?? '?');
  // The watched Namespaces' names differ per install and variant.
  const names = r.resourceNames === undefined ? '' : r.resources?.includes('namespaces') === true ? '[watched]' : `[${r.resourceNames.join(',')}]`;
  return `${group}/${(r.resources ?? []).join(',')}${names}:${r.verbs.join(',')}`;
}

/** The API server's words when RBAC refuses one of the rule's verbs on one of its resources. */
function refusalPattern(r: V1PolicyRule): RegExp {
  const group = (r.apiGroups?.[0] ?? '').replace(/\./g, '\\.');
  const alt = (xs: string[]) => xs.map((x) => x.replace(/[./]/g, (m) => `\\${m}`)).join('|');
  return new RegExp(`cannot (${alt(r.verbs)}) resource "(${alt(r.resources ?? [])})" in API group "${group}"`);
}

interface Grant {
  cluster: V1PolicyRule[];
  /** The Role in the release namespace. */
  release: V1PolicyRule[];
  /** Watch mode: the Role in the watched namespace. */
  watched?: V1PolicyRule[];
}

interface Variant {
  key: string;
  rule: V1PolicyRule;
  breakage: Breakage;
  grant: Grant;
}

/** Every rule of `grant` in turn left out, each breakage shown. */
function withoutEachRule(grant: Grant, table: Record<string, Breakage>): Variant[] {
  const scopes = (['cluster', 'release', 'watched'] as const).filter((scope) => grant[scope] !== undefined);
  const watchMode = grant.watched !== undefined;
  return scopes.flatMap((scope) =>
    (grant[scope] ?? []).map((rule, i) => {
      const key = watchMode ? `${scope}:${ruleKey(rule)}` : ruleKey(rule);
      const breakage = table[key];
      if (breakage === undefined) throw new Error(`no breakage described for rule ${key}`);
      return { key, rule, breakage, grant: { ...grant, [scope]: (grant[scope] ?? []).filter((_, j) => j !== i) } };
    }),
  );
}

async function proveEachRule(label: 'c' | 'w', variants: Variant[]): Promise<void> {
  const { rbac, core } = testKube();
  const failures: string[] = [];
  const timings: string[] = [];
  for (const [n, v] of variants.entries()) {
    const i = `${label}${n}`;
    const { key, breakage, grant } = v;
    const started = Date.now();
    // Fresh objects, so the operator has every step still to do.
    const team = (await createTestNamespace(`rbac-v${i}`)).name;
    // A ServiceAccount of its own, holding every rule but this one.
    const sa = `without-${i}-${suffix}`;
    // Watch mode: the watched Namespace by name is this variant's team.
    const clusterRulesOf = grant.watched === undefined ? grant.cluster : grant.cluster.map((r) => (r.resources?.includes('namespaces') === true && r.resourceNames !== undefined ? { ...r, resourceNames: [team] } : r));
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: sa } } });
    await rbac.createClusterRole({ body: { metadata: { name: `${fullname}-${sa}` }, rules: clusterRulesOf } });
    await rbac.createClusterRoleBinding({
      body: { metadata: { name: `${fullname}-${sa}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${fullname}-${sa}` }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }] },
    });
    await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: sa }, rules: grant.release } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: sa }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }] },
    });
    if (grant.watched !== undefined) {
      await rbac.createNamespacedRole({ namespace: team, body: { metadata: { name: sa }, rules: grant.watched } });
      await rbac.createNamespacedRoleBinding({
        namespace: team,
        body: { metadata: { name: sa }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: sa }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }] },
      });
    }
    cleanups.push(async () => {
      await rbac.deleteClusterRoleBinding({ name: `${fullname}-${sa}` }).catch(() => undefined);
      await rbac.deleteClusterRole({ name: `${fullname}-${sa}` }).catch(() => undefined);
    });

    const caName = `rbac-ca-${suffix}-v${i}`;
    await caSecret(caName);
    const caPolicy = await policy(caName, { issuer: { ca: { secretName: caName } }, trustUnmanagedEndpointSlices: true });
    await createCertificate(team, 'internal', { secretName: 'internal-tls', dnsNames: [`internal.${team}.svc`], policyRef: { name: caPolicy } });
    let acmePolicy: string | undefined;
    if (breakage.acme === true) {
      const solvers = [{ http01: { ingress: { ingressClassName: 'test-nginx' }, gatewayHTTPRoute: { parentRefs: [{ name: 'public', namespace: 'gateways' }] } } }];
      acmePolicy = await policy(`rbac-acme-${suffix}-v${i}`, { issuer: { acme: acmeIssuer(acmeEnv.directoryUrl, { solvers }) } });
      await createCertificate(team, 'public', { secretName: 'public-tls', dnsNames: [`v${i}-${suffix}.rbac.test`], policyRef: { name: acmePolicy } });
    }

    // A policy the operator cannot make ready (its CA Secret does not exist): it warns with an Event.
    const brokenPolicy = breakage.brokenPolicy === true ? await policy(`rbac-broken-${suffix}-v${i}`, { issuer: { ca: { secretName: `missing-${suffix}` } } }) : undefined;

    // Some variants are never healthy (a leader whose caches cannot fill): wait only for the HTTP server.
    const env: Record<string, string> = grant.watched === undefined ? {} : { CERTKEEPER_WATCH_NAMESPACES: team };
    const operator = await startOperatorAs(sa, `without-${i}`, 'listening', env);
    const context: VariantContext = { operator, team, caPolicy, ...(acmePolicy === undefined ? {} : { acmePolicy }), ...(brokenPolicy === undefined ? {} : { brokenPolicy }) };
    try {
      const pattern = refusalPattern(v.rule);
      await waitFor(() => (pattern.test(plainLog(operator)) ? true : undefined), { description: `a refusal matching ${pattern} in the log of the operator without ${key}`, timeoutMs: 30_000, intervalMs: 200 });
      await waitFor(({ observe }) => {
        observe(breakage.symptom);
        return breakage.shows(context);
      }, { description: `without ${key}: ${breakage.symptom}`, timeoutMs: 15_000, intervalMs: 250 });
      timings.push(`${key}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      const tail = operator.process
        .logTail(8)
        .split('\n')
        .map((line) => line.slice(0, 400))
        .join('\n');
      failures.push(`${key}: ${err instanceof Error ? err.message : String(err)}\n${tail}`);
    } finally {
      await operator.process.stop();
      await forgetCertificate(team, 'internal');
      await forgetCertificate(team, 'public');
      for (const p of [caPolicy, acmePolicy, brokenPolicy]) if (p !== undefined) await deletePolicy(p);
    }
  }
  process.stderr.write(`[rbac] ${label === 'c' ? 'cluster-wide' : 'watch-namespaces'} variants (time to breakage):\n  ${timings.join('\n  ')}\n`);
  expect(failures).toEqual([]);
}

describe('each rule of the ClusterRole and Role earns its place', () => {
  it("has a proof of breakage for exactly the chart's rules", () => {
    const keys = [...clusterRules, ...roleRules].map(ruleKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(Object.keys(BREAKAGE).sort());
  });

  // Built from the installed chart at run time; it.each needs them at collection, so one test walks them all.
  it('breaks something observable without any one rule (one operator per variant, in turn)', async () => {
    await proveEachRule('c', withoutEachRule({ cluster: clusterRules, release: roleRules }, BREAKAGE));
  }, 300_000);
});


describe('watch-namespaces mode (operator.watchNamespaces): namespaced Roles; cluster-wide only TLSPolicies, the watched Namespaces and the caBundles the API server trusts', () => {
  it('grants nothing outside the watched and release namespaces: no Secret, Certificate or Service elsewhere, no other Namespace', async () => {
    const sa = serviceAccountUser(fullnameW);
    const outside = (await createTestNamespace('rbac-outside')).name;
    const can = async (attrs: { verb: string; resource: string; group?: string; namespace?: string; name?: string }): Promise<boolean> => {
      const review = await testKube().kubeconfig.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: sa, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`], resourceAttributes: attrs } },
      });
      return review.status?.allowed === true;
    };
    // What it needs.
    expect(await can({ verb: 'list', resource: 'secrets', namespace: teamW })).toBe(true);
    expect(await can({ verb: 'create', resource: 'secrets', namespace: ns })).toBe(true);
    expect(await can({ verb: 'list', resource: 'tlspolicies', group: GROUP })).toBe(true);
    expect(await can({ verb: 'watch', resource: 'namespaces', name: teamW })).toBe(true);
    // Nothing else.
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'delete']) {
      expect(await can({ verb, resource: 'secrets' }), `${verb} secrets cluster-wide`).toBe(false);
      expect(await can({ verb, resource: 'secrets', namespace: outside }), `${verb} secrets in ${outside}`).toBe(false);
    }
    expect(await can({ verb: 'update', resource: 'secrets', namespace: ns }), 'update secrets in the release namespace').toBe(false);
    expect(await can({ verb: 'list', resource: 'certificates', group: GROUP })).toBe(false);
    expect(await can({ verb: 'list', resource: 'certificates', group: GROUP, namespace: outside })).toBe(false);
    expect(await can({ verb: 'list', resource: 'services', namespace: outside })).toBe(false);
    expect(await can({ verb: 'create', resource: 'events', group: 'events.k8s.io', namespace: outside })).toBe(false);
    expect(await can({ verb: 'list', resource: 'namespaces' })).toBe(false);
    // The inventory's namespaced sources and consumers: the watched namespace only.
    for (const resource of ['configmaps', 'pods']) {
      expect(await can({ verb: 'list', resource, namespace: teamW }), `list ${resource} in ${teamW}`).toBe(true);
      expect(await can({ verb: 'list', resource }), `list ${resource} cluster-wide`).toBe(false);
      expect(await can({ verb: 'list', resource, namespace: outside }), `list ${resource} in ${outside}`).toBe(false);
    }
    expect(await can({ verb: 'list', resource: 'ingresses', group: 'networking.k8s.io' })).toBe(false);
    expect(await can({ verb: 'watch', resource: 'namespaces', name: outside })).toBe(false);
  });

  it('is enough for everything in a watched namespace, and leaves every other namespace alone', async () => {
    const outside = (await createTestNamespace('rbac-unwatched')).name;
    await doesEverything(fullnameW, teamW, 'watched', { CERTKEEPER_WATCH_NAMESPACES: teamW }, async (operator) => {
      // A Certificate outside the watched namespaces, under a policy that selects its namespace: never seen, never issued.
      const caPolicy = policies.find((p) => p.startsWith('rbac-ca-watched-'));
      if (caPolicy === undefined) throw new Error('no CA policy');
      await createCertificate(outside, 'unwatched', { secretName: 'unwatched-tls', dnsNames: [`unwatched.${outside}.svc`], policyRef: { name: caPolicy } });
      // The operator's own certificate, in the watched namespace, is written after it: a later write proves the earlier one was looked at.
      await createCertificate(teamW, 'after', { secretName: 'after-tls', dnsNames: [`after.${teamW}.svc`], policyRef: { name: caPolicy } });
      await waitForCondition(teamW, 'after', { status: 'True' });
      const unwatched = await getCertificate(outside, 'unwatched');
      expect(unwatched.status).toBeUndefined();
      await expect(readSecret(outside, 'unwatched-tls')).rejects.toMatchObject({ code: 404 });
      // The inventory lists the watched namespace and the release namespace's CA, nothing else.
      const inventory = (await (await fetch(`${operator.url}/inventory`)).json()) as InventoryJson;
      const namespaces = new Set(inventory.entries.flatMap((e) => e.locations.flatMap((l) => (l.type === 'secret' ? [l.namespace] : []))));
      expect([...namespaces].sort()).toEqual([ns, teamW].sort());
      await forgetCertificate(teamW, 'after');
      await forgetCertificate(outside, 'unwatched');
    });
  });

  it("has a proof of breakage for exactly the chart's rules", () => {
    const keys = [...clusterRulesW.map((r) => `cluster:${ruleKey(r)}`), ...watchedRulesW.map((r) => `watched:${ruleKey(r)}`), ...releaseRulesW.map((r) => `release:${ruleKey(r)}`)];
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(Object.keys(WATCH_BREAKAGE).sort());
  });

  it('breaks something observable without any one rule (one operator per variant, in turn)', async () => {
    await proveEachRule('w', withoutEachRule({ cluster: clusterRulesW, release: releaseRulesW, watched: watchedRulesW }, WATCH_BREAKAGE));
  }, 360_000);
});
