import { realClock } from '../clock.js';
import { retryingClient } from './retrying-client.js';

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

/** The client with each method retried (at once, up to `attempts` calls) on transport failures. */
export function retryOnTransportErrors<T extends object>(client: T, attempts = 3): T {
  return retryingClient(client, (err, attempt) => (attempt < attempts && isTransportError(err) ? 0 : undefined), realClock);
}
