import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { Informer } from './informer.js';
import type { InformerEvents } from './informer-options.js';
import { kubeListerWatcher, resourcePath } from './kube-lister-watcher.js';
import { objectKey, type KubeObject } from './lister-watcher.js';
import { NAMESPACES, type ResourceType } from './resources.js';
import { TypedEmitter } from './typed-emitter.js';

/**
 * The cache the controllers read, whether it is one cluster-wide informer or
 * one informer per watched namespace (--watch-namespaces).
 */
export interface InformerCache<T> extends TypedEmitter<InformerEvents<T>> {
  readonly name: string;
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  readonly size: number;
  /** Read-your-writes: the server's answer to our own write, read until the watch catches up (Informer.observe). */
  observe(raw: KubeObject): void;
  hasSynced(): boolean;
  start(): void;
  stop(): Promise<void>;
  waitForSync(signal?: AbortSignal): Promise<void>;
}

/**
 * One informer per namespace, seen as one cache. With namespaced Roles only,
 * a cluster-wide LIST is forbidden; each namespace is listed and watched on
 * its own, and their events and contents are merged. Keys are unchanged
 * ("namespace/name", or the name of a Namespace object), so a key tells which
 * namespace's informer holds it.
 */
export class NamespacedInformers<Raw extends KubeObject, T> extends TypedEmitter<InformerEvents<T>> implements InformerCache<T> {
  private readonly byNamespace: ReadonlyMap<string, Informer<Raw, T>>;
  private syncedSent = false;

  constructor(
    readonly name: string,
    parts: ReadonlyMap<string, Informer<Raw, T>>,
  ) {
    super();
    if (parts.size === 0) throw new Error(`informer ${name}: no namespace to watch`);
    this.byNamespace = parts;
    const onError = (): void => undefined;
    for (const informer of parts.values()) {
      // Awaited like the informer's own listeners: a part updates its cache only after every handler ran.
      informer.on('add', (key, obj) => this.emitAndWait('add', key, obj));
      informer.on('update', (key, obj, old) => this.emitAndWait('update', key, obj, old));
      informer.on('delete', (key, obj) => this.emitAndWait('delete', key, obj));
      informer.on('error', (err) => this.emitQuietly('error', onError, err));
      informer.on('synced', () => {
        if (this.syncedSent || !this.hasSynced()) return;
        this.syncedSent = true;
        this.emitQuietly('synced', onError);
      });
      informer.on('stateChange', (next, prev) => this.emitQuietly('stateChange', onError, next, prev));
    }
  }

  get(key: string): T | undefined {
    return this.partOf(key)?.get(key);
  }

  observe(raw: Raw): void {
    const key = objectKey(raw);
    if (key !== undefined) this.partOf(key)?.observe(raw);
  }

  /** The informer that holds `key`: keys start with their namespace (a Namespace's key is its name). */
  private partOf(key: string): Informer<Raw, T> | undefined {
    const slash = key.indexOf('/');
    return this.byNamespace.get(slash < 0 ? key : key.slice(0, slash));
  }

  list(): T[] {
    return [...this.byNamespace.values()].flatMap((i) => i.list());
  }

  keys(): string[] {
    return [...this.byNamespace.values()].flatMap((i) => i.keys());
  }

  get size(): number {
    let n = 0;
    for (const i of this.byNamespace.values()) n += i.size;
    return n;
  }

  hasSynced(): boolean {
    for (const i of this.byNamespace.values()) if (!i.hasSynced()) return false;
    return true;
  }

  start(): void {
    for (const i of this.byNamespace.values()) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.byNamespace.values()].map((i) => i.stop()));
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.byNamespace.values()].map((i) => i.waitForSync(signal)));
  }
}

/**
 * LIST page size of the operator's informers. Every informer lists at start,
 * all at once, and a page is held as text and as parsed objects until its
 * items are transformed: 500 TLS Secrets are ~1.5 MB of JSON and several MB
 * of objects, times the informers listing together. Smaller pages bound that
 * burst, for a few more requests (10,000 Secrets: 100 LISTs instead of 20).
 */
export const INFORMER_PAGE_SIZE = 100;

export interface ScopedInformerOptions<R extends KubeObject, T> {
  kubeConfig: KubeConfig;
  clock: Clock;
  log: Logger;
  name: string;
  type: ResourceType;
  /** Watch these namespaces only (one informer each); undefined: the whole cluster. */
  namespaces: readonly string[] | undefined;
  transform: (raw: R) => T;
  fieldSelector?: string | undefined;
  labelSelector?: string | undefined;
}

/**
 * A cluster-wide informer, or one per namespace merged into one cache. A
 * Namespace object is watched by name (a metadata.name field selector, which
 * RBAC resourceNames can confine); other cluster-scoped kinds cannot be
 * watched per namespace.
 */
export function scopedInformer<R extends KubeObject, T>(o: ScopedInformerOptions<R, T>): InformerCache<T> {
  const informer = (path: string, fieldSelector: string | undefined, scope?: string) =>
    new Informer<R, T>({
      clock: o.clock,
      log: scope === undefined ? o.log : o.log.child({ namespace: scope }),
      name: o.name,
      listerWatcher: kubeListerWatcher(o.kubeConfig, path),
      transform: o.transform,
      pageSize: INFORMER_PAGE_SIZE,
      ...(fieldSelector === undefined ? {} : { fieldSelector }),
      ...(o.labelSelector === undefined ? {} : { labelSelector: o.labelSelector }),
    });
  if (o.namespaces === undefined) return informer(resourcePath(o.type), o.fieldSelector);
  const parts = new Map(
    o.namespaces.map((ns) => {
      if (o.type.namespaced) return [ns, informer(resourcePath({ ...o.type, namespace: ns }), o.fieldSelector, ns)] as const;
      if (o.type.plural !== NAMESPACES.plural) throw new Error(`${o.name}: a cluster-scoped resource cannot be watched per namespace`);
      const byName = [`metadata.name=${ns}`, o.fieldSelector].filter((f) => f !== undefined).join(',');
      return [ns, informer(resourcePath(o.type), byName, ns)] as const;
    }),
  );
  return new NamespacedInformers<R, T>(o.name, parts);
}
