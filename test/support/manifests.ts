/**
 * YAML manifests against the shared kube-apiserver without kubectl: parse
 * them, find each kind's resource by discovery, and server-side apply them
 * (for real, or as a dry run that the API server validates and admits but
 * does not store). Raw requests, so no field is lost to a client model.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { jsonObject, kubeRequest, statusMessage } from './kube-request.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Every non-empty document of a multi-document YAML text. */
export function parseManifests(text: string, where = 'manifest'): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const m = value as Partial<Manifest>;
    if (typeof m.apiVersion !== 'string' || typeof m.kind !== 'string' || typeof m.metadata?.name !== 'string') {
      throw new Error(`${where}: a document without apiVersion, kind or metadata.name`);
    }
    out.push(m as Manifest);
  }
  return out;
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

const discovery = new Map<string, Map<string, ResourceInfo>>();

async function resourceOf(kc: KubeConfig, apiVersion: string, kind: string): Promise<ResourceInfo> {
  let kinds = discovery.get(apiVersion);
  if (kinds === undefined) {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const response = await kubeRequest(kc, path);
    if (response.status !== 200) throw new Error(`discovery of ${apiVersion}: HTTP ${response.status}: ${statusMessage(response)}`);
    const list = jsonObject(response).resources as { name: string; kind: string; namespaced: boolean }[];
    kinds = new Map(list.filter((r) => !r.name.includes('/')).map((r) => [r.kind, { plural: r.name, namespaced: r.namespaced }]));
    discovery.set(apiVersion, kinds);
  }
  const info = kinds.get(kind);
  if (info === undefined) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
  return info;
}

/** The API path of one object; `namespace` applies to namespaced kinds that name none. */
export async function objectPath(kc: KubeConfig, m: Manifest, namespace?: string): Promise<string> {
  const { plural, namespaced } = await resourceOf(kc, m.apiVersion, m.kind);
  const base = m.apiVersion.includes('/') ? `/apis/${m.apiVersion}` : `/api/${m.apiVersion}`;
  const ns = m.metadata.namespace ?? namespace;
  if (namespaced && ns === undefined) throw new Error(`${m.kind} ${m.metadata.name} is namespaced but names no namespace`);
  return `${base}${namespaced ? `/namespaces/${ns}` : ''}/${plural}/${encodeURIComponent(m.metadata.name)}`;
}

export interface ApplyResult {
  object: string;
  status: number;
  message: string;
}

/**
 * Server-side apply of one object, `dryRun` by default. Resolves with the
 * HTTP status and, on refusal, the API server's message.
 */
export async function serverApply(kc: KubeConfig, m: Manifest, options: { namespace?: string; dryRun?: boolean } = {}): Promise<ApplyResult> {
  const path = await objectPath(kc, m, options.namespace);
  const body = options.namespace !== undefined && m.metadata.namespace === undefined && path.includes('/namespaces/') ? { ...m, metadata: { ...m.metadata, namespace: options.namespace } } : m;
  const query = `?fieldManager=certkeeper-tests&force=true${options.dryRun === false ? '' : '&dryRun=All'}`;
  const response = await kubeRequest(kc, `${path}${query}`, {
    method: 'PATCH',
    body,
    headers: { 'Content-Type': 'application/apply-patch+yaml' },
  });
  const ns = /\/namespaces\/([^/]+)\//.exec(path)?.[1];
  return {
    object: `${m.kind} ${ns === undefined ? '' : `${ns}/`}${m.metadata.name}`,
    status: response.status,
    message: response.status < 300 ? '' : statusMessage(response),
  };
}

/** GET of one object: the HTTP status (200 when it exists). */
export async function objectStatus(kc: KubeConfig, m: Manifest, namespace?: string): Promise<number> {
  return (await kubeRequest(kc, await objectPath(kc, m, namespace))).status;
}
