// The LIST half of an informer: read a whole collection page by page into a
// snapshot, and diff a snapshot against the cache. Kept apart from the watch
// loop so each is small enough to reason about.

import type { Logger } from '../log.js';
import { isGone } from './errors.js';
import type { KubeObject, ListerWatcher, ListPage, Selectors } from './lister-watcher.js';

export interface CacheEntry<T> {
  resourceVersion: string;
  obj: T;
}

export interface Snapshot<T> {
  entries: Map<string, CacheEntry<T>>;
  /** Keys whose object could not be transformed: kept as cached, neither updated nor deleted. */
  skipped: Set<string>;
  /** Where the watch resumes. */
  resourceVersion: string;
}

export interface ListSnapshotOptions<Raw extends KubeObject, T> {
  listerWatcher: ListerWatcher<Raw>;
  selectors: Selectors;
  pageSize: number;
  /** Restarts allowed when a continue token expires (410) mid-list. */
  maxRestarts: number;
  toEntry: (raw: Raw) => { key: string; resourceVersion: string; obj: T | undefined } | undefined;
  /** Runs one page request, bounding its time and wiring its abort signal. */
  runPage: (call: (signal: AbortSignal) => Promise<ListPage<Raw>>) => Promise<ListPage<Raw>>;
  isStopped: () => boolean;
  log: Logger;
}

/** Reads every page, transforming as it goes so raw pages (Secret data!) can be dropped at once. */
export async function listSnapshot<Raw extends KubeObject, T>(opts: ListSnapshotOptions<Raw, T>): Promise<Snapshot<T>> {
  for (let restart = 0; ; restart++) {
    const entries = new Map<string, CacheEntry<T>>();
    const skipped = new Set<string>();
    let cont: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const request = { limit: opts.pageSize, ...opts.selectors, ...(cont === undefined ? {} : { continue: cont }) };
        const page = await opts.runPage((signal) => opts.listerWatcher.list(request, signal));
        for (const raw of page.items) {
          const entry = opts.toEntry(raw);
          if (entry === undefined) continue;
          if (entry.obj === undefined) skipped.add(entry.key);
          else entries.set(entry.key, { resourceVersion: entry.resourceVersion, obj: entry.obj });
        }
        resourceVersion = page.resourceVersion;
        cont = page.continue;
      } while (cont !== undefined);
      return { entries, skipped, resourceVersion };
    } catch (err) {
      // The continue token expired: that snapshot is gone, start the list over.
      if (cont !== undefined && isGone(err) && restart < opts.maxRestarts && !opts.isStopped()) {
        opts.log.info({ restart: restart + 1 }, 'list continue token expired (410); restarting the list');
        continue;
      }
      throw err;
    }
  }
}

export type CacheChange<T> =
  | { type: 'add'; key: string; entry: CacheEntry<T> }
  | { type: 'update'; key: string; entry: CacheEntry<T>; old: CacheEntry<T> }
  | { type: 'delete'; key: string; old: CacheEntry<T> };

/**
 * What must happen to make the cache match a snapshot: adds for new keys,
 * updates where the resourceVersion moved, deletes for keys that vanished
 * (events a broken watch missed). Unchanged objects produce nothing.
 */
export function diffSnapshot<T>(cache: ReadonlyMap<string, CacheEntry<T>>, snapshot: Snapshot<T>): CacheChange<T>[] {
  const changes: CacheChange<T>[] = [];
  for (const [key, entry] of snapshot.entries) {
    const old = cache.get(key);
    if (old === undefined) changes.push({ type: 'add', key, entry });
    else if (old.resourceVersion !== entry.resourceVersion) changes.push({ type: 'update', key, entry, old });
  }
  for (const [key, old] of cache) {
    if (!snapshot.entries.has(key) && !snapshot.skipped.has(key)) changes.push({ type: 'delete', key, old });
  }
  return changes;
}
