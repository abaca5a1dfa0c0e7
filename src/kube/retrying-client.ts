import { sleep, type Clock } from '../clock.js';

/**
 * How long to wait before calling again after the `attempt`-th call failed
 * with `err` (0: at once), or undefined to give up and throw it.
 */
export type RetryPolicy = (err: unknown, attempt: number) => number | undefined;

/** The client with every method called again, as `policy` says, when it fails. */
export function retryingClient<T extends object>(client: T, policy: RetryPolicy, clock: Clock): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]): Promise<unknown> => {
        for (let attempt = 1; ; attempt++) {
          try {
            const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args);
            return result;
          } catch (err) {
            const delay = policy(err, attempt);
            if (delay === undefined) throw err;
            if (delay > 0) await sleep(clock, delay);
          }
        }
      };
    },
  });
}
