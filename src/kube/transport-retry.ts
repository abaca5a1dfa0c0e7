// Kubernetes API calls of the ACME parts are repeated (up to three times, at
// once) when the connection failed under them rather than the API server
// refusing: node-fetch 2 reports "Premature close" for a chunked answer that
// arrived whole when a kept-alive socket is reused, and a reset connection is
// just as harmless to repeat. Every call the ACME parts make is a read, a
// merge patch, a delete or a create whose 409 they expect, so repeating is safe.

const TRANSIENT = /Premature close|ECONNRESET|socket hang up|EPIPE/;

function isTransportError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE' || TRANSIENT.test(e.message)) return true;
  }
  return false;
}

/** The client with each method retried on transport failures. */
export function retryOnTransportErrors<T extends object>(client: T, attempts = 3): T {
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
            if (attempt >= attempts || !isTransportError(err)) throw err;
          }
        }
      };
    },
  });
}
