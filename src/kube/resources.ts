// Typed clients for the resources the operator and the CLI read and write:
// Certificates, TLSPolicies and Secrets. Each knows its API group, version
// and plural, pages through lists, answers "not there" with undefined instead
// of an exception, and writes status only when it changes. Nothing outside
// kube/ spells out a {group, version, plural}.

import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { certificate as certificateSchema, type Certificate } from '../api/certificate.js';
import { GROUP, VERSION } from '../api/meta.js';
import { tlsPolicy as tlsPolicySchema, type TLSPolicy } from '../api/tlspolicy.js';
import { isNotFound } from './errors.js';
import type { KubeObject } from './lister-watcher.js';
import { patchStatus, statusChanged, statusMergePatch, type PatchStatusResult, type StatusFields } from './status.js';
import type { CustomObjectsClient } from './raw-apis.js';

/** The API coordinates of a resource kind. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const CERTIFICATES: ResourceType = { group: GROUP, version: VERSION, plural: 'certificates', kind: 'Certificate', namespaced: true };
export const TLS_POLICIES: ResourceType = { group: GROUP, version: VERSION, plural: 'tlspolicies', kind: 'TLSPolicy', namespaced: false };
export const NAMESPACES: ResourceType = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false };
export const SECRETS: ResourceType = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const SERVICES: ResourceType = { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true };
export const ENDPOINT_SLICES: ResourceType = { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true };
// Read-only inventory sources: where else certificates live, and who uses them.
export const CONFIG_MAPS: ResourceType = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
export const VALIDATING_WEBHOOKS: ResourceType = { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'validatingwebhookconfigurations', kind: 'ValidatingWebhookConfiguration', namespaced: false };
export const MUTATING_WEBHOOKS: ResourceType = { group: 'admissionregistration.k8s.io', version: 'v1', plural: 'mutatingwebhookconfigurations', kind: 'MutatingWebhookConfiguration', namespaced: false };
export const API_SERVICES: ResourceType = { group: 'apiregistration.k8s.io', version: 'v1', plural: 'apiservices', kind: 'APIService', namespaced: false };
export const CUSTOM_RESOURCE_DEFINITIONS: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false };
export const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };
export const INGRESSES: ResourceType = { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', kind: 'Ingress', namespaced: true };
export const GATEWAYS: ResourceType = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways', kind: 'Gateway', namespaced: true };

/** Lists are read in pages of this many items: memory stays bounded whatever the cluster holds. */
export const LIST_PAGE_SIZE = 500;

interface Page {
  items: unknown[];
  metadata?: { continue?: string; _continue?: string };
}

type PageOf<T> = { items: T[]; metadata?: { continue?: string; _continue?: string } };

/** Hands every item of a paginated list to `each`, page after page: a page can be dropped before the next arrives. */
export async function forEachItem<T>(fetchPage: (cont: string | undefined) => Promise<PageOf<T>>, each: (item: T) => void): Promise<void> {
  let cont: string | undefined;
  do {
    const page = await fetchPage(cont);
    for (const item of page.items) each(item);
    cont = page.metadata?.continue ?? page.metadata?._continue;
  } while (cont !== undefined && cont !== '');
}

/** Every item of a paginated list. */
export async function allPages<T>(fetchPage: (cont: string | undefined) => Promise<PageOf<T>>): Promise<T[]> {
  const out: T[] = [];
  await forEachItem(fetchPage, (item) => out.push(item));
  return out;
}

/** What the typed resource clients call: certkeeper's custom-object client less create and delete. */
export type CustomObjectCalls = Omit<CustomObjectsClient, 'createNamespacedCustomObject' | 'deleteNamespacedCustomObject'>;

interface ObjectMeta {
  name: string;
  namespace?: string | undefined;
  resourceVersion?: string | undefined;
  finalizers?: string[] | undefined;
}

/**
 * One custom resource kind. `parse` turns what the server sent into T (the
 * CRD schema already refused what zod would; a raw object is kept if they
 * ever disagree, so an unexpected field never hides an object).
 */
export class CustomResourceClient<T extends { metadata: ObjectMeta; status?: object | undefined }> {
  constructor(
    private readonly api: CustomObjectCalls,
    readonly type: ResourceType,
    private readonly parse: (raw: unknown) => T,
  ) {}

  /** The object as the server holds it now, or undefined when there is none. */
  async get(name: string, namespace?: string): Promise<T | undefined> {
    const raw = await this.getRaw(name, namespace);
    return raw === undefined ? undefined : this.parse(raw);
  }

  /** As the server sent it, unparsed (to show what is wrong with an object that does not parse). */
  async getRaw(name: string, namespace?: string): Promise<unknown> {
    const { group, version, plural } = this.type;
    try {
      const raw: unknown =
        namespace === undefined
          ? await this.api.getClusterCustomObject({ group, version, plural, name })
          : await this.api.getNamespacedCustomObject({ group, version, plural, namespace, name });
      return raw ?? undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every object (in one namespace, or all), as the server sent them: page by page. */
  async listRaw(namespace?: string): Promise<unknown[]> {
    const { group, version, plural } = this.type;
    return allPages(async (cont) =>
      (namespace === undefined
        ? await this.api.listClusterCustomObject({ group, version, plural, limit: LIST_PAGE_SIZE, _continue: cont })
        : await this.api.listNamespacedCustomObject({ group, version, plural, namespace, limit: LIST_PAGE_SIZE, _continue: cont })) as Page,
    );
  }

  /** A JSON merge patch of the object itself (metadata, spec); 404 comes back as undefined. */
  async mergePatch(name: string, namespace: string | undefined, body: object): Promise<T | undefined> {
    const { group, version, plural } = this.type;
    try {
      const raw: unknown =
        namespace === undefined
          ? await this.api.patchClusterCustomObject({ group, version, plural, name, body })
          : await this.api.patchNamespacedCustomObject({ group, version, plural, namespace, name, body });
      return this.parse(raw);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Replaces the finalizers. The resourceVersion makes it a compare-and-swap:
   * someone else's finalizer added meanwhile is not dropped (409, retried).
   */
  async setFinalizers(object: T, finalizers: string[]): Promise<void> {
    const { name, namespace, resourceVersion } = object.metadata;
    await this.mergePatch(name, this.type.namespaced ? (namespace ?? 'default') : undefined, { metadata: { finalizers, resourceVersion } });
  }

  /** A merge patch of the status subresource, as given. */
  patchStatus(object: T, patch: Record<string, unknown>): Promise<PatchStatusResult> {
    const { group, version, plural, kind } = this.type;
    const { name, namespace } = object.metadata;
    const ref = { group, version, plural, kind, name, ...(this.type.namespaced ? { namespace: namespace ?? 'default' } : {}) };
    return patchStatus({ customObjects: this.api }, ref, patch);
  }

  /**
   * Writes `next` as the status when it says something new: a merge patch of
   * only the changed fields (dropped ones cleared). Returns the object as
   * the server now holds it, or `unchanged` / `gone`.
   */
  async writeStatus(object: T, next: StatusFields): Promise<StatusWriteOutcome<T>> {
    if (!statusChanged(object.status, next)) return { outcome: 'unchanged' };
    const patch = statusMergePatch(object.status, next);
    if (Object.keys(patch).length === 0) return { outcome: 'unchanged' };
    const result = await this.patchStatus(object, patch);
    if (result.outcome === 'notFound') return { outcome: 'gone' };
    const written = (result.object ?? {}) as { status?: object; metadata?: { resourceVersion?: string } };
    return {
      outcome: 'written',
      object: { ...object, status: written.status ?? next, metadata: { ...object.metadata, resourceVersion: written.metadata?.resourceVersion ?? object.metadata.resourceVersion } },
      ...(isKubeObject(result.object) ? { served: result.object } : {}),
    };
  }
}

export type StatusWriteOutcome<T> =
  /** `served`: the whole object as the server answered, for a cache's read-your-writes (InformerCache.observe). */
  | { outcome: 'written'; object: T; served?: KubeObject }
  | { outcome: 'unchanged' }
  | { outcome: 'gone' };

function isKubeObject(value: unknown): value is KubeObject {
  return typeof value === 'object' && value !== null && typeof (value as KubeObject).metadata === 'object';
}

/** A Certificate as the API server sent it: parsed when it parses, else raw. */
export function asCertificate(raw: unknown): Certificate {
  const parsed = certificateSchema.safeParse(raw);
  return parsed.success ? parsed.data : (raw as Certificate);
}

export function asTLSPolicy(raw: unknown): TLSPolicy {
  const parsed = tlsPolicySchema.safeParse(raw);
  return parsed.success ? parsed.data : (raw as TLSPolicy);
}

export type CertificatesClient = CustomResourceClient<Certificate>;
export type TLSPoliciesClient = CustomResourceClient<TLSPolicy>;

export const certificatesClient = (api: CustomObjectCalls): CertificatesClient => new CustomResourceClient(api, CERTIFICATES, asCertificate);
export const tlsPoliciesClient = (api: CustomObjectCalls): TLSPoliciesClient => new CustomResourceClient(api, TLS_POLICIES, asTLSPolicy);

export type SecretCalls = Pick<CoreV1Api, 'readNamespacedSecret' | 'listNamespacedSecret' | 'listSecretForAllNamespaces' | 'deleteNamespacedSecret'>;

/** Secrets: read (undefined when absent), list page by page, delete (absent is fine). */
export class SecretsClient {
  constructor(private readonly api: Partial<SecretCalls>) {}

  async get(namespace: string, name: string): Promise<V1Secret | undefined> {
    const read = this.api.readNamespacedSecret;
    if (read === undefined) throw new Error('Secrets client was made without readNamespacedSecret');
    try {
      return await read.call(this.api, { namespace, name });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Hands every Secret (in one namespace, or all) matching the field selector to `each`, a page at a time. */
  forEach(options: { namespace?: string | undefined; fieldSelector?: string }, each: (secret: V1Secret) => void): Promise<void> {
    const { namespace, fieldSelector } = options;
    return forEachItem((cont) => {
      if (namespace === undefined) {
        const list = this.api.listSecretForAllNamespaces;
        if (list === undefined) throw new Error('Secrets client was made without listSecretForAllNamespaces');
        return list.call(this.api, { fieldSelector, limit: LIST_PAGE_SIZE, _continue: cont });
      }
      const list = this.api.listNamespacedSecret;
      if (list === undefined) throw new Error('Secrets client was made without listNamespacedSecret');
      return list.call(this.api, { namespace, fieldSelector, limit: LIST_PAGE_SIZE, _continue: cont });
    }, each);
  }

  /** Deletes the Secret; one already gone is not an error. */
  async delete(namespace: string, name: string): Promise<void> {
    const remove = this.api.deleteNamespacedSecret;
    if (remove === undefined) throw new Error('Secrets client was made without deleteNamespacedSecret');
    try {
      await remove.call(this.api, { namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
