import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../clock.js';
import { scopedInformer, type InformerCache } from '../../kube/namespaced-informers.js';
import type { KubeObject } from '../../kube/lister-watcher.js';
import { API_SERVICES, CONFIG_MAPS, CUSTOM_RESOURCE_DEFINITIONS, GATEWAYS, INGRESSES, MUTATING_WEBHOOKS, PODS, SECRETS, VALIDATING_WEBHOOKS, type ResourceType } from '../../kube/resources.js';
import { ConsumerIndex, gatewayConsumer, ingressConsumer, podConsumer, type ConsumerSummary } from './consumers.js';
import type { Logger } from '../../log.js';
import { SourceKind } from '../model.js';
import {
  apiServiceSource,
  configMapSource,
  crdConversionSource,
  secretSource,
  webhookConfigurationSource,
  type SourceSummary,
} from './read.js';

// The operator's caches of the inventory's other sources: each object is read
// into a SourceSummary when it arrives (sources/read.ts) and only that is
// kept, or nothing for the many objects without a certificate.

/** Which sources the operator watches (`--inventory-sources`); ConfigMaps only with a label selector. */
export type InventorySourceName = 'webhooks' | 'apiservices' | 'crds' | 'secrets';
export const INVENTORY_SOURCE_NAMES: readonly InventorySourceName[] = ['webhooks', 'apiservices', 'crds', 'secrets'];

/** Which users of Secrets and ConfigMaps the operator watches (`--inventory-consumers`); Gateways need the Gateway API installed. */
export type InventoryConsumerName = 'pods' | 'ingresses' | 'gateways';

export interface InventorySourceSettings {
  sources: readonly InventorySourceName[];
  consumers?: readonly InventoryConsumerName[] | undefined;
  /** Label selector of the ConfigMaps to read; undefined: ConfigMaps are not watched at all. */
  configMapSelector?: string | undefined;
  /** --watch-namespaces: namespaced sources and consumers are read in these only; undefined: everywhere. */
  namespaces?: readonly string[] | undefined;
}

export const DEFAULT_INVENTORY_SOURCES: InventorySourceSettings = { sources: INVENTORY_SOURCE_NAMES, consumers: ['pods', 'ingresses'] };

type Raw = KubeObject & Record<string, unknown>;
type SourceInformer = InformerCache<SourceSummary | undefined>;
type ConsumerInformer = InformerCache<ConsumerSummary | undefined>;

export class InventorySourceCaches {
  private readonly sourceInformers: SourceInformer[] = [];
  private readonly consumerInformers: ConsumerInformer[] = [];

  constructor(kc: KubeConfig, settings: InventorySourceSettings, common: { clock: Clock; log: Logger }) {
    // Namespaced kinds only where the operator watches (cluster-scoped caBundles are everywhere).
    const scope = (type: ResourceType) => (type.namespaced ? settings.namespaces : undefined);
    const add = (name: string, type: ResourceType, transform: (raw: Raw) => SourceSummary | undefined, selectors: { labelSelector?: string; fieldSelector?: string } = {}): void => {
      this.sourceInformers.push(scopedInformer<Raw, SourceSummary | undefined>({ ...common, ...selectors, kubeConfig: kc, name, type, namespaces: scope(type), transform }));
    };
    // Only references are kept of each Pod, Ingress, Gateway (sources/consumers.ts).
    const consumer = (name: string, type: ResourceType, transform: (raw: Raw) => ConsumerSummary | undefined): void => {
      this.consumerInformers.push(scopedInformer<Raw, ConsumerSummary | undefined>({ ...common, kubeConfig: kc, name, type, namespaces: scope(type), transform }));
    };
    const users = new Set(settings.consumers ?? []);
    if (users.has('pods')) consumer('pods', PODS, podConsumer);
    if (users.has('ingresses')) consumer('ingresses', INGRESSES, ingressConsumer);
    if (users.has('gateways')) consumer('gateways', GATEWAYS, gatewayConsumer);
    const on = new Set(settings.sources);
    if (on.has('webhooks')) {
      add('validatingwebhookconfigurations', VALIDATING_WEBHOOKS, (raw) => webhookConfigurationSource(SourceKind.ValidatingWebhook, raw));
      add('mutatingwebhookconfigurations', MUTATING_WEBHOOKS, (raw) => webhookConfigurationSource(SourceKind.MutatingWebhook, raw));
    }
    if (on.has('apiservices')) add('apiservices', API_SERVICES, (raw) => apiServiceSource(raw));
    if (on.has('crds')) add('customresourcedefinitions', CUSTOM_RESOURCE_DEFINITIONS, (raw) => crdConversionSource(raw));
    // Opaque only: kubernetes.io/tls Secrets are the main inventory's, and Helm's release Secrets (large, gzipped) hold no PEM.
    if (on.has('secrets')) add('opaque-secrets', SECRETS, (raw) => secretSource(raw), { fieldSelector: 'type=Opaque' });
    if (settings.configMapSelector !== undefined) add('configmaps', CONFIG_MAPS, (raw) => configMapSource(raw), { labelSelector: settings.configMapSelector });
  }

  get informers(): (SourceInformer | ConsumerInformer)[] {
    return [...this.sourceInformers, ...this.consumerInformers];
  }

  list(): SourceSummary[] {
    const out: SourceSummary[] = [];
    for (const informer of this.sourceInformers) for (const s of informer.list()) if (s !== undefined) out.push(s);
    return out;
  }

  /** Undefined when no consumer is watched (the inventory then shows none, rather than "nobody"). */
  consumers(): ConsumerIndex | undefined {
    if (this.consumerInformers.length === 0) return undefined;
    const summaries: ConsumerSummary[] = [];
    for (const informer of this.consumerInformers) for (const s of informer.list()) if (s !== undefined) summaries.push(s);
    return new ConsumerIndex(summaries);
  }

  /** Calls `listener` on every change of any source or consumer cache. */
  onChange(listener: () => void): void {
    for (const informer of this.informers) {
      informer.on('add', listener);
      informer.on('update', listener);
      informer.on('delete', listener);
    }
  }
}
