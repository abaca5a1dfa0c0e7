import {
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { pollUntil } from './poll.js';
import { REPO_ROOT } from './tools.js';

const FIELD_MANAGER = 'certkeeper-dev-env';
const ESTABLISHED_TIMEOUT_MS = 30_000;

function isCrd(value: unknown): value is V1CustomResourceDefinition & { metadata: { name: string } } {
  const object = value as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } } | null;
  return (
    object?.kind === 'CustomResourceDefinition' &&
    object.apiVersion === 'apiextensions.k8s.io/v1' &&
    typeof object.metadata?.name === 'string'
  );
}

/** Every CustomResourceDefinition in the YAML files of `dir` (other documents are an error). */
export async function readCrds(dir: string): Promise<V1CustomResourceDefinition[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const crds: V1CustomResourceDefinition[] = [];
  for (const file of files) {
    const path = join(dir, file);
    for (const document of parseAllDocuments(await readFile(path, 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${path}: ${document.errors[0]?.message ?? 'invalid YAML'}`);
      const value: unknown = document.toJS();
      if (value === null || value === undefined) continue;
      if (!isCrd(value)) throw new Error(`${path}: expected only apiextensions.k8s.io/v1 CustomResourceDefinitions`);
      // The client serialises by model type and drops keys it does not know by
      // their wire names ("default", "x-kubernetes-validations", "enum"), so
      // read the YAML into the model first: the CEL rules and defaults survive.
      crds.push(loadYaml<V1CustomResourceDefinition>(document.toString()));
    }
  }
  return crds;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

/**
 * Server-side applies every CRD in `dir` (default: the repository's `crds/`)
 * and waits until each is Established. Returns the names applied; an empty
 * or missing folder applies nothing.
 */
export async function installCrds(kubeconfigPath: string, dir = join(REPO_ROOT, 'crds')): Promise<string[]> {
  const crds = await readCrds(resolve(dir));
  if (crds.length === 0) return [];
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const extensions = kc.makeApiClient(ApiextensionsV1Api);
  const names: string[] = [];
  for (const crd of crds) {
    await objects.patch(crd, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    names.push(crd.metadata?.name ?? '');
  }
  const pending = new Set(names);
  await pollUntil(
    async ({ observe }) => {
      for (const name of [...pending]) {
        if (isEstablished(await extensions.readCustomResourceDefinition({ name }))) pending.delete(name);
      }
      observe({ notEstablished: [...pending] });
      return pending.size === 0 ? true : undefined;
    },
    { description: `CRDs ${names.join(', ')} to be Established`, timeoutMs: ESTABLISHED_TIMEOUT_MS },
  );
  return names;
}
