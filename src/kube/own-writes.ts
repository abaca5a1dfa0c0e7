// Read-your-writes for an informer's cache. A controller that writes an
// object gets the server's answer at once, but the cache learns of it only
// when the watch echoes it, a few milliseconds to seconds later. A reconcile
// that runs in between (another event for the same key) would decide from the
// object as it was before the write and write again. So the answer is held
// beside the cache and read in its place until the watch catches up.
//
// It stays beside the cache, not in it: the informer's handlers still see
// every change in order (old → new) when the watch delivers it, so indexes
// kept by handlers never skip a transition. Entries leave as soon as the
// cache holds the same version or a newer one, or the object is deleted.

import type { CacheEntry } from './list-snapshot.js';

/**
 * Whether resourceVersion `a` is newer than `b`. The API server's versions
 * are etcd revisions (decimal integers), as client-go's mutation cache also
 * assumes; anything else is never "newer", so the cache is trusted.
 */
export function isNewerVersion(a: string, b: string): boolean {
  if (!DECIMAL.test(a) || !DECIMAL.test(b)) return false;
  return a.length !== b.length ? a.length > b.length : a > b;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;

export class OwnWrites<T> {
  private readonly ahead = new Map<string, CacheEntry<T>>();

  /** Objects held ahead of the cache (for tests and metrics). */
  get size(): number {
    return this.ahead.size;
  }

  /**
   * The server answered one of our writes with `entry`. Held only when the
   * cache has the object at an older version (an object the cache has not
   * seen, or has seen deleted, is left to the watch).
   */
  observe(key: string, entry: CacheEntry<T>, cached: CacheEntry<T> | undefined): void {
    if (cached === undefined || !isNewerVersion(entry.resourceVersion, cached.resourceVersion)) return;
    const held = this.ahead.get(key);
    if (held !== undefined && !isNewerVersion(entry.resourceVersion, held.resourceVersion)) return;
    this.ahead.set(key, entry);
  }

  /** What a reader should see for `key`, given what the cache holds. */
  read(key: string, cached: CacheEntry<T> | undefined): T | undefined {
    if (this.ahead.size === 0) return cached?.obj;
    const held = this.ahead.get(key);
    if (held === undefined) return cached?.obj;
    if (cached !== undefined && isNewerVersion(held.resourceVersion, cached.resourceVersion)) return held.obj;
    this.ahead.delete(key);
    return cached?.obj;
  }

  /** The cache changed for `key` (`undefined`: deleted): drop what it caught up with. */
  settle(key: string, cached: CacheEntry<T> | undefined): void {
    const held = this.ahead.get(key);
    if (held === undefined) return;
    if (cached === undefined || !isNewerVersion(held.resourceVersion, cached.resourceVersion)) this.ahead.delete(key);
  }
}
