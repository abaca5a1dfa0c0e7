import { createHash } from 'node:crypto';

// ACME Renewal Information (RFC 9773): the CertID that names a certificate
// to the CA, when inside the CA's window to renew, and how long to wait
// before asking again.

/** CertID (RFC 9773 4.1): base64url(AKI keyIdentifier) "." base64url(DER serial value octets). */
export function ariCertId(authorityKeyIdHex: string, serialHex: string): string {
  const aki = Buffer.from(authorityKeyIdHex, 'hex');
  let serial = Buffer.from(serialHex.length % 2 === 1 ? `0${serialHex}` : serialHex, 'hex');
  // The INTEGER's content octets: a leading zero keeps a high-bit serial positive.
  if (serial.length === 0 || (serial[0] ?? 0) >= 0x80) serial = Buffer.concat([Buffer.from([0]), serial]);
  return `${aki.toString('base64url')}.${serial.toString('base64url')}`;
}

/**
 * A time inside [start, end) chosen uniformly but stably per certificate
 * (the same seed and window always give the same time, so a restart does not
 * move it), in whole seconds.
 */
export function renewalTimeInWindow(start: Date, end: Date, seed: string): Date {
  const fraction = createHash('sha256').update(`ari:${seed}`).digest().readUInt32BE(0) / 0x1_0000_0000;
  const at = start.getTime() + fraction * (end.getTime() - start.getTime());
  return new Date(Math.max(start.getTime(), Math.floor(at / 1000) * 1000));
}

export interface AriPollBounds {
  minMs: number;
  maxMs: number;
}

/** RFC 9773 4.3: honour Retry-After, clamped to sane limits (by default one minute to one day). */
export function nextRenewalInfoFetch(now: number, retryAfterMs: number | undefined, bounds: AriPollBounds): number {
  const max = Math.max(1, bounds.maxMs);
  const min = Math.min(bounds.minMs, max);
  const wanted = retryAfterMs ?? max;
  return now + Math.min(max, Math.max(min, wanted));
}
