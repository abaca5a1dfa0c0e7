import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { makeKubeClients, type KubeClients } from '../../src/kube/client.js';
import { apiErrorMessage } from '../../src/kube/errors.js';
import type { AcmeEndpoints, OperatorProcess } from '../env/index.js';
import { detail, dim } from './console.js';
import { SafetyNet } from './safety-net.js';
import { Teardown } from './teardown.js';

// What every step of the demo shares: the one teardown list, the Ctrl-C
// signal, the safety net, and the API clients of the local cluster. One demo
// runs per process, so these are module singletons.

/** A check the demo makes that did not hold: reported as is, without a stack. */
export class DemoFailure extends Error {
  override name = 'DemoFailure';
}

export interface Clients {
  kubeconfig: KubeConfig;
  core: CoreV1Api;
  discovery: DiscoveryV1Api;
  customObjects: CustomObjectsApi;
  coordination: CoordinationV1Api;
  /** The clients certkeeper's own CLI makes: what the demo's `certkeeper …` steps call. */
  cli: KubeClients;
}

export interface Cluster {
  workDir: string;
  kubeconfigPath: string;
  clients: Clients;
  acme: AcmeEndpoints;
}

/** A cluster with the operator running: what the steps after step 4 work with. */
export interface RunningDemo {
  cluster: Cluster;
  operator: OperatorProcess;
}

export const teardown = new Teardown();
export const interrupt = new AbortController();
export const safetyNet = SafetyNet.start();

export function clientsFor(kubeconfigPath: string): Clients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kubeconfig: kc,
    core: kc.makeApiClient(CoreV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    customObjects: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
    cli: makeKubeClients(kc),
  };
}

/**
 * Waits for `work` unless Ctrl-C comes first: then it rejects at once, so the
 * demo goes straight to its teardown instead of waiting on a request to an API
 * server that is itself shutting down. `late` receives a result that arrives
 * after the interruption (an operator process that was still starting).
 */
export async function interruptible<T>(work: Promise<T>, late?: (value: T) => Promise<void>): Promise<T> {
  const signal = interrupt.signal;
  const settleLate = (): void => {
    if (late !== undefined) teardown.straggler(work.then(late));
  };
  if (signal.aborted) {
    settleLate();
    signal.throwIfAborted();
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('interrupted'));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (error) {
    if (signal.aborted) settleLate();
    throw error;
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/** Runs an API call, turning the client's error into the API server's own words plus what was being done. */
export async function api<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await interruptible(call());
  } catch (error) {
    if (interrupt.signal.aborted) throw error;
    throw new Error(`${what}: ${apiErrorMessage(error)}`, { cause: error });
  }
}

export function yamlBlock(value: unknown): void {
  detail(dim(stringify(value).trimEnd()));
}

/** A data field of a Secret, decoded; a DemoFailure naming the Secret when it is missing. */
export function secretField(data: Record<string, string> | undefined, key: string, secret: string): string {
  const value = data?.[key];
  if (value === undefined || value === '') throw new DemoFailure(`Secret ${secret} has no ${key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}
