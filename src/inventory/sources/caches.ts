import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../../clock.js';
import { Informer } from '../../kube/informer.js';
import { kubeListerWatcher, resourcePath } from '../../kube/kube-lister-watcher.js';
import type { KubeObject } from '../../kube/lister-watcher.js';
import { API_SERVICES, CONFIG_MAPS, CUSTOM_RESOURCE_DEFINITIONS, MUTATING_WEBHOOKS, SECRETS, VALIDATING_WEBHOOKS, type ResourceType } from '../../kube/resources.js';
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

export interface InventorySourceSettings {
  sources: readonly InventorySourceName[];
  /** Label selector of the ConfigMaps to read; undefined: ConfigMaps are not watched at all. */
  configMapSelector?: string | undefined;
}

export const DEFAULT_INVENTORY_SOURCES: InventorySourceSettings = { sources: INVENTORY_SOURCE_NAMES };

type Raw = KubeObject & Record<string, unknown>;
type SourceInformer = Informer<Raw, SourceSummary | undefined>;

export class InventorySourceCaches {
  readonly informers: SourceInformer[] = [];

  constructor(kc: KubeConfig, settings: InventorySourceSettings, common: { clock: Clock; log: Logger }) {
    const add = (name: string, type: ResourceType, transform: (raw: Raw) => SourceSummary | undefined, selectors: { labelSelector?: string; fieldSelector?: string } = {}): void => {
      this.informers.push(new Informer<Raw, SourceSummary | undefined>({ ...common, ...selectors, name, listerWatcher: kubeListerWatcher(kc, resourcePath(type)), transform }));
    };
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

  list(): SourceSummary[] {
    const out: SourceSummary[] = [];
    for (const informer of this.informers) for (const s of informer.list()) if (s !== undefined) out.push(s);
    return out;
  }

  /** Calls `listener` on every change of any source cache. */
  onChange(listener: () => void): void {
    for (const informer of this.informers) {
      informer.on('add', listener);
      informer.on('update', listener);
      informer.on('delete', listener);
    }
  }
}
