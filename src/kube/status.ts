// Writes the status subresource of a custom resource with a JSON merge patch:
// only the fields given change, so two writers of different status fields do
// not clobber each other. Note that a merge patch replaces arrays whole
// (send the full `conditions` list) and that `null` deletes a field.

import type { CustomObjectsApi } from '@kubernetes/client-node';
import { type Condition, conditionsEqual } from './conditions.js';
import { apiErrorMessage, isNotFound, statusCodeOf } from './errors.js';
import type { MergePatches } from './raw-apis.js';

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

export type StatusClients = { customObjects: Pick<CustomObjectsApi, 'patchNamespacedCustomObjectStatus' | 'patchClusterCustomObjectStatus'> & MergePatches };

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
  const { group, version, plural, name } = ref;
  try {
    const object: unknown =
      ref.namespace === undefined
        ? await clients.customObjects.patchClusterCustomObjectStatus({ group, version, plural, name, body })
        : await clients.customObjects.patchNamespacedCustomObjectStatus({ group, version, plural, namespace: ref.namespace, name, body });
    return { outcome: 'patched', object };
  } catch (err) {
    if (isNotFound(err)) return { outcome: 'notFound' };
    const what = `${ref.kind ?? plural}.${group} ${ref.namespace === undefined ? name : `${ref.namespace}/${name}`}`;
    const code = statusCodeOf(err);
    throw new StatusPatchError(`patching status of ${what}: ${code ?? 'request failed'}: ${apiErrorMessage(err)}`, code, { cause: err });
  }
}

/** A status as the API holds it: any fields; `conditions`, if present, are compared the Kubernetes way. */
export type StatusFields = object;

const conditionsOf = (s: StatusFields | undefined): Condition[] => ((s as { conditions?: Condition[] } | undefined)?.conditions ?? []);

/** True when patching `next` would change what the API server holds. */
export function statusChanged(prev: StatusFields | undefined, next: StatusFields): boolean {
  const before: Record<string, unknown> = { ...prev };
  const after: Record<string, unknown> = { ...next };
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === 'conditions') continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) return true;
  }
  return !conditionsEqual(conditionsOf(prev), conditionsOf(next));
}

/**
 * A JSON merge patch of only what changed, clearing fields `next` dropped
 * (merge patches delete with null). Only what changed: a status computed from
 * a cache a step behind must not write back stale copies of fields another
 * part of the controller owns.
 */
export function statusMergePatch(prev: StatusFields | undefined, next: StatusFields): Record<string, unknown> {
  const before: Record<string, unknown> = { ...prev };
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(next)) {
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(before[key])) patch[key] = value;
  }
  for (const key of Object.keys(before)) if (before[key] !== undefined && (next as Record<string, unknown>)[key] === undefined) patch[key] = null;
  return patch;
}

/** `change` written over `prev`: fields set to undefined in `change` are removed. */
export function withChange<S extends object>(prev: S, change: Partial<S>): S {
  const next: S = { ...prev, ...change };
  for (const [k, v] of Object.entries(change)) if (v === undefined) delete (next as Record<string, unknown>)[k];
  return next;
}
