/**
 * Helpers for driving src/kube's Informer against the shared API server:
 * a pass-through ListerWatcher that remembers its requests, and an informer
 * started on the real clock whose deliveries, errors and states are logged
 * for assertions afterwards.
 */
import { onTestFinished } from 'vitest';
import { realClock } from '../../src/clock.js';
import { Informer, type InformerOptions } from '../../src/kube/informer.js';
import type { KubeObject, ListerWatcher, ListRequest, WatchRequest } from '../../src/kube/lister-watcher.js';

/** Passes every call through to the real ListerWatcher and remembers the requests. */
export function recording<T extends KubeObject>(inner: ListerWatcher<T>): { listerWatcher: ListerWatcher<T>; lists: ListRequest[]; watches: WatchRequest[] } {
  const lists: ListRequest[] = [];
  const watches: WatchRequest[] = [];
  return {
    lists,
    watches,
    listerWatcher: {
      list: (request, signal) => {
        lists.push(request);
        return inner.list(request, signal);
      },
      watch: (request, signal) => {
        watches.push(request);
        return inner.watch(request, signal);
      },
    },
  };
}

export interface Delivered<T> {
  type: 'add' | 'update' | 'delete';
  key: string;
  obj: T;
  old?: T;
}

export interface RunningInformer<Raw extends KubeObject, T> {
  informer: Informer<Raw, T>;
  events: Array<Delivered<T>>;
  errors: Error[];
  /** Every state the informer entered, in order. */
  states: string[];
}

/** Starts an informer on the real clock, logging what it delivers; stopped when the test finishes. */
export function startInformer<Raw extends KubeObject, T>(options: Omit<InformerOptions<Raw, T>, 'clock'>): RunningInformer<Raw, T> {
  const informer = new Informer<Raw, T>({ ...options, clock: realClock });
  const events: Array<Delivered<T>> = [];
  const errors: Error[] = [];
  const states: string[] = [];
  informer.on('stateChange', (next) => void states.push(next));
  informer.on('add', (key, obj) => void events.push({ type: 'add', key, obj }));
  informer.on('update', (key, obj, old) => void events.push({ type: 'update', key, obj, old }));
  informer.on('delete', (key, obj) => void events.push({ type: 'delete', key, obj }));
  informer.on('error', (err) => void errors.push(err));
  onTestFinished(() => informer.stop());
  informer.start();
  return { informer, events, errors, states };
}

/** Waits (at most 20 s) for the informer's first complete LIST. */
export async function synced(informer: { waitForSync(signal?: AbortSignal): Promise<void> }): Promise<void> {
  await informer.waitForSync(AbortSignal.timeout(20_000));
}

/** `add ns/name`, `update ns/name`, ...: deliveries as comparable lines. */
export const summary = <T>(events: Array<Delivered<T>>): string[] => events.map((e) => `${e.type} ${e.key}`);
