// Where the operator's API credentials come from, and the API clients made
// from them. Everything else takes a KubeClients (or a Pick of it) so tests
// can hand in fakes.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

import { shareKeepAliveAgents } from './keep-alive.js';
import { certificatesClient, SecretsClient, tlsPoliciesClient, type CertificatesClient, type TLSPoliciesClient } from './resources.js';
import { retryOnBackPressure } from './back-pressure.js';
import { retryOnTransportErrors } from './transport-retry.js';
import {
  rawAppsApi,
  rawAuthenticationApi,
  rawAuthorizationApi,
  rawCoordinationApi,
  rawCoreApi,
  rawCustomObjectsApi,
  rawEventsApi,
  rawNetworkingApi,
  type AppsApi,
  type AuthenticationApi,
  type AuthorizationApi,
  type CoordinationApi,
  type CoreApi,
  type CustomObjectsClient,
  type EventsApi,
  type NetworkingApi,
} from './raw-apis.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * Loads credentials: an explicit kubeconfig path; else $KUBECONFIG or
 * ~/.kube/config; else the pod's service account. Throws, saying what was
 * tried, rather than silently falling back to http://localhost:8080.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  let source: string;
  try {
    if (path !== undefined && path !== '') {
      source = `kubeconfig ${path}`;
      kc.loadFromFile(path);
    } else if ((process.env.KUBECONFIG ?? '') !== '') {
      source = `KUBECONFIG=${process.env.KUBECONFIG ?? ''}`;
      kc.loadFromDefault();
    } else if (existsSync(join(homedir(), '.kube', 'config'))) {
      source = `kubeconfig ${join(homedir(), '.kube', 'config')}`;
      kc.loadFromDefault();
    } else if (existsSync(SERVICE_ACCOUNT_TOKEN)) {
      source = 'in-cluster service account';
      kc.loadFromCluster();
    } else {
      throw new Error('no kubeconfig given, KUBECONFIG unset, no ~/.kube/config, and not running in a pod');
    }
  } catch (err) {
    throw new Error(`loading Kubernetes credentials: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`loading Kubernetes credentials from ${source}: no current context/cluster`);
  return kc;
}

export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreApi;
  coordination: CoordinationApi;
  events: EventsApi;
  customObjects: CustomObjectsClient;
  networking: NetworkingApi;
  /** Deployments, StatefulSets, DaemonSets, ReplicaSets: the workloads a reload restarts (spec.reload). */
  apps: AppsApi;
  /** TokenReview and SubjectAccessReview: who may read /metrics and /inventory. */
  authentication: AuthenticationApi;
  authorization: AuthorizationApi;
  /** Typed clients of the resources certkeeper reads and writes (see resources.ts). */
  certificates: CertificatesClient;
  tlsPolicies: TLSPoliciesClient;
  secrets: SecretsClient;
}

/** How the clients connect. */
export interface ClientPoolOptions {
  /**
   * A connection pool of their own with at most this many sockets (default:
   * the one shared pool, uncapped). The ACME parts get one wide enough that
   * requests never queue for a socket: node-fetch 2 reports a false "Premature
   * close" for many answers on a kept-alive socket handed straight to a queued request.
   */
  maxSockets?: number;
  /** Repeat a call whose connection failed under it (see transport-retry.ts); for callers whose calls are all safe to repeat. */
  retryTransportErrors?: boolean;
}

/** The one factory of API clients: every client of the process comes from here. */
export function makeKubeClients(kc: KubeConfig, pool: ClientPoolOptions = {}): KubeClients {
  const own = pool.maxSockets === undefined ? kc : copyKubeConfig(kc);
  shareKeepAliveAgents(own, pool.maxSockets);
  // Every call waits out the API server's back-pressure (429, 503 with Retry-After), as client-go does;
  // leader election does not: its Lease renewals must fail within their deadline, not wait.
  const make = <T extends object>(client: T, backPressure = true): T => {
    const retried = pool.retryTransportErrors === true ? retryOnTransportErrors(client) : client;
    return backPressure ? retryOnBackPressure(retried) : retried;
  };
  // Plain JSON requests (raw-apis.ts), not client-node's generated API classes.
  const core = make(rawCoreApi(own));
  const customObjects = make(rawCustomObjectsApi(own));
  return {
    kubeConfig: own,
    core,
    coordination: make(rawCoordinationApi(own), false),
    events: make(rawEventsApi(own)),
    customObjects,
    networking: make(rawNetworkingApi(own)),
    apps: make(rawAppsApi(own)),
    authentication: make(rawAuthenticationApi(own)),
    authorization: make(rawAuthorizationApi(own)),
    certificates: certificatesClient(customObjects),
    tlsPolicies: tlsPoliciesClient(customObjects),
    secrets: new SecretsClient(core),
  };
}

/** A KubeConfig with the same clusters, users and contexts, whose connection pool is its own. */
function copyKubeConfig(kc: KubeConfig): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({ clusters: kc.getClusters(), users: kc.getUsers(), contexts: kc.getContexts(), currentContext: kc.getCurrentContext() });
  return copy;
}
