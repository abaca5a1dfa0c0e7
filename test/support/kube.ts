/**
 * Helpers for integration tests against the shared kube-apiserver started by
 * global-setup.ts. Each test isolates itself in a namespace of its own.
 */
import {
  ApiextensionsV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
} from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject, onTestFinished } from 'vitest';
import { impersonating } from '../../hack/env/kubeconfig.js';
import { makeKubeClients, type KubeClients } from '../../src/kube/client.js';
import { pollUntil, type PollContext } from '../../hack/env/poll.js';

export interface TestKube {
  kubeconfig: KubeConfig;
  core: CoreV1Api;
  rbac: RbacAuthorizationV1Api;
  authorization: AuthorizationV1Api;
  apiextensions: ApiextensionsV1Api;
  customObjects: CustomObjectsApi;
  /** Generic create/read/patch/delete of any object (server-side apply included). */
  objects: KubernetesObjectApi;
  /** The clients certkeeper itself makes (its CLI's, its operator's): for calling its functions as they are called. */
  certkeeper: KubeClients;
}

function clients(kubeconfig: KubeConfig): TestKube {
  let own: KubeClients | undefined;
  return {
    kubeconfig,
    core: kubeconfig.makeApiClient(CoreV1Api),
    rbac: kubeconfig.makeApiClient(RbacAuthorizationV1Api),
    authorization: kubeconfig.makeApiClient(AuthorizationV1Api),
    apiextensions: kubeconfig.makeApiClient(ApiextensionsV1Api),
    customObjects: kubeconfig.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kubeconfig),
    // Made on first use: makeKubeClients gives the KubeConfig keep-alive agents,
    // which the generated clients above would then share.
    get certkeeper(): KubeClients {
      return (own ??= makeKubeClients(kubeconfig));
    },
  };
}

/** The injected admin kubeconfig (group system:masters). */
export function adminKubeConfig(): KubeConfig {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(inject('kubeconfigPath'));
  return kubeconfig;
}

export interface ImpersonationOptions {
  /** Impersonate this user (the admin credentials authenticate, RBAC judges the user). */
  user: string;
}

/**
 * Clients for the shared test apiserver: as admin, or, with `as`, as an
 * impersonated user (e.g. `system:serviceaccount:<ns>:<name>`) whose RBAC
 * permissions then apply.
 */
export function testKube(as?: ImpersonationOptions): TestKube {
  const admin = adminKubeConfig();
  return clients(as === undefined ? admin : impersonating(admin, as.user));
}

/**
 * A kubeconfig file in `dir` for a separate process (an operator): the admin's
 * client certificate, every request impersonating `user`; exportConfig writes
 * the `as:` field, which kubectl and client-node both read.
 */
export function impersonatingKubeconfigFile(dir: string, user: string): string {
  const path = join(dir, `${user.replace(/[^a-z0-9-]+/g, '-')}.kubeconfig`);
  writeFileSync(path, impersonating(adminKubeConfig(), user).exportConfig(), { mode: 0o600 });
  return path;
}

export const TEST_NAMESPACE_LABEL = 'certkeeper.dev/test';

export interface TestNamespace {
  name: string;
  /** Deletes the namespace; already registered with onTestFinished when created inside a test. */
  cleanup: () => Promise<void>;
}

function uniqueName(prefix: string): string {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return `${base === '' ? 'test' : base}-${randomBytes(4).toString('hex')}`;
}

/**
 * Creates a namespace with a unique name (`<prefix>-<random>`), labelled
 * `certkeeper.dev/test=true`. Inside a test it is deleted when the test
 * finishes; from beforeAll/beforeEach call the returned `cleanup` yourself.
 * No namespace controller runs, so a deleted namespace stays Terminating
 * (with its objects) until the environment goes away; names never repeat.
 */
export async function createTestNamespace(prefix: string, kube: TestKube = testKube()): Promise<TestNamespace> {
  const name = uniqueName(prefix);
  await kube.core.createNamespace({
    body: { metadata: { name, labels: { [TEST_NAMESPACE_LABEL]: 'true' } } },
  });
  let deleted = false;
  const cleanup = async (): Promise<void> => {
    if (deleted) return;
    deleted = true;
    await kube.core.deleteNamespace({ name });
  };
  try {
    onTestFinished(cleanup);
  } catch {
    // Not inside a running test (beforeAll, a helper at module level): the caller cleans up.
  }
  return { name, cleanup };
}

export interface WaitForOptions {
  /** What is awaited, for the timeout message ("Certificate demo to be Ready"). */
  description: string;
  /** Default 30 s. */
  timeoutMs?: number;
  /** Default 200 ms. */
  intervalMs?: number;
}

export type WaitForContext = PollContext;

/**
 * hack/env/poll.ts's pollUntil with the tests' defaults: calls `fn` until it
 * returns something other than undefined; a throwing `fn` counts as "not
 * yet"; the timeout message carries the description, the last value `fn`
 * passed to `observe`, and the last error.
 */
export function waitFor<T>(
  fn: (context: WaitForContext) => T | undefined | Promise<T | undefined>,
  options: WaitForOptions,
): Promise<Exclude<T, undefined>> {
  return pollUntil(fn, { description: options.description, timeoutMs: options.timeoutMs ?? 30_000, intervalMs: options.intervalMs ?? 200 });
}
