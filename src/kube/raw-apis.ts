import type {
  AppsV1Api,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  NetworkingV1Api,
} from '@kubernetes/client-node';
import { rawJson, type RawRequest } from './raw-json.js';

// The Kubernetes API calls certkeeper makes, each a plain JSON request through
// the KubeConfig's own agent and credentials (raw-json.ts), in place of
// client-node's generated API classes. Those classes, their request factories,
// response processors and model serializer were ~2 MB of the operator's bundle
// and, loaded, ~8 MB of its V8 heap (the module's source text, compiled code,
// and a type map of every model): the largest share of its memory that did not
// depend on the work. client-node still loads the kubeconfig and authenticates
// (KubeConfig, applyToHTTPSOptions).
//
// Each client implements only the methods certkeeper calls, with the generated
// method's signature (a request object; the answer's type), so callers and
// test fakes do not change. What differs from the generated layer:
// - answers are the API server's JSON as it is: timestamps stay strings where
//   the generated types say Date (the readers that compare times parse
//   either: leaseTimeMs in leader.ts, parseTime in the CLI's describe);
// - every patch is a JSON merge patch, the only strategy certkeeper sends: the
//   generated methods' second argument (which chose the content type) is
//   ignored;
// - errors are KubeApiError, shaped like the generated layer's ApiException.

export type CoreApi = Pick<
  CoreV1Api,
  | 'readNamespacedSecret'
  | 'createNamespacedSecret'
  | 'replaceNamespacedSecret'
  | 'deleteNamespacedSecret'
  | 'listNamespacedSecret'
  | 'listSecretForAllNamespaces'
  | 'createNamespacedConfigMap'
  | 'replaceNamespacedConfigMap'
  | 'deleteNamespacedConfigMap'
  | 'createNamespacedService'
  | 'deleteNamespacedService'
  | 'readNamespacedPod'
  | 'readNamespace'
  | 'listNamespace'
>;
export type CoordinationApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease' | 'deleteNamespacedLease' | 'listNamespacedLease'>;
export const MERGE_PATCH = 'application/merge-patch+json';

/**
 * Carried by every client here that patches. The generated classes send a
 * patch as JSON Patch unless told otherwise, and the API server refuses a merge
 * body sent so (400 "cannot unmarshal object into []jsonPatchOp"); the types
 * alone cannot tell the two apart, since these clients keep the generated
 * signatures. A function that patches asks for this mark, so being handed a
 * generated class fails to compile instead of failing at the first patch.
 */
export interface MergePatches {
  readonly patchContentType: typeof MERGE_PATCH;
}

export type EventsApi = Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent' | 'listNamespacedEvent'> & MergePatches;
export type CustomObjectsClient = Pick<
  CustomObjectsApi,
  | 'getNamespacedCustomObject'
  | 'getClusterCustomObject'
  | 'listNamespacedCustomObject'
  | 'listClusterCustomObject'
  | 'createNamespacedCustomObject'
  | 'deleteNamespacedCustomObject'
  | 'patchNamespacedCustomObject'
  | 'patchClusterCustomObject'
  | 'patchNamespacedCustomObjectStatus'
  | 'patchClusterCustomObjectStatus'
> &
  MergePatches;
export type NetworkingApi = Pick<NetworkingV1Api, 'createNamespacedIngress' | 'deleteNamespacedIngress'>;
export type AppsApi = Pick<AppsV1Api, 'patchNamespacedDeployment' | 'patchNamespacedStatefulSet' | 'patchNamespacedDaemonSet' | 'readNamespacedReplicaSet'> & MergePatches;
export type AuthenticationApi = Pick<AuthenticationV1Api, 'createTokenReview'>;
export type AuthorizationApi = Pick<AuthorizationV1Api, 'createSubjectAccessReview'>;

const segment = (text: string): string => encodeURIComponent(text);
const core = (namespace: string, plural: string, name?: string): string =>
  `/api/v1/namespaces/${segment(namespace)}/${plural}${name === undefined ? '' : `/${segment(name)}`}`;
const grouped = (groupVersion: string, namespace: string | undefined, plural: string, name?: string): string =>
  `/apis/${groupVersion}${namespace === undefined ? '' : `/namespaces/${segment(namespace)}`}/${plural}${name === undefined ? '' : `/${segment(name)}`}`;

/** The list parameters certkeeper passes, as the API server spells them. */
function listQuery(p: { labelSelector?: string | undefined; fieldSelector?: string | undefined; limit?: number | undefined; _continue?: string | undefined }): RawRequest['query'] {
  return { labelSelector: p.labelSelector, fieldSelector: p.fieldSelector, limit: p.limit, continue: p._continue };
}

type Method<T, K extends keyof T> = T[K] extends (...args: infer A) => infer R ? (...args: A) => R : never;

/** One raw request, answered as the generated method `K` of `T` would type it. */
function call<T, K extends keyof T>(kc: KubeConfig, request: (p: Parameters<Method<T, K>>[0]) => RawRequest): Method<T, K> {
  const send = async (p: Parameters<Method<T, K>>[0]): Promise<unknown> => rawJson(kc, request(p));
  return send as unknown as Method<T, K>;
}

export function rawCoreApi(kc: KubeConfig): CoreApi {
  const c = <K extends keyof CoreApi>(request: (p: Parameters<Method<CoreApi, K>>[0]) => RawRequest) => call<CoreApi, K>(kc, request);
  return {
    readNamespacedSecret: c<'readNamespacedSecret'>((p) => ({ method: 'GET', path: core(p.namespace, 'secrets', p.name) })),
    createNamespacedSecret: c<'createNamespacedSecret'>((p) => ({ method: 'POST', path: core(p.namespace, 'secrets'), body: p.body })),
    replaceNamespacedSecret: c<'replaceNamespacedSecret'>((p) => ({ method: 'PUT', path: core(p.namespace, 'secrets', p.name), body: p.body })),
    deleteNamespacedSecret: c<'deleteNamespacedSecret'>((p) => ({ method: 'DELETE', path: core(p.namespace, 'secrets', p.name) })),
    listNamespacedSecret: c<'listNamespacedSecret'>((p) => ({ method: 'GET', path: core(p.namespace, 'secrets'), query: listQuery(p) })),
    listSecretForAllNamespaces: c<'listSecretForAllNamespaces'>((p) => ({ method: 'GET', path: '/api/v1/secrets', query: listQuery(p ?? {}) })),
    createNamespacedConfigMap: c<'createNamespacedConfigMap'>((p) => ({ method: 'POST', path: core(p.namespace, 'configmaps'), body: p.body })),
    replaceNamespacedConfigMap: c<'replaceNamespacedConfigMap'>((p) => ({ method: 'PUT', path: core(p.namespace, 'configmaps', p.name), body: p.body })),
    deleteNamespacedConfigMap: c<'deleteNamespacedConfigMap'>((p) => ({ method: 'DELETE', path: core(p.namespace, 'configmaps', p.name) })),
    createNamespacedService: c<'createNamespacedService'>((p) => ({ method: 'POST', path: core(p.namespace, 'services'), body: p.body })),
    deleteNamespacedService: c<'deleteNamespacedService'>((p) => ({ method: 'DELETE', path: core(p.namespace, 'services', p.name) })),
    readNamespacedPod: c<'readNamespacedPod'>((p) => ({ method: 'GET', path: core(p.namespace, 'pods', p.name) })),
    readNamespace: c<'readNamespace'>((p) => ({ method: 'GET', path: `/api/v1/namespaces/${segment(p.name)}` })),
    listNamespace: c<'listNamespace'>((p) => ({ method: 'GET', path: '/api/v1/namespaces', query: listQuery(p ?? {}) })),
  };
}

export function rawCoordinationApi(kc: KubeConfig): CoordinationApi {
  const c = <K extends keyof CoordinationApi>(request: (p: Parameters<Method<CoordinationApi, K>>[0]) => RawRequest) => call<CoordinationApi, K>(kc, request);
  const leases = (namespace: string, name?: string) => grouped('coordination.k8s.io/v1', namespace, 'leases', name);
  return {
    readNamespacedLease: c<'readNamespacedLease'>((p) => ({ method: 'GET', path: leases(p.namespace, p.name) })),
    createNamespacedLease: c<'createNamespacedLease'>((p) => ({ method: 'POST', path: leases(p.namespace), body: p.body })),
    replaceNamespacedLease: c<'replaceNamespacedLease'>((p) => ({ method: 'PUT', path: leases(p.namespace, p.name), body: p.body })),
    deleteNamespacedLease: c<'deleteNamespacedLease'>((p) => ({ method: 'DELETE', path: leases(p.namespace, p.name) })),
    listNamespacedLease: c<'listNamespacedLease'>((p) => ({ method: 'GET', path: leases(p.namespace), query: listQuery(p) })),
  };
}

export function rawEventsApi(kc: KubeConfig): EventsApi {
  const c = <K extends keyof EventsApi>(request: (p: Parameters<Method<EventsApi, K>>[0]) => RawRequest) => call<EventsApi, K>(kc, request);
  const events = (namespace: string, name?: string) => grouped('events.k8s.io/v1', namespace, 'events', name);
  return {
    patchContentType: MERGE_PATCH,
    createNamespacedEvent: c<'createNamespacedEvent'>((p) => ({ method: 'POST', path: events(p.namespace), body: p.body })),
    patchNamespacedEvent: c<'patchNamespacedEvent'>((p) => ({ method: 'PATCH', path: events(p.namespace, p.name), body: p.body, contentType: MERGE_PATCH })),
    listNamespacedEvent: c<'listNamespacedEvent'>((p) => ({ method: 'GET', path: events(p.namespace), query: listQuery(p) })),
  };
}

export function rawCustomObjectsApi(kc: KubeConfig): CustomObjectsClient {
  const c = <K extends keyof CustomObjectsClient>(request: (p: Parameters<Method<CustomObjectsClient, K>>[0]) => RawRequest) =>
    call<CustomObjectsClient, K>(kc, request);
  const objects = (p: { group: string; version: string; plural: string }, namespace?: string, name?: string) => grouped(`${p.group}/${p.version}`, namespace, p.plural, name);
  return {
    patchContentType: MERGE_PATCH,
    getNamespacedCustomObject: c<'getNamespacedCustomObject'>((p) => ({ method: 'GET', path: objects(p, p.namespace, p.name) })),
    getClusterCustomObject: c<'getClusterCustomObject'>((p) => ({ method: 'GET', path: objects(p, undefined, p.name) })),
    listNamespacedCustomObject: c<'listNamespacedCustomObject'>((p) => ({ method: 'GET', path: objects(p, p.namespace), query: listQuery(p) })),
    listClusterCustomObject: c<'listClusterCustomObject'>((p) => ({ method: 'GET', path: objects(p), query: listQuery(p) })),
    createNamespacedCustomObject: c<'createNamespacedCustomObject'>((p) => ({ method: 'POST', path: objects(p, p.namespace), body: p.body })),
    deleteNamespacedCustomObject: c<'deleteNamespacedCustomObject'>((p) => ({ method: 'DELETE', path: objects(p, p.namespace, p.name) })),
    patchNamespacedCustomObject: c<'patchNamespacedCustomObject'>((p) => ({ method: 'PATCH', path: objects(p, p.namespace, p.name), body: p.body, contentType: MERGE_PATCH })),
    patchClusterCustomObject: c<'patchClusterCustomObject'>((p) => ({ method: 'PATCH', path: objects(p, undefined, p.name), body: p.body, contentType: MERGE_PATCH })),
    patchNamespacedCustomObjectStatus: c<'patchNamespacedCustomObjectStatus'>((p) => ({
      method: 'PATCH',
      path: `${objects(p, p.namespace, p.name)}/status`,
      body: p.body,
      contentType: MERGE_PATCH,
    })),
    patchClusterCustomObjectStatus: c<'patchClusterCustomObjectStatus'>((p) => ({ method: 'PATCH', path: `${objects(p, undefined, p.name)}/status`, body: p.body, contentType: MERGE_PATCH })),
  };
}

export function rawNetworkingApi(kc: KubeConfig): NetworkingApi {
  const c = <K extends keyof NetworkingApi>(request: (p: Parameters<Method<NetworkingApi, K>>[0]) => RawRequest) => call<NetworkingApi, K>(kc, request);
  const ingresses = (namespace: string, name?: string) => grouped('networking.k8s.io/v1', namespace, 'ingresses', name);
  return {
    createNamespacedIngress: c<'createNamespacedIngress'>((p) => ({ method: 'POST', path: ingresses(p.namespace), body: p.body })),
    deleteNamespacedIngress: c<'deleteNamespacedIngress'>((p) => ({ method: 'DELETE', path: ingresses(p.namespace, p.name) })),
  };
}

export function rawAppsApi(kc: KubeConfig): AppsApi {
  const c = <K extends keyof AppsApi>(request: (p: Parameters<Method<AppsApi, K>>[0]) => RawRequest) => call<AppsApi, K>(kc, request);
  const apps = (plural: string, namespace: string, name: string) => grouped('apps/v1', namespace, plural, name);
  return {
    patchContentType: MERGE_PATCH,
    patchNamespacedDeployment: c<'patchNamespacedDeployment'>((p) => ({ method: 'PATCH', path: apps('deployments', p.namespace, p.name), body: p.body, contentType: MERGE_PATCH })),
    patchNamespacedStatefulSet: c<'patchNamespacedStatefulSet'>((p) => ({ method: 'PATCH', path: apps('statefulsets', p.namespace, p.name), body: p.body, contentType: MERGE_PATCH })),
    patchNamespacedDaemonSet: c<'patchNamespacedDaemonSet'>((p) => ({ method: 'PATCH', path: apps('daemonsets', p.namespace, p.name), body: p.body, contentType: MERGE_PATCH })),
    readNamespacedReplicaSet: c<'readNamespacedReplicaSet'>((p) => ({ method: 'GET', path: apps('replicasets', p.namespace, p.name) })),
  };
}

export function rawAuthenticationApi(kc: KubeConfig): AuthenticationApi {
  return {
    createTokenReview: call<AuthenticationApi, 'createTokenReview'>(kc, (p) => ({ method: 'POST', path: '/apis/authentication.k8s.io/v1/tokenreviews', body: p.body })),
  };
}

export function rawAuthorizationApi(kc: KubeConfig): AuthorizationApi {
  return {
    createSubjectAccessReview: call<AuthorizationApi, 'createSubjectAccessReview'>(kc, (p) => ({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: p.body,
    })),
  };
}

/** One page of a list: the JSON the API server answers, read as `T` items. */
export interface RawPage<T> {
  items: T[];
  metadata?: { continue?: string };
}

/**
 * A page of any list (`path` as the API server names it, e.g.
 * /apis/apiregistration.k8s.io/v1/apiservices), for the readers that take
 * every kind of object the inventory looks at.
 */
export function rawListPage<T>(
  kc: KubeConfig,
  path: string,
  p: { labelSelector?: string | undefined; fieldSelector?: string | undefined; limit?: number; _continue?: string | undefined },
): Promise<RawPage<T>> {
  return rawJson(kc, { method: 'GET', path, query: listQuery(p) }) as Promise<RawPage<T>>;
}
