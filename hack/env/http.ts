import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface TlsMaterial {
  /** PEM of the CA that must have signed the server's certificate. */
  ca?: string;
  /** PEM client certificate and key, for mutual TLS. */
  cert?: string;
  key?: string;
}

export interface HttpResponse {
  status: number;
  body: string;
}

export interface RequestOptions {
  tls?: TlsMaterial;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * One HTTP(S) request with explicit trust (never the system store, never
 * verification switched off). Used to probe the environment's own servers.
 */
export function httpFetch(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const common = {
      method: options.method ?? 'GET',
      headers: { 'user-agent': 'certkeeper-dev-env', ...options.headers },
      timeout: timeoutMs,
    };
    const onResponse = (response: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    };
    const req =
      target.protocol === 'https:'
        ? httpsRequest(
            target,
            { ...common, ca: options.tls?.ca, cert: options.tls?.cert, key: options.tls?.key, agent: false },
            onResponse,
          )
        : httpRequest(target, { ...common, agent: false }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** GET that insists on a 2xx answer and parses it as JSON. */
export async function getJson(url: string, tls?: TlsMaterial): Promise<unknown> {
  const response = await httpFetch(url, { tls });
  if (response.status < 200 || response.status > 299) {
    throw new Error(`GET ${url}: HTTP ${response.status}: ${response.body.slice(0, 300)}`);
  }
  return JSON.parse(response.body) as unknown;
}
