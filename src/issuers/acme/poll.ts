// How soon to look again at an order or authorization the CA is working on
// (RFC 8555 7.5.1, 7.4): after telling it to validate a challenge or to
// finalize. A CA may finish in milliseconds (Pebble with PEBBLE_VA_NOSLEEP,
// a private CA) or in seconds (Let's Encrypt validates from several
// locations), so the first look is soon and the gaps then double: polls at
// about 50, 100, 200, 400, 800 ms, 1.6, 3.2, 6.4 s after the request, then
// every 10 s. Against a CA that takes 3 s that is 6 polls, not the 12 a fixed
// 250 ms gap would make. A Retry-After on the last answer is a floor: never
// polled sooner (RFC 8555 8.2 says a client SHOULD honour it); longer than
// five minutes is taken as five minutes, so a broken header cannot park an
// issuance for a day.

/** The first look after the request. */
export const POLL_FIRST_MS = 50;
/** The longest gap of our own schedule. */
export const POLL_MAX_MS = 10_000;
/** A Retry-After beyond this is capped to it. */
export const POLL_RETRY_AFTER_CAP_MS = 300_000;

/**
 * The wait before the next poll, given how long ago the request that started
 * the wait was made (`elapsedMs`) and the CA's Retry-After on its last answer.
 * Waiting as long as has already passed doubles the gaps without a counter,
 * so a restart (which forgets `elapsedMs`) only begins again at the short end.
 */
export function nextPollDelay(elapsedMs: number, retryAfterMs?: number): number {
  const own = Math.min(Math.max(POLL_FIRST_MS, Number.isFinite(elapsedMs) ? elapsedMs : 0), POLL_MAX_MS);
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return own;
  return Math.max(own, Math.min(retryAfterMs, POLL_RETRY_AFTER_CAP_MS));
}
