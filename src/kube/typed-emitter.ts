// A minimal event emitter whose event names and argument lists are checked by
// the compiler, and whose emit can await async listeners (the informer must
// know a handler finished before it updates its cache).

export type EventMap = Record<string, unknown[]>;
export type Listener<Args extends unknown[]> = (...args: Args) => void | Promise<void>;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners: { [K in keyof E]?: Set<Listener<E[K]>> } = {};

  /** Subscribes; returns a function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const set = this.listeners[event] ?? new Set<Listener<E[K]>>();
    this.listeners[event] = set;
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners[event]?.size ?? 0;
  }

  /**
   * Calls every listener (sync or async) and waits for all of them. Rejects
   * with the first failure, after every listener has had its turn.
   */
  protected async emitAndWait<K extends keyof E>(event: K, ...args: E[K]): Promise<void> {
    const set = this.listeners[event];
    if (set === undefined || set.size === 0) return;
    const results = await Promise.allSettled(
      [...set].map(async (listener) => listener(...args)),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * Fire-and-forget notification: listener failures are reported to
   * `onListenerError` and never reach the emitter's own control flow.
   */
  protected emitQuietly<K extends keyof E>(event: K, onListenerError: (err: unknown) => void, ...args: E[K]): void {
    const set = this.listeners[event];
    if (set === undefined) return;
    for (const listener of set) {
      try {
        const result = listener(...args);
        if (result instanceof Promise) result.catch(onListenerError);
      } catch (err) {
        onListenerError(err);
      }
    }
  }
}
