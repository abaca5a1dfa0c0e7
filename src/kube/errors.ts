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

/**
 * What kind of failure an API error is, by its HTTP status: the one
 * classification every caller uses. `ClientFault` is a refusal caused by
 * what we sent (400, 403, 422 …) that the user can see and fix; Conflict and
 * TooManyRequests are worth retrying as they are.
 */
export type ApiErrorKind = 'NotFound' | 'Conflict' | 'Gone' | 'TooManyRequests' | 'ClientFault' | 'ServerError' | 'NoStatus';

export function apiErrorKind(err: unknown): ApiErrorKind {
  const code = statusCodeOf(err);
  if (code === undefined) return 'NoStatus';
  if (code === 404) return 'NotFound';
  if (code === 409) return 'Conflict';
  if (code === 410) return 'Gone';
  if (code === 429) return 'TooManyRequests';
  if (code >= 400 && code < 500) return 'ClientFault';
  return 'ServerError';
}

/** A refusal the user can act on (see ApiErrorKind): report it, do not just retry. */
export const isClientFault = (err: unknown): boolean => apiErrorKind(err) === 'ClientFault';

/** Retry-After of a 429/503 answer, in ms, when the error carries the response headers. */
export function retryAfterMs(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('headers' in err)) return undefined;
  const headers = (err as { headers?: unknown }).headers;
  const entry = typeof headers === 'object' && headers !== null ? Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after') : undefined;
  const raw: unknown = entry?.[1];
  const seconds = typeof raw === 'string' ? Number(raw) : undefined;
  return seconds !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
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
  statusCodeOf(err) === 403 && (statusBody(err)?.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating');

/** The Status object the API server answered with, when the error carries one. */
interface StatusBody {
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string; field?: string }[] };
}

function statusBody(err: unknown): StatusBody | undefined {
  if (typeof err !== 'object' || err === null || !('body' in err)) return undefined;
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return typeof body === 'object' && body !== null ? body : undefined;
}

/**
 * The server's own words for a failure: the `message` of the Status body when
 * there is one (ApiException keeps it in `body`, sometimes still as a JSON
 * string), else the error's message.
 */
export function apiErrorMessage(err: unknown): string {
  const message = statusBody(err)?.message;
  if (typeof message === 'string' && message !== '') return message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Normalises anything thrown into an Error without losing the original. */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
