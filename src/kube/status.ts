// Writes the status subresource of a custom resource with a JSON merge patch:
// only the fields given change, so two writers of different status fields do
// not clobber each other. Note that a merge patch replaces arrays whole
// (send the full `conditions` list) and that `null` deletes a field.

import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';
import { apiErrorMessage, isNotFound, statusCodeOf } from './errors.js';

export interface CustomResourceRef {
  group: string;
  version: string;
  plural: string;
  /** Absent for cluster-scoped resources. */
  namespace?: string;
  name: string;
  /** For error messages, e.g. "Certificate"; defaults to the plural. */
  kind?: string;
}

export type PatchStatusResult =
  | { outcome: 'patched'; object: unknown }
  /** The object is gone: nothing left to report status on. */
  | { outcome: 'notFound' };

export type StatusClients = { customObjects: Pick<KubeClients['customObjects'], 'patchNamespacedCustomObjectStatus' | 'patchClusterCustomObjectStatus'> };

export class StatusPatchError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StatusPatchError';
  }
}

export async function patchStatus(clients: StatusClients, ref: CustomResourceRef, status: Record<string, unknown>): Promise<PatchStatusResult> {
  const body = { status };
  const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const { group, version, plural, name } = ref;
  try {
    const object: unknown =
      ref.namespace === undefined
        ? await clients.customObjects.patchClusterCustomObjectStatus({ group, version, plural, name, body }, options)
        : await clients.customObjects.patchNamespacedCustomObjectStatus({ group, version, plural, namespace: ref.namespace, name, body }, options);
    return { outcome: 'patched', object };
  } catch (err) {
    if (isNotFound(err)) return { outcome: 'notFound' };
    const what = `${ref.kind ?? plural}.${group} ${ref.namespace === undefined ? name : `${ref.namespace}/${name}`}`;
    const code = statusCodeOf(err);
    throw new StatusPatchError(`patching status of ${what}: ${code ?? 'request failed'}: ${apiErrorMessage(err)}`, code, { cause: err });
  }
}
