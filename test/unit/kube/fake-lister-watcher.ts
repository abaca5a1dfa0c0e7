// A scripted API server for informer tests: LIST pages over an in-memory
// collection, and WATCH streams the test pushes events into.

import { pino } from 'pino';
import { KubeRequestError } from '../../../src/kube/errors.js';
import type { KubeObject, ListerWatcher, ListPage, ListRequest, WatchEvent, WatchRequest } from '../../../src/kube/lister-watcher.js';

export const silentLog = pino({ level: 'silent' });

export interface TestObject extends KubeObject {
  metadata: { name: string; namespace?: string; resourceVersion: string };
  data?: string;
}

export function obj(name: string, resourceVersion: string, namespace = 'default', data?: string): TestObject {
  return { kind: 'Thing', metadata: { name, namespace, resourceVersion }, ...(data === undefined ? {} : { data }) };
}

export const gone = (): KubeRequestError => new KubeRequestError('410 Expired: too old resource version', 410, 'Expired');
export const serverError = (): KubeRequestError => new KubeRequestError('500 InternalError', 500, 'InternalError');

type StreamItem<T> = { kind: 'event'; event: WatchEvent<T> } | { kind: 'end' } | { kind: 'error'; error: Error };

export class FakeWatchStream<T> {
  private readonly buffer: StreamItem<T>[] = [];
  private wake: (() => void) | undefined;
  closed = false;

  constructor(
    readonly request: WatchRequest,
    readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.wake?.());
  }

  push(...events: WatchEvent<T>[]): void {
    for (const event of events) this.buffer.push({ kind: 'event', event });
    this.wake?.();
  }

  /** The server closes the stream cleanly (its timeoutSeconds elapsed). */
  end(): void {
    this.buffer.push({ kind: 'end' });
    this.wake?.();
  }

  fail(error: Error): void {
    this.buffer.push({ kind: 'error', error });
    this.wake?.();
  }

  async *events(): AsyncGenerator<WatchEvent<T>> {
    try {
      for (;;) {
        if (this.signal.aborted) throw new Error('watch aborted', { cause: this.signal.reason });
        const item = this.buffer.shift();
        if (item === undefined) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          this.wake = undefined;
          continue;
        }
        if (item.kind === 'end') return;
        if (item.kind === 'error') throw item.error;
        yield item.event;
      }
    } finally {
      this.closed = true;
    }
  }
}

export class FakeListerWatcher<T extends KubeObject> implements ListerWatcher<T> {
  objects: T[] = [];
  collectionResourceVersion = '100';
  readonly listCalls: ListRequest[] = [];
  readonly watchCalls: Array<{ request: WatchRequest; at: number }> = [];
  readonly streams: FakeWatchStream<T>[] = [];
  /** Errors thrown by the next watch calls, in order, before any stream opens. */
  readonly watchErrors: Error[] = [];
  /** Runs before each LIST page; throw from it to fail the call. */
  onList: ((request: ListRequest) => void) | undefined;

  constructor(private readonly now: () => number = () => 0) {}

  list(request: ListRequest, _signal: AbortSignal): Promise<ListPage<T>> {
    this.listCalls.push(request);
    try {
      this.onList?.(request);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const start = request.continue === undefined ? 0 : Number(request.continue);
    const end = Math.min(start + request.limit, this.objects.length);
    const page: ListPage<T> = { items: this.objects.slice(start, end), resourceVersion: this.collectionResourceVersion };
    if (end < this.objects.length) page.continue = String(end);
    return Promise.resolve(page);
  }

  watch(request: WatchRequest, signal: AbortSignal): AsyncIterable<WatchEvent<T>> {
    this.watchCalls.push({ request, at: this.now() });
    const error = this.watchErrors.shift();
    if (error !== undefined) {
      return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
    }
    const stream = new FakeWatchStream<T>(request, signal);
    this.streams.push(stream);
    return stream.events();
  }

  /** The most recently opened watch stream. */
  stream(): FakeWatchStream<T> {
    const s = this.streams.at(-1);
    if (s === undefined) throw new Error('no watch stream has been opened');
    return s;
  }
}
