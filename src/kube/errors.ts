// One place that knows how the different request paths report HTTP failures:
// the generated API classes throw ApiException (`code`), client-node's Watch
// sets `statusCode`, and our own raw requests throw KubeRequestError (`status`).
// Callers only ask "which status code was it?".

/** A failed request to the API server, with the Status reason and message it returned. */
export class KubeRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'KubeRequestError';
  }
}

function numberField(value: unknown, field: string): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v: unknown = (value as Record<string, unknown>)[field];
  return typeof v === 'number' && Number.isInteger(v) ? v : undefined;
}

/** The HTTP status code carried by an API error, if any. */
export function statusCodeOf(err: unknown): number | undefined {
  return numberField(err, 'status') ?? numberField(err, 'code') ?? numberField(err, 'statusCode');
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;
export const isGone = (err: unknown): boolean => statusCodeOf(err) === 410;

/**
 * The namespace is being deleted, so nothing new may be created in it (403
 * with cause NamespaceTerminating). Not a permission problem: whatever was to
 * be written there is going away with it.
 */
export const isNamespaceTerminating = (err: unknown): boolean =>
  statusCodeOf(err) === 403 && /because it is being terminated|NamespaceTerminating/.test(apiErrorMessage(err));

/**
 * The server's own words for a failure: the `message` of the Status body when
 * there is one (ApiException keeps it in `body`, sometimes still as a JSON
 * string), else the error's message.
 */
export function apiErrorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'body' in err) {
    let body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // not JSON: fall through to the error message
      }
    }
    if (typeof body === 'object' && body !== null) {
      const message: unknown = (body as Record<string, unknown>).message;
      if (typeof message === 'string' && message !== '') return message;
    }
  }
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Normalises anything thrown into an Error without losing the original. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
