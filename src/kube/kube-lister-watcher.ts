// The ListerWatcher used in production: raw LIST and WATCH requests against
// the API server, authenticated from a KubeConfig. Raw node:http(s) rather
// than client-node's Watch because the informer needs the HTTP status of a
// failed watch (410), a body it can stream line by line with backpressure,
// and a prompt abort from its stall watchdog.

import * as http from 'node:http';
import * as https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeRequestError } from './errors.js';
import type { KubeObject, ListerWatcher, ListPage, ListRequest, WatchErrorStatus, WatchEvent, WatchRequest } from './lister-watcher.js';

export interface ResourceLocation {
  /** API group; '' or absent for the core group. */
  group?: string;
  version: string;
  plural: string;
  /** Absent: all namespaces (or a cluster-scoped resource). */
  namespace?: string;
}

/** The collection path, e.g. `/api/v1/namespaces/ns/secrets` or `/apis/certkeeper.dev/v1alpha1/certificates`. */
export function resourcePath(loc: ResourceLocation): string {
  const base = loc.group === undefined || loc.group === '' ? `/api/${loc.version}` : `/apis/${loc.group}/${loc.version}`;
  const ns = loc.namespace === undefined ? '' : `/namespaces/${encodeURIComponent(loc.namespace)}`;
  return `${base}${ns}/${loc.plural}`;
}

type Query = Record<string, string | number | boolean | undefined>;

interface OpenResponse {
  req: http.ClientRequest;
  res: http.IncomingMessage;
}

async function open(kc: KubeConfig, apiPath: string, query: Query, signal: AbortSignal): Promise<OpenResponse> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`GET ${apiPath}: kubeconfig has no current cluster`);
  const url = new URL(cluster.server.replace(/\/+$/, '') + apiPath);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  // Adds the CA, client certificate or bearer token, and an agent configured for them.
  await kc.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise<OpenResponse>((resolve, reject) => {
    const req = transport.request(url, { ...options, signal }, (res) => resolve({ req, res }));
    req.on('error', (err) => reject(new Error(`GET ${apiPath}: ${err.message}`, { cause: err })));
    req.end();
  });
}

/**
 * The body as text, decoded chunk by chunk as it arrives: each socket chunk
 * is released at once, where collecting them for one Buffer.concat held a
 * LIST page's bytes twice outside the V8 heap (a page of 500 TLS Secrets is
 * ~1.5 MB) — malloc'd memory the allocator then keeps. A multi-byte
 * character split across chunks is joined by the decoder.
 */
async function readBody(res: http.IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += String(chunk);
  return text;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function stringField(obj: Record<string, unknown> | undefined, field: string): string | undefined {
  const v = obj?.[field];
  return typeof v === 'string' ? v : undefined;
}

/** Turns a non-200 response into an error carrying the Status reason and message. */
async function statusError(apiPath: string, res: http.IncomingMessage): Promise<KubeRequestError> {
  const status = res.statusCode ?? 0;
  let reason: string | undefined;
  let message = res.statusMessage ?? '';
  try {
    const body = asRecord(JSON.parse(await readBody(res)));
    reason = stringField(body, 'reason');
    message = stringField(body, 'message') ?? message;
  } catch {
    // not a Status body: keep the HTTP status line
  }
  return new KubeRequestError(`GET ${apiPath}: ${status}${reason === undefined ? '' : ` ${reason}`}: ${message}`, status, reason);
}

function parseWatchLine<T extends KubeObject>(apiPath: string, line: string): WatchEvent<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new Error(`WATCH ${apiPath}: malformed event line`, { cause: err });
  }
  const event = asRecord(parsed);
  const type = stringField(event, 'type');
  const object = asRecord(event?.object);
  if (object === undefined) throw new Error(`WATCH ${apiPath}: event ${type ?? '?'} without an object`);
  switch (type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { type, object: object as T };
    case 'BOOKMARK':
      return { type, resourceVersion: stringField(asRecord(object.metadata), 'resourceVersion') ?? '' };
    case 'ERROR': {
      const code = object.code;
      const status: WatchErrorStatus = {
        ...(typeof code === 'number' ? { code } : {}),
        ...(stringField(object, 'reason') !== undefined ? { reason: stringField(object, 'reason') } : {}),
        ...(stringField(object, 'message') !== undefined ? { message: stringField(object, 'message') } : {}),
      };
      return { type, status };
    }
    default:
      throw new Error(`WATCH ${apiPath}: unknown event type ${type ?? '(none)'}`);
  }
}

async function listPage<T extends KubeObject>(kc: KubeConfig, apiPath: string, request: ListRequest, signal: AbortSignal): Promise<ListPage<T>> {
  const { res } = await open(
    kc,
    apiPath,
    { limit: request.limit, continue: request.continue, labelSelector: request.labelSelector, fieldSelector: request.fieldSelector },
    signal,
  );
  if (res.statusCode !== 200) throw await statusError(apiPath, res);
  const body = asRecord(JSON.parse(await readBody(res)));
  const items = body?.items;
  const metadata = asRecord(body?.metadata);
  const resourceVersion = stringField(metadata, 'resourceVersion');
  if (!Array.isArray(items) || resourceVersion === undefined) {
    throw new Error(`LIST ${apiPath}: response is not a list (no items or resourceVersion)`);
  }
  const next = stringField(metadata, 'continue');
  return { items: items as T[], resourceVersion, ...(next !== undefined && next !== '' ? { continue: next } : {}) };
}

async function* watchStream<T extends KubeObject>(
  kc: KubeConfig,
  apiPath: string,
  request: WatchRequest,
  signal: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  const { req, res } = await open(
    kc,
    apiPath,
    {
      watch: true,
      resourceVersion: request.resourceVersion,
      timeoutSeconds: request.timeoutSeconds,
      allowWatchBookmarks: request.allowWatchBookmarks,
      labelSelector: request.labelSelector,
      fieldSelector: request.fieldSelector,
    },
    signal,
  );
  let streamError: Error | undefined;
  const keepError = (err: Error): void => {
    streamError ??= err;
  };
  res.on('error', keepError);
  // readline forwards the response's errors to the Interface; a consumer that
  // stops early detaches the iterator's listener, so the 'aborted' our own
  // req.destroy() causes would otherwise surface as an uncaught exception.
  const lines = createInterface({ input: res, crlfDelay: Infinity });
  lines.on('error', keepError);
  try {
    if (res.statusCode !== 200) throw await statusError(apiPath, res);
    for await (const line of lines) {
      if (line.trim() === '') continue;
      yield parseWatchLine<T>(apiPath, line);
    }
    if (signal.aborted) return;
    if (streamError !== undefined) throw new Error(`WATCH ${apiPath}: ${streamError.message}`, { cause: streamError });
    if (!res.complete) throw new Error(`WATCH ${apiPath}: connection closed before the response ended`);
  } finally {
    lines.close();
    req.destroy();
  }
}

/** A ListerWatcher for one collection path (see resourcePath) on the cluster of `kc`. */
export function kubeListerWatcher<T extends KubeObject>(kc: KubeConfig, apiPath: string): ListerWatcher<T> {
  return {
    list: (request, signal) => listPage<T>(kc, apiPath, request, signal),
    watch: (request, signal) => watchStream<T>(kc, apiPath, request, signal),
  };
}
