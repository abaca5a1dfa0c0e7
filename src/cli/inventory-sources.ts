import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  ApiregistrationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { SourceKind } from '../inventory/model.js';
import { ConsumerIndex, gatewayConsumer, ingressConsumer, podConsumer, type ConsumerSummary, type RawGateway } from '../inventory/sources/consumers.js';
import { apiServiceSource, configMapSource, crdConversionSource, secretSource, webhookConfigurationSource, type SourceSummary } from '../inventory/sources/read.js';
import { statusCodeOf } from '../kube/errors.js';
import { forEachItem, GATEWAYS, LIST_PAGE_SIZE } from '../kube/resources.js';

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

interface Page<T> {
  items: T[];
  metadata?: { _continue?: string; continue?: string };
}

export async function readClusterSources(kc: KubeConfig, o: ClusterSourceOptions): Promise<{ sources: SourceSummary[]; consumers?: ConsumerIndex }> {
  const sources: SourceSummary[] = [];
  const keep = (s: SourceSummary | undefined): void => {
    if (s !== undefined) sources.push(s);
  };
  const core = kc.makeApiClient(CoreV1Api);
  const ns = o.namespace;
  const page = { limit: LIST_PAGE_SIZE };
  // Cluster-scoped trust of the API server: listed only for the whole cluster.
  if (ns === undefined) {
    const admission = kc.makeApiClient(AdmissionregistrationV1Api);
    await tolerant('ValidatingWebhookConfigurations', o.warn, () =>
      forEachItem((c) => admission.listValidatingWebhookConfiguration({ ...page, _continue: c }), (w) => keep(webhookConfigurationSource(SourceKind.ValidatingWebhook, w))),
    );
    await tolerant('MutatingWebhookConfigurations', o.warn, () =>
      forEachItem((c) => admission.listMutatingWebhookConfiguration({ ...page, _continue: c }), (w) => keep(webhookConfigurationSource(SourceKind.MutatingWebhook, w))),
    );
    const aggregation = kc.makeApiClient(ApiregistrationV1Api);
    await tolerant('APIServices', o.warn, () => forEachItem((c) => aggregation.listAPIService({ ...page, _continue: c }), (a) => keep(apiServiceSource(a))));
    const extensions = kc.makeApiClient(ApiextensionsV1Api);
    await tolerant('CustomResourceDefinitions', o.warn, () => forEachItem((c) => extensions.listCustomResourceDefinition({ ...page, _continue: c }), (d) => keep(crdConversionSource(d))));
  }
  const opaque = { ...page, fieldSelector: 'type=Opaque' };
  await tolerant('Secrets', o.warn, () =>
    forEachItem(
      (c) => (ns === undefined ? core.listSecretForAllNamespaces({ ...opaque, _continue: c }) : core.listNamespacedSecret({ ...opaque, namespace: ns, _continue: c })),
      (s) => keep(secretSource(s)),
    ),
  );
  if (o.configMapSelector !== undefined) {
    const selected = { ...page, labelSelector: o.configMapSelector };
    await tolerant('ConfigMaps', o.warn, () =>
      forEachItem(
        (c) => (ns === undefined ? core.listConfigMapForAllNamespaces({ ...selected, _continue: c }) : core.listNamespacedConfigMap({ ...selected, namespace: ns, _continue: c })),
        (m) => keep(configMapSource(m)),
      ),
    );
  }
  if (!o.consumers) return { sources };

  const users: ConsumerSummary[] = [];
  const use = (c: ConsumerSummary | undefined): void => {
    if (c !== undefined) users.push(c);
  };
  await tolerant('Pods', o.warn, () =>
    forEachItem((c) => (ns === undefined ? core.listPodForAllNamespaces({ ...page, _continue: c }) : core.listNamespacedPod({ ...page, namespace: ns, _continue: c })), (p) => use(podConsumer(p))),
  );
  const networking = kc.makeApiClient(NetworkingV1Api);
  await tolerant('Ingresses', o.warn, () =>
    forEachItem(
      (c) => (ns === undefined ? networking.listIngressForAllNamespaces({ ...page, _continue: c }) : networking.listNamespacedIngress({ ...page, namespace: ns, _continue: c })),
      (i) => use(ingressConsumer(i)),
    ),
  );
  // Gateways may be anywhere (a certificateRef can cross namespaces): always the whole cluster.
  const custom = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = GATEWAYS;
  await tolerant('Gateways', o.warn, () =>
    forEachItem(async (c) => (await custom.listClusterCustomObject({ group, version, plural, ...page, _continue: c })) as Page<RawGateway>, (g) => use(gatewayConsumer(g))),
  );
  return { sources, consumers: new ConsumerIndex(users) };
}
