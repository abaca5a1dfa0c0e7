// Where the operator's API credentials come from, and the API clients made
// from them. Everything else takes a KubeClients (or a Pick of it) so tests
// can hand in fakes.

import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig } from '@kubernetes/client-node';

import { shareKeepAliveAgents } from './keep-alive.js';

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
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  events: EventsV1Api;
  customObjects: CustomObjectsApi;
  apiextensions: ApiextensionsV1Api;
}

export function makeKubeClients(kc: KubeConfig): KubeClients {
  shareKeepAliveAgents(kc);
  return {
    kubeConfig: kc,
    core: kc.makeApiClient(CoreV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    events: kc.makeApiClient(EventsV1Api),
    customObjects: kc.makeApiClient(CustomObjectsApi),
    apiextensions: kc.makeApiClient(ApiextensionsV1Api),
  };
}
