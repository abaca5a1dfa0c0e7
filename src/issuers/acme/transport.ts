import { AsyncLocalStorage } from 'node:async_hooks';
import { Agent } from 'node:https';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { AcmeAction } from './metrics.js';
import { isProblemDocument, type AcmeProblemDocument } from './problem.js';

// acme-client speaks HTTP through one shared axios instance. This module is
// the only place that touches it: it switches off acme-client's own
// sleep-and-retry (the controller retries with backoff that honours
// Retry-After, without holding a worker), bounds every request in time, sets
// the trust for the CA's HTTPS, and records every exchange: for the requests
// metric, and so a failure can be told apart by HTTP status, problem type
// and Retry-After (acme-client's errors carry only the problem's text).

/** One HTTP request to an ACME server and what came back. Never holds bodies other than problem documents. */
export interface AcmeExchange {
  method: string;
  url: string;
  /** What the request was for (a fixed list: the metric's label). */
  action: AcmeAction;
  durationMs: number;
  /** Absent when no response arrived (connection refused, TLS failure, timeout). */
  status?: number | undefined;
  retryAfter?: string | undefined;
  problem?: AcmeProblemDocument | undefined;
  /** The network error, when there was no response. */
  error?: string | undefined;
}

export type AcmeExchangeListener = (exchange: AcmeExchange) => void;

const REQUEST_TIMEOUT_MS = 30_000;
const recorder = new AsyncLocalStorage<{ action: AcmeAction; exchanges: AcmeExchange[] }>();
const listeners = new Set<AcmeExchangeListener>();
/** The CA trust asked for before acme-client was loaded: applied when it is. */
let trust: { extraCaPem: string | undefined } | undefined;
/** acme-client once loaded, with its settings installed. */
let ready: AcmeClientModule | undefined;

interface RequestConfig {
  method?: string;
  url?: string;
  ckStartedAt?: number;
  adapter?: unknown;
}

// RFC 8555 7.2: every answer carries a fresh Replay-Nonce. acme-client asks
// newNonce before each signed request instead; the nonces it does not use
// are kept here (per origin, newest first, a few dozen at most) and its HEAD
// newNonce is answered from them, halving the requests to the CA. A stale one
// costs one badNonce answer, which acme-client retries with that answer's nonce.
const NONCE_POOL_SIZE = 32;
const noncePools = new Map<string, string[]>();

function originOf(url: string | undefined): string | undefined {
  try {
    return url === undefined ? undefined : new URL(url).origin;
  } catch {
    return undefined;
  }
}

function keepNonce(url: string | undefined, nonce: string | undefined): void {
  const origin = originOf(url);
  if (origin === undefined || nonce === undefined || nonce === '') return;
  const pool = noncePools.get(origin) ?? [];
  pool.push(nonce);
  if (pool.length > NONCE_POOL_SIZE) pool.shift();
  noncePools.set(origin, pool);
}

function takeNonce(url: string | undefined): string | undefined {
  const origin = originOf(url);
  return origin === undefined ? undefined : noncePools.get(origin)?.pop();
}

interface AxiosLikeError {
  config?: RequestConfig;
  response?: { status?: number; headers?: Record<string, unknown>; data?: unknown; config?: RequestConfig };
  message?: string;
  code?: string;
}

function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  const value = headers?.[name];
  return typeof value === 'string' ? value : undefined;
}

function record(exchange: AcmeExchange): void {
  recorder.getStore()?.exchanges.push(exchange);
  for (const listener of listeners) {
    try {
      listener(exchange);
    } catch {
      // A metrics listener must never break a request.
    }
  }
}

export type AcmeClientModule = typeof import('acme-client');
type AxiosInstance = AcmeClientModule['axios'];

/**
 * acme-client, loaded on first use with this module's settings installed on
 * its HTTP instance. Everything that talks to an ACME server goes through it.
 */
export function acmeClientModule(): Promise<AcmeClientModule> {
  return loadAcmeClient();
}

// An operator without ACME policies never loads acme-client (axios, http2, mime-db).
const loadAcmeClient = loadOnce(async () => {
  const m = commonJsExports(await import('acme-client'));
  install(m.axios);
  // The trust set last, also while this load was under way.
  if (trust !== undefined) applyTrust(m.axios, trust.extraCaPem);
  ready = m;
  return m;
});

/**
 * `load` run once, its promise shared by every caller; a load that fails is
 * forgotten, so the next caller tries again instead of every later one
 * getting the same rejection.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/**
 * acme-client is CommonJS: imported dynamically, its exports are the
 * namespace's `default`. Node's own loader also lists them by name, but the
 * bundle's chunk (`npm run build`, what the image runs) exports `default` only.
 */
export function commonJsExports(namespace: AcmeClientModule): AcmeClientModule {
  const exports = (namespace as { default?: Partial<AcmeClientModule> }).default;
  return typeof exports?.Client === 'function' && exports.axios !== undefined ? (exports as AcmeClientModule) : namespace;
}

function install(acmeAxios: AxiosInstance): void {
  const settings = (acmeAxios.defaults as { acmeSettings?: { retryMaxAttempts: number } }).acmeSettings;
  if (settings !== undefined) settings.retryMaxAttempts = 0;
  acmeAxios.defaults.timeout = REQUEST_TIMEOUT_MS;
  acmeAxios.interceptors.request.use((config) => {
    const c = config as RequestConfig;
    c.ckStartedAt = performance.now();
    const nonce = c.method?.toLowerCase() === 'head' ? takeNonce(c.url) : undefined;
    if (nonce !== undefined) {
      // Answered here: no request goes out (and none is counted).
      c.adapter = () => Promise.resolve({ status: 200, statusText: 'OK', headers: { 'replay-nonce': nonce }, data: '', config, request: {} });
    }
    return config;
  });
  // acme-client makes every response an error first (validateStatus => false)
  // and turns it back into a response in its own handler; ours must run
  // before it, because on a network error acme-client's handler loses the
  // original error. So it is registered and then moved to the front.
  acmeAxios.interceptors.response.use(undefined, (thrown: unknown) => {
    const err = (thrown ?? {}) as AxiosLikeError;
    const config = err.response?.config ?? err.config;
    const response = err.response;
    const method = (config?.method ?? 'get').toUpperCase();
    // acme-client itself uses the nonce of a HEAD newNonce and of a badNonce answer.
    const problem = response?.data as { type?: unknown } | undefined;
    if (method !== 'HEAD' && problem?.type !== 'urn:ietf:params:acme:error:badNonce') keepNonce(config?.url, header(response?.headers, 'replay-nonce'));
    record({
      method,
      url: config?.url ?? '',
      action: method === 'HEAD' ? 'nonce' : (recorder.getStore()?.action ?? 'other'),
      durationMs: config?.ckStartedAt === undefined ? 0 : performance.now() - config.ckStartedAt,
      status: response?.status,
      retryAfter: header(response?.headers, 'retry-after'),
      problem: response !== undefined && (response.status ?? 0) >= 400 && isProblemDocument(response.data) ? response.data : undefined,
      error: response === undefined ? (err.message ?? err.code ?? 'request failed') : undefined,
    });
    return Promise.reject(thrown instanceof Error ? thrown : new Error(String(err.message ?? 'ACME request failed')));
  });
  const manager = acmeAxios.interceptors.response as unknown as { handlers?: unknown[] };
  if (Array.isArray(manager.handlers) && manager.handlers.length > 1) {
    const ours = manager.handlers.pop();
    manager.handlers.unshift(ours);
  }
}

/** Calls `listener` for every exchange with any ACME server; returns the unsubscribe. */
export function onAcmeExchange(listener: AcmeExchangeListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * Trust for the CA's HTTPS: the system roots plus `extraCaPem` (a private
 * CA, or Pebble's in tests). Applies to every ACME request of the process.
 * The trust is one TLS context built here, not a `ca` option: an agent keys
 * its connection pool by every TLS option, so a `ca` of ~150 roots made a
 * 200 KB pool key per request, and each new connection parsed them all again
 * (together about a tenth of the operator's CPU in a batch of issuances).
 */
export function setAcmeTrust(extraCaPem: string | undefined): void {
  trust = { extraCaPem };
  // Applied now if acme-client is loaded; a load under way applies it when done.
  if (ready !== undefined) applyTrust(ready.axios, extraCaPem);
}

function applyTrust(acmeAxios: AxiosInstance, extraCaPem: string | undefined): void {
  acmeAxios.defaults.httpsAgent = new Agent({
    keepAlive: true,
    ...(extraCaPem === undefined ? {} : { secureContext: createSecureContext({ ca: [...rootCertificates, extraCaPem] }) }),
  });
}

/** Runs `fn` and returns what it returned or threw, with every exchange it made. */
export async function recordExchanges<T>(
  action: AcmeAction,
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T; exchanges: AcmeExchange[] } | { ok: false; error: unknown; exchanges: AcmeExchange[] }> {
  await acmeClientModule();
  const exchanges: AcmeExchange[] = [];
  return recorder.run({ action, exchanges }, async () => {
    try {
      return { ok: true as const, value: await fn(), exchanges };
    } catch (error) {
      return { ok: false as const, error, exchanges };
    }
  });
}

/** A plain GET through the same instance (directory, renewalInfo): same trust, timeout and metrics. */
export async function acmeGet(url: string): Promise<{ status: number; data: unknown; headers: Record<string, string | undefined> }> {
  const { axios: acmeAxios } = await acmeClientModule();
  const response = await acmeAxios.get<unknown>(url, { validateStatus: null });
  const headers: Record<string, string | undefined> = {};
  for (const name of ['retry-after', 'content-type', 'link']) headers[name] = header(response.headers, name);
  return { status: response.status, data: response.data, headers };
}
