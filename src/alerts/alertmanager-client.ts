import * as http from 'node:http';
import * as https from 'node:https';
import type { Clock } from '../clock.js';
import type { PostableAlert } from './model.js';

// One Alertmanager, spoken to through its v2 API: POST /api/v2/alerts with a
// JSON array of postable alerts. node:http rather than fetch, because fetch
// cannot be given a CA to trust per request without an extra dependency.

export type AlertmanagerAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string };

export interface AlertmanagerTarget {
  /** Base URL, e.g. http://alertmanager:9093 or https://am.example/prefix; credentials in it are used as basic auth. */
  url: string;
  auth?: AlertmanagerAuth;
  /** PEM CA bundle to trust for https (in addition to nothing: only these CAs). */
  ca?: string | undefined;
  /** Per-request timeout. Default 10 s. */
  timeoutMs?: number;
}

export class AlertmanagerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AlertmanagerError';
  }
}

/** The URL without credentials, query or trailing slash: how it appears in logs and metric labels. */
export function displayUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

export class AlertmanagerClient {
  readonly name: string;
  private readonly endpoint: URL;
  private readonly authHeader: string | undefined;

  constructor(
    private readonly target: AlertmanagerTarget,
    private readonly clock: Clock,
  ) {
    const base = new URL(target.url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new AlertmanagerError(`Alertmanager URL ${displayUrl(target.url)}: only http and https are supported`);
    this.name = displayUrl(target.url);
    let auth = target.auth ?? { type: 'none' };
    if (auth.type === 'none' && base.username !== '') {
      auth = { type: 'basic', username: decodeURIComponent(base.username), password: decodeURIComponent(base.password) };
    }
    this.authHeader =
      auth.type === 'basic'
        ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`
        : auth.type === 'bearer'
          ? `Bearer ${auth.token}`
          : undefined;
    this.endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v2/alerts`, `${base.protocol}//${base.host}`);
  }

  /** Posts the alerts; resolves on 2xx, rejects with AlertmanagerError otherwise (status, body excerpt). */
  async post(alerts: readonly PostableAlert[], signal?: AbortSignal): Promise<void> {
    const body = Buffer.from(JSON.stringify(alerts));
    const timeout = new AbortController();
    const timeoutMs = this.target.timeoutMs ?? 10_000;
    const timer = this.clock.setTimeout(() => timeout.abort(new AlertmanagerError(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => timeout.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await this.request(body, timeout.signal);
    } catch (err) {
      if (err instanceof AlertmanagerError) throw err;
      const reason: unknown = timeout.signal.reason;
      const cause = timeout.signal.aborted && reason instanceof Error ? reason : err;
      throw new AlertmanagerError(`POST ${this.name}/api/v2/alerts: ${cause instanceof Error ? cause.message : String(cause)}`);
    } finally {
      this.clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private request(body: Buffer, signal: AbortSignal): Promise<void> {
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'Content-Length': body.length, 'User-Agent': 'certkeeper' };
    if (this.authHeader !== undefined) headers.Authorization = this.authHeader;
    const secure = this.endpoint.protocol === 'https:';
    const options: https.RequestOptions = { method: 'POST', headers, signal, ...(secure && this.target.ca !== undefined ? { ca: this.target.ca } : {}) };
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(this.endpoint, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          // Keep only the start of an error body.
          if (size < 2048) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve();
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 512).trim();
          reject(new AlertmanagerError(`POST ${this.name}/api/v2/alerts: HTTP ${status}${text === '' ? '' : `: ${text}`}`, status));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }
}
