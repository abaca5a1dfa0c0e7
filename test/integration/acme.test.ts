import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { V1Ingress } from '@kubernetes/client-node';
import type { KubeObject } from '../../src/kube/lister-watcher.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { keyMatchesCertificate, parseCertificateChainPem } from '../../src/pki/certificates.js';
import { readCertificateChainPem } from '../../src/pki/certificate-der.js';
import { ariCertId } from '../../src/issuers/acme/ari.js';
import { authorityKeyId } from '../../src/secrets/summary.js';
import {
  accountOrders,
  acmeIssuer,
  challtestsrv,
  deactivateAuthorizations,
  installHttpRouteCrd,
  recordAdded,
  pebbleManagement,
  runCli,
  sharedPebbleOperatorOptions,
  startAcmeOperator,
  waitForPolicyReady,
} from '../support/acme.js';
import { condition, createCertificate, createPolicy, deletePolicy, getCertificate, OPERATOR_NAMESPACE, readSecret, secretText, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';

// ACME against the environment's Pebble (5 % bad nonces left on) and its
// challtestsrv (every name resolves to 127.0.0.1). This file is the one that
// owns Pebble's HTTP-01 port: its operator's responder listens there.

let operator: OperatorProcess;
const policies: string[] = [];
const acmeEnv = inject('acme');

// ARI is asked again every 2 s at most here (1 day in production), so a window forced through Pebble shows at once.
const operatorOptions = { ...sharedPebbleOperatorOptions(), selfCheckTimeout: '8s', ariMaxInterval: '2s' };

beforeAll(async () => {
  operator = await startAcmeOperator('acme', operatorOptions);
});

afterAll(async () => {
  await operator.process.stop();
  for (const p of policies) await deletePolicy(p);
});

async function acmePolicy(extra: Parameters<typeof acmeIssuer>[1] = {}): Promise<string> {
  const name = `it-acme-${uniqueSuffix()}`;
  policies.push(name);
  await createPolicy(name, { issuer: { acme: acmeIssuer(acmeEnv.directoryUrl, extra) } });
  return name;
}

async function pebbleRoot(index = 0): Promise<string> {
  const root = await pebbleManagement(acmeEnv.pebbleManagementUrl, acmeEnv.serverCaPath, `/roots/${index}`);
  expect(root.status).toBe(200);
  return root.text;
}

/** tls.crt: leaf for tls.key, each certificate issued by the next, the last by Pebble's root. */
async function verifyAgainstPebble(namespace: string, secretName: string, rootIndex = 0) {
  const secret = await readSecret(namespace, secretName);
  const chain = parseCertificateChainPem(secretText(secret, 'tls.crt'));
  const [leaf] = chain;
  if (leaf === undefined) throw new Error('no leaf');
  expect(keyMatchesCertificate(secretText(secret, 'tls.key'), leaf)).toBe(true);
  const nodes = chain.map((c) => new X509Certificate(Buffer.from(c.rawData)));
  for (let i = 0; i + 1 < nodes.length; i++) expect(nodes[i]?.verify((nodes[i + 1] as X509Certificate).publicKey)).toBe(true);
  const root = new X509Certificate(await pebbleRoot(rootIndex));
  expect(nodes[nodes.length - 1]?.verify(root.publicKey)).toBe(true);
  return { secret, leaf: nodes[0] as X509Certificate };
}

describe('ACME account', () => {
  it('registers the account, generating its key, and shows the account URI on the policy', async () => {
    const p = await acmePolicy();
    const ready = await waitForPolicyReady(p, 'True', 'AccountRegistered');
    expect(ready.status?.acme?.accountURI).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    expect(ready.status?.acme?.server).toBe(acmeEnv.directoryUrl);
    const keySecret = await testKube().core.readNamespacedSecret({ name: ready.spec.issuer?.acme?.privateKeySecretRef.name ?? '', namespace: OPERATOR_NAMESPACE });
    expect(secretText(keySecret, 'tls.key')).toContain('-----BEGIN PRIVATE KEY-----');
    // Every request to the CA is counted, by server, action and status class.
    const metrics = await (await fetch(`${operator.url}/metrics`)).text();
    const host = new URL(acmeEnv.directoryUrl).host;
    expect(metrics).toContain(`certkeeper_acme_client_requests_total{server="${host}",action="account",status="2xx"}`);
    expect(metrics).toMatch(new RegExp(`certkeeper_acme_client_requests_total\\{server="${host}",action="directory",status="2xx"\\} \\d+`));
  });

  it('says what is wrong when the directory URL is wrong', async () => {
    const p = `it-acme-${uniqueSuffix()}`;
    policies.push(p);
    await createPolicy(p, { issuer: { acme: acmeIssuer(acmeEnv.directoryUrl.replace(/\/dir$/, '/no-such-directory')) } });
    const failed = await waitForPolicyReady(p, 'False', 'AccountRegistrationFailed');
    expect(condition(failed, 'Ready')?.message).toContain('no-such-directory');
  });
});

describe('HTTP-01', () => {
  it('issues a multi-SAN certificate through an Ingress, removed afterwards', async () => {
    const ns = await createTestNamespace('acme-http');
    const p = await acmePolicy();
    const seenIngresses = await recordAdded<V1Ingress & KubeObject>({ group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespace: ns.name });
    await createCertificate(ns.name, 'web', {
      secretName: 'web-tls',
      dnsNames: ['web.acme.test', 'www.acme.test', 'api.acme.test'],
      privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', rotationPolicy: 'Always' },
      policyRef: { name: p },
    });
    const ready = await waitForCondition(ns.name, 'web', { status: 'True' }, 60_000);
    const { leaf } = await verifyAgainstPebble(ns.name, 'web-tls');
    expect(leaf.subjectAltName?.split(', ').sort()).toEqual(['DNS:api.acme.test', 'DNS:web.acme.test', 'DNS:www.acme.test']);
    // One temporary Ingress per name was there while the challenges ran, routing its challenge path.
    expect(seenIngresses.size).toBe(3);
    const routes = [...seenIngresses.values()].map((i) => ({ host: i.spec?.rules?.[0]?.host, path: i.spec?.rules?.[0]?.http?.paths[0]?.path, cls: i.spec?.ingressClassName }));
    expect(routes.map((r) => r.host).sort()).toEqual(['api.acme.test', 'web.acme.test', 'www.acme.test']);
    for (const r of routes) expect(r).toMatchObject({ cls: 'test-nginx', path: expect.stringMatching(/^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]+$/) as unknown });
    expect(ready.status?.acme).toBeUndefined();
    expect(ready.status?.nextPrivateKeySecretName).toBeUndefined();
    // Everything the challenges put up is gone.
    const kube = testKube();
    const ingresses = await kube.kubeconfig.makeApiClient((await import('@kubernetes/client-node')).NetworkingV1Api).listNamespacedIngress({ namespace: ns.name });
    expect(ingresses.items).toEqual([]);
    const services = await kube.core.listNamespacedService({ namespace: ns.name });
    expect(services.items).toEqual([]);
    const solverSecrets = await kube.core.listNamespacedSecret({ namespace: OPERATOR_NAMESPACE, labelSelector: 'certkeeper.dev/acme-challenge' });
    expect(solverSecrets.items.filter((s) => s.metadata?.labels?.['certkeeper.dev/certificate-name'] === 'web')).toEqual([]);
    const secrets = await kube.core.listNamespacedSecret({ namespace: ns.name });
    expect(secrets.items.map((s) => s.metadata?.name)).toEqual(['web-tls']);
    expect(await accountOrders(p)).toHaveLength(1);
  });

  it('routes the challenge with a Gateway API HTTPRoute when the solver says so, removed afterwards', async () => {
    const removeCrd = await installHttpRouteCrd();
    try {
      const ns = await createTestNamespace('acme-route');
      const parentRefs = [{ name: 'public', namespace: 'gateways', sectionName: 'http' }];
      const p = await acmePolicy({ solvers: [{ http01: { gatewayHTTPRoute: { parentRefs } } }] });
      const kube = testKube();
      const routeLocation = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', namespace: ns.name };
      const seen = await recordAdded<KubeObject & { spec: Record<string, unknown> }>(routeLocation);
      await createCertificate(ns.name, 'routed', { secretName: 'routed-tls', dnsNames: ['routed.acme.test'], policyRef: { name: p } });
      await waitForCondition(ns.name, 'routed', { status: 'True' }, 60_000);
      await verifyAgainstPebble(ns.name, 'routed-tls');
      expect([...seen.values()].map((r) => r.spec)).toMatchObject([{ parentRefs, hostnames: ['routed.acme.test'] }]);
      const routes = (await kube.customObjects.listNamespacedCustomObject(routeLocation)) as { items: unknown[] };
      expect(routes.items).toEqual([]);
      expect((await kube.core.listNamespacedService({ namespace: ns.name })).items).toEqual([]);
    } finally {
      await removeCrd();
    }
  });
});

describe('resumable orders', () => {
  it('an operator killed after creating the order finishes that same order after a restart', async () => {
    const ns = await createTestNamespace('acme-resume');
    const p = await acmePolicy();
    const host = `resume-${uniqueSuffix()}.acme.test`;
    // The name points elsewhere for now: the self-check cannot pass, so the order stays open.
    await challtestsrv('/add-a', { host, addresses: ['127.0.0.2'] });
    await createCertificate(ns.name, 'resume', { secretName: 'resume-tls', dnsNames: [host], policyRef: { name: p } });
    const waiting = await waitFor(
      async ({ observe }) => {
        const c = await getCertificate(ns.name, 'resume');
        observe(c.status);
        return c.status?.acme?.challenges?.[0]?.selfCheck !== undefined ? c : undefined;
      },
      { description: 'the order created and its self-check waiting', timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(condition(waiting, 'Issuing')).toMatchObject({ status: 'True', reason: 'SelfCheckPending' });
    expect(condition(waiting, 'Issuing')?.message).toContain(host);
    expect(waiting.status?.nextPrivateKeySecretName).toBe('resume-next-private-key');
    const orderUrl = waiting.status?.acme?.url;
    expect(orderUrl).toMatch(/\/my-order\//);

    operator.process.killNow();
    await operator.process.exited;
    await challtestsrv('/clear-a', { host });
    operator = await startAcmeOperator('acme-restarted', operatorOptions);

    await waitForCondition(ns.name, 'resume', { status: 'True' }, 30_000);
    await verifyAgainstPebble(ns.name, 'resume-tls');
    const orders = await accountOrders(p);
    expect(orders.map((o) => o.url)).toEqual([orderUrl]);
    expect(orders[0]?.status).toBe('valid');
  });
});

describe('ACME Renewal Information (RFC 9773)', () => {
  it('a window forced through Pebble moves renewalTime into it; a window already open renews with `replaces`', async () => {
    const ns = await createTestNamespace('acme-ari');
    const p = await acmePolicy();
    await createCertificate(ns.name, 'ari', { secretName: 'ari-tls', dnsNames: [`ari-${uniqueSuffix()}.acme.test`], policyRef: { name: p } });
    const first = await waitForCondition(ns.name, 'ari', { status: 'True', where: (c) => c.status?.renewalBasis === 'ARI' }, 30_000);
    const pem = secretText(await readSecret(ns.name, 'ari-tls'), 'tls.crt');
    const setWindow = async (start: Date, end: Date) => {
      const answer = await pebbleManagement(acmeEnv.pebbleManagementUrl, acmeEnv.serverCaPath, '/set-renewal-info/', {
        Certificate: pem,
        ARIResponse: JSON.stringify({ suggestedWindow: { start: start.toISOString(), end: end.toISOString() } }),
      });
      expect(answer.status).toBe(200);
    };

    const start = new Date(Date.now() + 2 * 86_400_000);
    const end = new Date(start.getTime() + 86_400_000);
    await setWindow(start, end);
    // The window is written by one reconcile and renewalTime moved into it by the next (the window's own status write wakes it).
    const inWindow = (c: { status?: { renewalInfo?: { windowStart?: string }; renewalTime?: string } }) => {
      const at = Date.parse(c.status?.renewalTime ?? '');
      return c.status?.renewalInfo?.windowStart === start.toISOString() && at >= start.getTime() - 1000 && at < end.getTime();
    };
    const moved = await waitForCondition(ns.name, 'ari', { status: 'True', where: inWindow }, 15_000);
    const renewalTime = Date.parse(moved.status?.renewalTime ?? '');
    expect(moved.status?.renewalBasis).toBe('ARI');
    expect(renewalTime).toBeGreaterThanOrEqual(start.getTime() - 1000);
    expect(renewalTime).toBeLessThan(end.getTime());
    expect(moved.status?.renewalInfo).toMatchObject({ serialNumber: first.status?.serialNumber, windowEnd: end.toISOString() });

    // The CA wants it replaced now.
    await setWindow(new Date(Date.now() - 2 * 3_600_000), new Date(Date.now() - 3_600_000));
    const renewed = await waitForCondition(ns.name, 'ari', { status: 'True', where: (c) => c.status?.revision === 2 }, 30_000);
    expect(renewed.status?.serialNumber).not.toBe(first.status?.serialNumber);
    const [leaf] = readCertificateChainPem(pem);
    const aki = leaf === undefined ? undefined : authorityKeyId(leaf);
    expect(aki).toMatch(/^[0-9a-f]{40}$/);
    const orders = await accountOrders(p);
    expect(orders.filter((o) => o.replaces !== undefined).map((o) => o.replaces)).toEqual([ariCertId(aki ?? '', first.status?.serialNumber ?? '')]);
    await verifyAgainstPebble(ns.name, 'ari-tls');
  });
});

describe('revocation on delete', () => {
  it('is opt-in: with revokeOnDelete the certificate is revoked and its Secret deleted; without, the Secret stays', async () => {
    const ns = await createTestNamespace('acme-revoke');
    const revoking = await acmePolicy({ revokeOnDelete: true });
    const keeping = await acmePolicy();
    await createCertificate(ns.name, 'gone', { secretName: 'gone-tls', dnsNames: [`gone-${uniqueSuffix()}.acme.test`], policyRef: { name: revoking } });
    await createCertificate(ns.name, 'kept', { secretName: 'kept-tls', dnsNames: [`kept-${uniqueSuffix()}.acme.test`], policyRef: { name: keeping } });
    const gone = await waitForCondition(ns.name, 'gone', { status: 'True', where: (c) => c.metadata.finalizers?.includes('certkeeper.dev/revoke-on-delete') === true }, 30_000);
    const kept = await waitForCondition(ns.name, 'kept', { status: 'True' }, 30_000);
    expect(kept.metadata.finalizers ?? []).toEqual([]);

    const kube = testKube();
    for (const name of ['gone', 'kept']) await kube.customObjects.deleteNamespacedCustomObject({ group: 'certkeeper.dev', version: 'v1alpha1', plural: 'certificates', namespace: ns.name, name });
    await waitFor(async () => ((await getCertificate(ns.name, 'gone').catch(() => undefined)) === undefined ? true : undefined), { description: 'gone deleted', timeoutMs: 30_000 });
    await expect(readSecret(ns.name, 'gone-tls')).rejects.toMatchObject({ code: 404 });
    const status = await pebbleManagement(acmeEnv.pebbleManagementUrl, acmeEnv.serverCaPath, `/cert-status-by-serial/${gone.status?.serialNumber ?? ''}`);
    expect(JSON.parse(status.text)).toMatchObject({ Status: 'Revoked' });
    const events = await kube.core.listNamespacedEvent({ namespace: ns.name });
    expect(events.items.some((e) => e.reason === 'Revoked')).toBe(true);

    expect((await readSecret(ns.name, 'kept-tls')).metadata?.name).toBe('kept-tls');
    const keptStatus = await pebbleManagement(acmeEnv.pebbleManagementUrl, acmeEnv.serverCaPath, `/cert-status-by-serial/${kept.status?.serialNumber ?? ''}`);
    expect(JSON.parse(keptStatus.text)).toMatchObject({ Status: 'Valid' });
  });
});

describe('failures', () => {
  it('a renewal whose challenge cannot succeed backs off with the reason, leaving the valid Secret alone, and succeeds once it can', async () => {
    const ns = await createTestNamespace('acme-fail');
    const p = await acmePolicy();
    const host = `fail-${uniqueSuffix()}.acme.test`;
    await createCertificate(ns.name, 'shop', { secretName: 'shop-tls', dnsNames: [host], policyRef: { name: p } });
    const first = await waitForCondition(ns.name, 'shop', { status: 'True' }, 30_000);
    const before = await readSecret(ns.name, 'shop-tls');

    // The solver becomes unreachable (and the CA must validate again); then someone asks for a renewal.
    await deactivateAuthorizations(p);
    await challtestsrv('/add-a', { host, addresses: ['127.0.0.2'] });
    const renew = await runCli(['renew', 'shop', '-n', ns.name]);
    expect(renew).toMatchObject({ code: 0 });
    const failed = await waitForCondition(ns.name, 'shop', { type: 'Issuing', status: 'False', reason: 'Backoff' }, 40_000);
    expect(failed.status?.failedIssuanceAttempts).toBe(1);
    expect(failed.status?.lastFailureMessage).toContain(`self-check of ${host} did not pass`);
    expect(failed.status?.lastFailureMessage).toContain('127.0.0.2');
    expect(condition(failed, 'Ready')).toMatchObject({ status: 'True' });
    expect(failed.status?.acme).toBeUndefined();
    const after = await readSecret(ns.name, 'shop-tls');
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(failed.status?.serialNumber).toBe(first.status?.serialNumber);
    const kube = testKube();
    const events = await kube.core.listNamespacedEvent({ namespace: ns.name });
    expect(events.items.some((e) => e.type === 'Warning' && e.reason === 'IssuanceFailed')).toBe(true);
    const { NetworkingV1Api } = await import('@kubernetes/client-node');
    expect((await kube.kubeconfig.makeApiClient(NetworkingV1Api).listNamespacedIngress({ namespace: ns.name })).items).toEqual([]);

    // Reachable again: the retry after the backoff issues revision 2.
    await challtestsrv('/clear-a', { host });
    const renewed = await waitForCondition(ns.name, 'shop', { status: 'True', where: (c) => c.status?.revision === 2 }, 60_000);
    expect(renewed.status?.failedIssuanceAttempts).toBeUndefined();
    expect(renewed.status?.serialNumber).not.toBe(first.status?.serialNumber);
    await verifyAgainstPebble(ns.name, 'shop-tls');
  });
});
