/**
 * Integration helpers for ACME: an operator wired to the test environment's
 * Pebble (trust, HTTP-01 port, self-check through challtestsrv's DNS),
 * TLSPolicies with an ACME issuer, and questions asked of Pebble itself
 * (its root, an account's orders, forced ARI windows).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { inject, onTestFinished } from 'vitest';
import { realClock } from '../../src/clock.js';
import { Informer } from '../../src/kube/informer.js';
import { kubeListerWatcher, resourcePath } from '../../src/kube/kube-lister-watcher.js';
import type { KubeObject } from '../../src/kube/lister-watcher.js';
import { createLogger } from '../../src/log.js';
import { Client } from 'acme-client';
import type { TLSPolicySpec } from '../../src/api/tlspolicy.js';
import { httpFetch } from '../../hack/env/http.js';
import { localAcmeEnv, type LocalAcme, type OperatorProcess } from '../../hack/env/operator.js';
import { getPolicy, OPERATOR_NAMESPACE, secretText, startTestOperator } from './certkeeper.js';
import { testKube, waitFor } from './kube.js';
import { installStandInCrds, standInCrd } from './stand-in-crds.js';

export interface AcmeOperatorOptions extends LocalAcme {
  selfCheckTimeout?: string;
  ariMaxInterval?: string;
  leaderElect?: boolean;
  identity?: string;
}

export function startAcmeOperator(name: string, o: AcmeOperatorOptions): Promise<OperatorProcess> {
  return startTestOperator(name, {
    leaderElect: o.leaderElect,
    identity: o.identity,
    env: {
      ...localAcmeEnv(o),
      CERTKEEPER_ACME_SELF_CHECK_TIMEOUT: o.selfCheckTimeout ?? '20s',
      CERTKEEPER_ACME_ARI_MIN_INTERVAL: '1s',
      CERTKEEPER_ACME_ARI_MAX_INTERVAL: o.ariMaxInterval ?? '24h',
    },
  });
}

/** The shared environment's Pebble, as an operator of an ACME test file uses it. */
export function sharedPebbleOperatorOptions(): AcmeOperatorOptions {
  const acme = inject('acme');
  return { http01Port: acme.httpChallengePort, caFile: acme.serverCaPath, nameserver: acme.dnsServer };
}

export type AcmeIssuerSpec = NonNullable<NonNullable<TLSPolicySpec['issuer']>['acme']>;

/** An ACME issuer for `server` with its own account key Secret (so each policy is its own account at the CA). */
export function acmeIssuer(server: string, extra: Partial<AcmeIssuerSpec> = {}): AcmeIssuerSpec {
  return {
    server,
    email: 'certkeeper-tests@example.com',
    privateKeySecretRef: { name: `acme-account-${randomBytes(4).toString('hex')}` },
    solvers: [{ http01: { ingress: { ingressClassName: 'test-nginx' } } }],
    ...extra,
  };
}

/** Waits for the TLSPolicy's Ready condition to be `status` and returns the policy. */
export async function waitForPolicyReady(name: string, status: 'True' | 'False', reason?: string, timeoutMs = 30_000) {
  return waitFor(
    async ({ observe }) => {
      const p = await getPolicy(name);
      const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
      observe(p.status);
      return ready?.status === status && (reason === undefined || ready.reason === reason) ? p : undefined;
    },
    { description: `TLSPolicy ${name} Ready=${status}${reason === undefined ? '' : `/${reason}`}`, timeoutMs },
  );
}

/** GET (or, with a body, POST) against a Pebble management endpoint (HTTPS, the environment's CA). */
export async function pebbleManagement(baseUrl: string, caFile: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const ca = await readFile(caFile, 'utf8');
  const response = await httpFetch(`${baseUrl}${path}`, {
    tls: { ca },
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, text: response.body };
}

async function accountClient(policyName: string): Promise<{ client: Client; ordersUrl: string }> {
  const policy = await getPolicy(policyName);
  const acme = policy.spec.issuer?.acme;
  const accountURI = policy.status?.acme?.accountURI;
  if (acme === undefined || accountURI === undefined) throw new Error(`TLSPolicy ${policyName} has no registered ACME account`);
  const secret = await testKube().core.readNamespacedSecret({ name: acme.privateKeySecretRef.name, namespace: OPERATOR_NAMESPACE });
  const { axios } = await import('acme-client');
  const ca = await readFile(inject('acme').serverCaPath, 'utf8');
  axios.defaults.httpsAgent = new Agent({ ca });
  const client = new Client({ directoryUrl: acme.server, accountKey: secretText(secret, acme.privateKeySecretRef.key ?? 'tls.key'), accountUrl: accountURI });
  const account = await client.updateAccount();
  return { client, ordersUrl: account.orders };
}

type OrderView = Awaited<ReturnType<Client['getOrder']>> & { replaces?: string; profile?: string };

/** The account of a policy, as Pebble knows it: its orders (Pebble lists all but invalid ones). */
export async function accountOrders(policyName: string): Promise<OrderView[]> {
  const { client, ordersUrl } = await accountClient(policyName);
  const api = (client as unknown as { api: { apiRequest(url: string, payload: null, codes: number[]): Promise<{ data: { orders: string[] } }> } }).api;
  const list = (await api.apiRequest(ordersUrl, null, [200])).data;
  return Promise.all(list.orders.map(async (url) => ({ ...(await client.getOrder({ url, status: 'pending', identifiers: [], authorizations: [], finalize: '' })), url })));
}

/**
 * Deactivates every authorization of the policy's account, so the next order
 * needs its challenges solved again (Pebble otherwise reuses valid ones half
 * of the time).
 */
export async function deactivateAuthorizations(policyName: string): Promise<void> {
  const { client } = await accountClient(policyName);
  for (const order of await accountOrders(policyName)) {
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status === 'valid') await client.deactivateAuthorization(authz);
    }
  }
}

/**
 * Every object of a kind that ever appears in a namespace (from a watch
 * started now), for objects that live shorter than any polling interval.
 * Stops when the test ends.
 */
export async function recordAdded<T extends KubeObject>(loc: { group?: string; version: string; plural: string; namespace: string }): Promise<Map<string, T>> {
  const seen = new Map<string, T>();
  const watcher = new Informer<T, T>({
    name: `test-${loc.plural}`,
    listerWatcher: kubeListerWatcher(testKube().kubeconfig, resourcePath(loc)),
    clock: realClock,
    log: createLogger('silent'),
  });
  watcher.on('add', (key, o) => {
    seen.set(key, o);
  });
  watcher.start();
  await watcher.waitForSync();
  onTestFinished(() => watcher.stop());
  return seen;
}

/** POST to pebble-challtestsrv's management API (plain HTTP), e.g. /add-a, /clear-a. */
export async function challtestsrv(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${inject('acme').challtestsrvUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`challtestsrv ${path}: HTTP ${response.status}`);
}

/** Runs the certkeeper CLI against the test cluster; resolves with its exit code and output. */
export async function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  const { spawn } = await import('node:child_process');
  const { REPO_ROOT } = await import('../../hack/env/tools.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts'), ...args, '--kubeconfig', inject('kubeconfigPath')], { cwd: REPO_ROOT });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * A stand-in for the Gateway API's HTTPRoute CRD (gateway.networking.k8s.io/v1):
 * the real one is not vendored here and no gateway controller runs; what is
 * checked is that certkeeper creates and deletes the route object.
 */
// *.k8s.io groups need this annotation; "unapproved, ..." is the documented value for a non-upstream definition.
export const HTTPROUTE_CRD = standInCrd('gateway.networking.k8s.io', 'HTTPRoute', { 'api-approved.kubernetes.io': 'unapproved, certkeeper test stand-in' });

export async function installHttpRouteCrd(): Promise<() => Promise<void>> {
  await installStandInCrds([HTTPROUTE_CRD], 'HTTPRoute CRD');
  return async () => {
    await testKube().apiextensions.deleteCustomResourceDefinition({ name: HTTPROUTE_CRD.metadata.name }).catch(() => undefined);
  };
}
