import * as http from 'node:http';
import * as https from 'node:https';
import type { CoreV1Api, CustomObjectsApi, EventsV1Api, KubeConfig } from '@kubernetes/client-node';

// The API calls made once or more per issuance — the Secret's read, create
// and replace, the Certificate status merge patch, the Event — as plain JSON
// requests through the KubeConfig's own agent and credentials
// (applyToHTTPSOptions: the same TLS settings, tokens and shared keep-alive
// pool as every other call). Through client-node's generated layer the same
// request cost ~0.55 ms of CPU against ~0.16 ms raw (its middleware chain,
// node-fetch, and a model-driven serialise/deserialise of every body), which
// was a quarter of the operator's CPU per issuance. Errors look like
// client-node's ApiException (code, body, headers), so the error helpers,
// the back-pressure retry and the callers see no difference. Answers are the
// API server's JSON as it is: timestamps stay strings, which none of these
// callers read.

/** A non-2xx answer, shaped like client-node's ApiException. */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly body: unknown,
    readonly headers: Record<string, string>,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface RawRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  path: string;
  body?: unknown;
  /** Default application/json. */
  contentType?: string;
}

const MERGE_PATCH = 'application/merge-patch+json';

export async function rawJson(kc: KubeConfig, r: RawRequest): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`${r.method} ${r.path}: kubeconfig has no current cluster`);
  const url = new URL(cluster.server.replace(/\/+$/, '') + r.path);
  const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
  const headers: Record<string, string | number> = { Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = r.contentType ?? 'application/json';
    headers['Content-Length'] = payload.length;
  }
  const options: https.RequestOptions = { method: r.method, headers };
  await kc.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          // not JSON: keep the text for the error message
        }
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          resolve(body);
          return;
        }
        const responseHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') responseHeaders[name] = value;
        reject(new KubeApiError(`HTTP-Code: ${status}\nMessage: ${r.method} ${r.path}\nBody: ${text}`, status, body, responseHeaders));
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const ns = (namespace: string): string => `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
const named = (name: string): string => encodeURIComponent(name);

// The JSON the API server answers is the object the generated method would
// return, minus Date conversion of timestamps (see above).
type SecretCalls = Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret' | 'replaceNamespacedSecret'>;
type StatusCalls = Pick<CustomObjectsApi, 'patchNamespacedCustomObjectStatus' | 'patchClusterCustomObjectStatus'>;
type EventCalls = Pick<EventsV1Api, 'createNamespacedEvent' | 'patchNamespacedEvent'>;
type Answer<T extends (...args: never[]) => Promise<unknown>> = Awaited<ReturnType<T>>;

/** Replaces the Secret calls of `core` with raw requests; returns `core`. */
export function rawSecretCalls<T extends SecretCalls>(kc: KubeConfig, core: T): T {
  core.readNamespacedSecret = async ({ name, namespace }) =>
    (await rawJson(kc, { method: 'GET', path: `${ns(namespace)}/secrets/${named(name)}` })) as Answer<SecretCalls['readNamespacedSecret']>;
  core.createNamespacedSecret = async ({ namespace, body }) =>
    (await rawJson(kc, { method: 'POST', path: `${ns(namespace)}/secrets`, body })) as Answer<SecretCalls['createNamespacedSecret']>;
  core.replaceNamespacedSecret = async ({ name, namespace, body }) =>
    (await rawJson(kc, { method: 'PUT', path: `${ns(namespace)}/secrets/${named(name)}`, body })) as Answer<SecretCalls['replaceNamespacedSecret']>;
  return core;
}

/** Replaces the status patch calls of `customObjects` with raw merge patches (the only strategy certkeeper uses for status); returns it. */
export function rawStatusCalls<T extends StatusCalls>(kc: KubeConfig, customObjects: T): T {
  // The generated methods answer `any`; these answer the parsed JSON as unknown.
  customObjects.patchNamespacedCustomObjectStatus = ({ group, version, namespace, plural, name, body }) =>
    rawJson(kc, {
      method: 'PATCH',
      path: `/apis/${group}/${version}/namespaces/${encodeURIComponent(namespace)}/${plural}/${named(name)}/status`,
      body,
      contentType: MERGE_PATCH,
    });
  customObjects.patchClusterCustomObjectStatus = ({ group, version, plural, name, body }) =>
    rawJson(kc, { method: 'PATCH', path: `/apis/${group}/${version}/${plural}/${named(name)}/status`, body, contentType: MERGE_PATCH });
  return customObjects;
}

/** Replaces the Event calls of `events` with raw requests (patches are merge patches, as events.ts sends them); returns it. */
export function rawEventCalls<T extends EventCalls>(kc: KubeConfig, events: T): T {
  events.createNamespacedEvent = async ({ namespace, body }) =>
    (await rawJson(kc, { method: 'POST', path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`, body })) as Answer<EventCalls['createNamespacedEvent']>;
  events.patchNamespacedEvent = async ({ name, namespace, body }) =>
    (await rawJson(kc, {
      method: 'PATCH',
      path: `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events/${named(name)}`,
      body,
      contentType: MERGE_PATCH,
    })) as Answer<EventCalls['patchNamespacedEvent']>;
  return events;
}
