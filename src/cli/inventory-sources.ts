import type {
  V1APIService,
  V1ConfigMap,
  V1CustomResourceDefinition,
  V1Ingress,
  V1MutatingWebhookConfiguration,
  V1Pod,
  V1Secret,
  V1ValidatingWebhookConfiguration,
  KubeConfig,
} from '@kubernetes/client-node';
import { SourceKind } from '../inventory/model.js';
import { ConsumerIndex, gatewayConsumer, ingressConsumer, podConsumer, type ConsumerSummary, type RawGateway } from '../inventory/sources/consumers.js';
import { apiServiceSource, configMapSource, crdConversionSource, secretSource, webhookConfigurationSource, type SourceSummary } from '../inventory/sources/read.js';
import { statusCodeOf } from '../kube/errors.js';
import { forEachItem, GATEWAYS, LIST_PAGE_SIZE } from '../kube/resources.js';
import { rawListPage } from '../kube/raw-apis.js';

// `certkeeper inventory` reading the other sources itself, page by page, each
// object summarised and dropped at once (as the operator's caches do): the
// webhook/APIService/CRD caBundles, Opaque Secrets, the ConfigMaps a
// selector names, and with --consumers the Pods, Ingresses and Gateways.
// What the caller may not list (403) or the cluster does not have (404:
// no Gateway API) is skipped with a warning, not a failure.

export interface ClusterSourceOptions {
  namespace?: string | undefined;
  configMapSelector?: string | undefined;
  consumers: boolean;
  warn: (message: string) => void;
}

async function tolerant(what: string, warn: (m: string) => void, read: () => Promise<void>): Promise<void> {
  try {
    await read();
  } catch (err) {
    const status = statusCodeOf(err);
    if (status !== 403 && status !== 404) throw err;
    warn(`cannot list ${what} (HTTP ${status}); they are left out`);
  }
}

export async function readClusterSources(kc: KubeConfig, o: ClusterSourceOptions): Promise<{ sources: SourceSummary[]; consumers?: ConsumerIndex }> {
  const sources: SourceSummary[] = [];
  const keep = (s: SourceSummary | undefined): void => {
    if (s !== undefined) sources.push(s);
  };
  const ns = o.namespace;
  // Every list is one kind's path, for the whole cluster or one namespace, page by page.
  const where = (group: string, plural: string, namespaced = true): string =>
    `${group === '' ? '/api/v1' : `/apis/${group}`}${namespaced && ns !== undefined ? `/namespaces/${encodeURIComponent(ns)}` : ''}/${plural}`;
  const each = <T>(path: string, query: { labelSelector?: string | undefined; fieldSelector?: string | undefined }, item: (t: T) => void): Promise<void> =>
    forEachItem((c) => rawListPage<T>(kc, path, { ...query, limit: LIST_PAGE_SIZE, _continue: c }), item);
  // Cluster-scoped trust of the API server: listed only for the whole cluster.
  if (ns === undefined) {
    await tolerant('ValidatingWebhookConfigurations', o.warn, () =>
      each<V1ValidatingWebhookConfiguration>(where('admissionregistration.k8s.io/v1', 'validatingwebhookconfigurations', false), {}, (w) => keep(webhookConfigurationSource(SourceKind.ValidatingWebhook, w))),
    );
    await tolerant('MutatingWebhookConfigurations', o.warn, () =>
      each<V1MutatingWebhookConfiguration>(where('admissionregistration.k8s.io/v1', 'mutatingwebhookconfigurations', false), {}, (w) => keep(webhookConfigurationSource(SourceKind.MutatingWebhook, w))),
    );
    await tolerant('APIServices', o.warn, () => each<V1APIService>(where('apiregistration.k8s.io/v1', 'apiservices', false), {}, (a) => keep(apiServiceSource(a))));
    await tolerant('CustomResourceDefinitions', o.warn, () =>
      each<V1CustomResourceDefinition>(where('apiextensions.k8s.io/v1', 'customresourcedefinitions', false), {}, (d) => keep(crdConversionSource(d))),
    );
  }
  await tolerant('Secrets', o.warn, () => each<V1Secret>(where('', 'secrets'), { fieldSelector: 'type=Opaque' }, (s) => keep(secretSource(s))));
  if (o.configMapSelector !== undefined) {
    const labelSelector = o.configMapSelector;
    await tolerant('ConfigMaps', o.warn, () => each<V1ConfigMap>(where('', 'configmaps'), { labelSelector }, (m) => keep(configMapSource(m))));
  }
  if (!o.consumers) return { sources };

  const users: ConsumerSummary[] = [];
  const use = (c: ConsumerSummary | undefined): void => {
    if (c !== undefined) users.push(c);
  };
  await tolerant('Pods', o.warn, () => each<V1Pod>(where('', 'pods'), {}, (p) => use(podConsumer(p))));
  await tolerant('Ingresses', o.warn, () => each<V1Ingress>(where('networking.k8s.io/v1', 'ingresses'), {}, (i) => use(ingressConsumer(i))));
  // Gateways may be anywhere (a certificateRef can cross namespaces): always the whole cluster.
  const { group, version, plural } = GATEWAYS;
  await tolerant('Gateways', o.warn, () => each<RawGateway>(where(`${group}/${version}`, plural, false), {}, (g) => use(gatewayConsumer(g))));
  return { sources, consumers: new ConsumerIndex(users) };
}
