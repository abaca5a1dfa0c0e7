// The public shapes of an Informer: its states, its typed events, and its
// options with their defaults.

import type { BackoffOptions } from '../backoff.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { KubeObject, ListerWatcher, Selectors } from './lister-watcher.js';

export type InformerState = 'idle' | 'listing' | 'watching' | 'backoff' | 'stopped';

export type InformerEvents<T> = {
  add: [key: string, obj: T];
  update: [key: string, obj: T, old: T];
  delete: [key: string, obj: T];
  /** The first complete list has been applied to the cache. */
  synced: [];
  error: [err: Error];
  stateChange: [next: InformerState, prev: InformerState];
};

export interface InformerOptions<Raw extends KubeObject, T> extends Selectors {
  /** Names the informer in logs and errors, e.g. "secrets". */
  name: string;
  listerWatcher: ListerWatcher<Raw>;
  /** Keep a parsed summary instead of the raw object (memory at 10,000 Secrets). Default: the raw object. */
  transform?: (raw: Raw) => T;
  clock: Clock;
  log: Logger;
  /** LIST page size. Default 500. */
  pageSize?: number;
  /** Server-side watch timeout. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** A watch silent for watchTimeout + this margin is dead and gets replaced. Default 30 s. */
  stallMarginMs?: number;
  /** A LIST page taking longer than this is abandoned. Default 60 s. */
  listPageTimeoutMs?: number;
  /** Reconnect backoff. Default 200 ms doubling to 30 s, ±20 % jitter. */
  backoff?: Partial<BackoffOptions>;
  /** A watch that stayed up this long resets the backoff. Default 60 s. */
  healthyAfterMs?: number;
  /** A watch that closes sooner than this without any event counts as a failure. Default 1 s. */
  minWatchMs?: number;
  /** Periodic diffing relist (±10 % jitter); 0 disables. Default 0. */
  resyncIntervalMs?: number;
  /** Restarts of a paginated LIST whose continue token expired before giving up to backoff. Default 3. */
  maxListRestarts?: number;
}
