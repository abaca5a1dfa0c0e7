// Who uses a Secret or a ConfigMap: Pods that mount it (volumes, projected
// volumes) or read it into their environment, Ingresses that serve it
// (tls[].secretName) and Gateways whose listeners serve it
// (tls.certificateRefs). Pure: raw objects in, small summaries of references
// out (never the objects themselves), and an index the inventory asks per
// location. Bounded per object, so a hostile Pod spec with ten thousand
// volumes costs no more than one with a hundred.

export type ConsumerKind = 'Pod' | 'Ingress' | 'Gateway';
export type ConsumerVia = 'volume' | 'projected' | 'env' | 'tls' | 'certificateRef';

export interface ConsumerRef {
  kind: ConsumerKind;
  namespace: string;
  name: string;
  via: ConsumerVia;
}

/** What an object refers to: "Secret/<ns>/<name>" or "ConfigMap/<ns>/<name>", with how. */
export interface ConsumerSummary {
  kind: ConsumerKind;
  namespace: string;
  name: string;
  refs: { target: string; via: ConsumerVia }[];
}

/** References kept per object; what is beyond is dropped (the index says how many consumers it left out, not which refs). */
export const MAX_REFS_PER_OBJECT = 64;
/** Consumers listed per location in the inventory; the rest are counted. */
export const MAX_CONSUMERS_PER_LOCATION = 20;

export const targetKey = (kind: 'Secret' | 'ConfigMap', namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

interface RawMeta {
  metadata?: { name?: string; namespace?: string } | undefined;
}

type NameRef = { name?: string | undefined } | undefined;

interface RawContainer {
  env?: { valueFrom?: { secretKeyRef?: NameRef; configMapKeyRef?: NameRef } | undefined }[] | undefined;
  envFrom?: { secretRef?: NameRef; configMapRef?: NameRef }[] | undefined;
}

export interface RawPod extends RawMeta {
  spec?:
    | {
        volumes?: { secret?: { secretName?: string | undefined } | undefined; configMap?: NameRef; projected?: { sources?: { secret?: NameRef; configMap?: NameRef }[] | undefined } | undefined }[] | undefined;
        containers?: RawContainer[] | undefined;
        initContainers?: RawContainer[] | undefined;
        ephemeralContainers?: RawContainer[] | undefined;
      }
    | undefined;
}

class Refs {
  private readonly seen = new Set<string>();
  readonly list: ConsumerSummary['refs'] = [];

  constructor(private readonly namespace: string) {}

  add(kind: 'Secret' | 'ConfigMap', name: string | undefined, via: ConsumerVia, namespace = this.namespace): void {
    if (name === undefined || name === '' || this.list.length >= MAX_REFS_PER_OBJECT) return;
    const target = targetKey(kind, namespace, name);
    const id = `${target}\u0000${via}`;
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.list.push({ target, via });
  }
}

function meta(raw: RawMeta): { namespace: string; name: string } {
  return { namespace: raw.metadata?.namespace ?? '', name: raw.metadata?.name ?? '' };
}

/** The Secrets and ConfigMaps a Pod mounts or reads into its environment; undefined when none. */
export function podConsumer(raw: RawPod): ConsumerSummary | undefined {
  const m = meta(raw);
  const refs = new Refs(m.namespace);
  const spec = raw.spec ?? {};
  for (const v of spec.volumes ?? []) {
    refs.add('Secret', v.secret?.secretName, 'volume');
    refs.add('ConfigMap', v.configMap?.name, 'volume');
    for (const source of v.projected?.sources ?? []) {
      refs.add('Secret', source.secret?.name, 'projected');
      refs.add('ConfigMap', source.configMap?.name, 'projected');
    }
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c.env ?? []) {
      refs.add('Secret', e.valueFrom?.secretKeyRef?.name, 'env');
      refs.add('ConfigMap', e.valueFrom?.configMapKeyRef?.name, 'env');
    }
    for (const e of c.envFrom ?? []) {
      refs.add('Secret', e.secretRef?.name, 'env');
      refs.add('ConfigMap', e.configMapRef?.name, 'env');
    }
  }
  return refs.list.length === 0 ? undefined : { kind: 'Pod', ...m, refs: refs.list };
}

export interface RawIngress extends RawMeta {
  spec?: { tls?: { secretName?: string | undefined }[] | undefined } | undefined;
}

export function ingressConsumer(raw: RawIngress): ConsumerSummary | undefined {
  const m = meta(raw);
  const refs = new Refs(m.namespace);
  for (const t of raw.spec?.tls ?? []) refs.add('Secret', t.secretName, 'tls');
  return refs.list.length === 0 ? undefined : { kind: 'Ingress', ...m, refs: refs.list };
}

export interface RawGateway extends RawMeta {
  spec?:
    | {
        listeners?: { tls?: { certificateRefs?: { group?: string | undefined; kind?: string | undefined; name?: string | undefined; namespace?: string | undefined }[] | undefined } | undefined }[] | undefined;
      }
    | undefined;
}

/** certificateRefs of core Secrets (the default kind), possibly in another namespace (a ReferenceGrant allows it; we record it either way). */
export function gatewayConsumer(raw: RawGateway): ConsumerSummary | undefined {
  const m = meta(raw);
  const refs = new Refs(m.namespace);
  for (const l of raw.spec?.listeners ?? []) {
    for (const ref of l.tls?.certificateRefs ?? []) {
      if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret') continue;
      refs.add('Secret', ref.name, 'certificateRef', ref.namespace ?? m.namespace);
    }
  }
  return refs.list.length === 0 ? undefined : { kind: 'Gateway', ...m, refs: refs.list };
}

export interface Consumers {
  /** At most MAX_CONSUMERS_PER_LOCATION, Gateways and Ingresses before Pods, then by name. */
  consumers: ConsumerRef[];
  /** How many more there are. */
  omitted: number;
}

const ORDER: Record<ConsumerKind, number> = { Gateway: 0, Ingress: 1, Pod: 2 };

/** An index from Secret/ConfigMap to the objects that use it, built per inventory build from the summaries. */
export class ConsumerIndex {
  private readonly byTarget = new Map<string, ConsumerRef[]>();

  constructor(summaries: Iterable<ConsumerSummary>) {
    for (const s of summaries) {
      for (const r of s.refs) {
        const list = this.byTarget.get(r.target);
        const ref = { kind: s.kind, namespace: s.namespace, name: s.name, via: r.via };
        if (list === undefined) this.byTarget.set(r.target, [ref]);
        else list.push(ref);
      }
    }
  }

  of(kind: 'Secret' | 'ConfigMap', namespace: string, name: string): Consumers | undefined {
    const all = this.byTarget.get(targetKey(kind, namespace, name));
    if (all === undefined) return undefined;
    const sorted = [...all].sort((a, b) => ORDER[a.kind] - ORDER[b.kind] || (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { consumers: sorted.slice(0, MAX_CONSUMERS_PER_LOCATION), omitted: Math.max(0, sorted.length - MAX_CONSUMERS_PER_LOCATION) };
  }
}

/** "Pod shop/web-1 (volume), Ingress shop/web (tls) and 3 more": for alert descriptions. */
export function describeConsumers(c: Consumers | undefined): string | undefined {
  if (c === undefined || c.consumers.length === 0) return undefined;
  const shown = c.consumers.slice(0, 5).map((x) => `${x.kind} ${x.namespace}/${x.name} (${x.via})`);
  const more = c.consumers.length - shown.length + c.omitted;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}
