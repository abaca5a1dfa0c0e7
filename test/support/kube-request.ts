/**
 * Raw HTTP requests to the shared kube-apiserver, authenticated from a
 * KubeConfig: for what the generated clients hide (HTTP status, Status
 * messages, Table output, discovery documents, subresources).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeResponse {
  status: number;
  /** Content-Type of the response. */
  contentType: string;
  text: string;
}

export interface KubeRequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Serialised as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One request to `apiPath` (e.g. `/apis/certkeeper.dev/v1alpha1`) on the kubeconfig's current cluster. */
export async function kubeRequest(kc: KubeConfig, apiPath: string, options: KubeRequestOptions = {}): Promise<KubeResponse> {
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`${apiPath}: kubeconfig has no current cluster`);
  const url = new URL(cluster.server.replace(/\/+$/, '') + apiPath);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const requestOptions: https.RequestOptions = {
    method: options.method ?? 'GET',
    headers: {
      Accept: 'application/json',
      ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...options.headers,
    },
  };
  await kc.applyToHTTPSOptions(requestOptions);
  const transport = url.protocol === 'http:' ? http : https;
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise<KubeResponse>((resolve, reject) => {
    const req = transport.request(url, requestOptions, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? '',
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${requestOptions.method ?? 'GET'} ${apiPath}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The response body parsed as a JSON object; throws (with the body) when it is not one. */
export function jsonObject(response: KubeResponse): Record<string, unknown> {
  const parsed: unknown = JSON.parse(response.text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`expected a JSON object, got: ${response.text.slice(0, 300)}`);
  }
  return parsed as Record<string, unknown>;
}

/** `message` of a `Status` body, or the raw text when the body is something else. */
export function statusMessage(response: KubeResponse): string {
  try {
    const message = jsonObject(response).message;
    return typeof message === 'string' ? message : response.text;
  } catch {
    return response.text;
  }
}
