// The two calls an informer makes against the API server, as an interface so
// the informer can be driven by a fake in unit tests and by real HTTP in the
// operator (see kube-lister-watcher.ts).

/** The part of any Kubernetes object the informer needs: identity and version. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    [field: string]: unknown;
  };
}

export interface Selectors {
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ListRequest extends Selectors {
  /** Page size. */
  limit: number;
  /** Continue token from the previous page; absent for the first page. */
  continue?: string;
}

export interface ListPage<T> {
  items: T[];
  /** The collection's resourceVersion: where a watch resumes after this list. */
  resourceVersion: string;
  /** Present when more pages follow. */
  continue?: string;
}

export interface WatchRequest extends Selectors {
  resourceVersion: string;
  /** The server closes the watch after this many seconds. */
  timeoutSeconds: number;
  allowWatchBookmarks: boolean;
}

/** The `Status` object of a watch ERROR event. */
export interface WatchErrorStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; resourceVersion: string }
  | { type: 'ERROR'; status: WatchErrorStatus };

export interface ListerWatcher<T extends KubeObject> {
  /** One page of a LIST. Rejects with a status-coded error (see errors.ts), e.g. 410 for an expired continue token. */
  list(request: ListRequest, signal: AbortSignal): Promise<ListPage<T>>;
  /**
   * A WATCH stream. Ends when the server closes it; throws on transport errors
   * or an HTTP error status (410 when the resourceVersion is too old); ends or
   * throws promptly once `signal` is aborted.
   */
  watch(request: WatchRequest, signal: AbortSignal): AsyncIterable<WatchEvent<T>>;
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones (client-go's convention). */
export function objectKey(obj: KubeObject): string | undefined {
  const name = obj.metadata?.name;
  if (name === undefined || name === '') return undefined;
  const ns = obj.metadata?.namespace;
  return ns === undefined || ns === '' ? name : `${ns}/${name}`;
}

/** Splits a key made by objectKey back into its parts. */
export function splitKey(key: string): { namespace?: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
