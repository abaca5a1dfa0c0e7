import { createHmac, timingSafeEqual } from 'node:crypto';
import { DnsWireError, RRClass, RRType, Reader, Writer, canonicalName, decodeMessage, encodeName, type ResourceRecord } from './wire.js';

// Transaction signatures (RFC 8945): a TSIG record appended to a message,
// whose MAC covers the message as it was before the record was added and the
// "TSIG variables". A response's MAC also covers the request's MAC.

export const TSIG_ALGORITHMS = {
  HMACMD5: { name: 'hmac-md5.sig-alg.reg.int', hash: 'md5' },
  HMACSHA1: { name: 'hmac-sha1', hash: 'sha1' },
  HMACSHA224: { name: 'hmac-sha224', hash: 'sha224' },
  HMACSHA256: { name: 'hmac-sha256', hash: 'sha256' },
  HMACSHA384: { name: 'hmac-sha384', hash: 'sha384' },
  HMACSHA512: { name: 'hmac-sha512', hash: 'sha512' },
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

export const TsigError = { NOERROR: 0, BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;
const TSIG_ERROR_NAMES: Record<number, string> = Object.fromEntries(Object.entries(TsigError).map(([k, v]) => [v, k]));
export const tsigErrorName = (code: number): string => TSIG_ERROR_NAMES[code] ?? `TSIG error ${code}`;

export interface TsigKey {
  /** The key's name as the server knows it. */
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret, decoded from its base64 text. Never logged. */
  secret: Buffer;
}

export interface TsigRecord {
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Uint8Array;
  originalId: number;
  error: number;
  otherData: Uint8Array;
}

export const DEFAULT_FUDGE_SECONDS = 300;

/** The TSIG variables of RFC 8945 4.3.3, in canonical form. */
export function tsigVariables(keyName: string, t: Omit<TsigRecord, 'mac' | 'originalId'>): Uint8Array {
  return new Writer()
    .name(keyName, true)
    .u16(RRClass.ANY)
    .u32(0)
    .name(t.algorithm, true)
    .u48(t.timeSigned)
    .u16(t.fudge)
    .u16(t.error)
    .u16(t.otherData.length)
    .bytes(t.otherData)
    .done();
}

export function encodeTsigRdata(t: TsigRecord): Uint8Array {
  return new Writer()
    .bytes(encodeName(t.algorithm, true))
    .u48(t.timeSigned)
    .u16(t.fudge)
    .u16(t.mac.length)
    .bytes(t.mac)
    .u16(t.originalId)
    .u16(t.error)
    .u16(t.otherData.length)
    .bytes(t.otherData)
    .done();
}

export function decodeTsigRdata(data: Uint8Array): TsigRecord {
  const r = new Reader(data);
  const algorithm = r.name();
  const timeSigned = r.u48();
  const fudge = r.u16();
  const mac = r.bytes(r.u16());
  const originalId = r.u16();
  const error = r.u16();
  const otherData = r.bytes(r.u16());
  if (r.offset !== data.length) throw new DnsWireError('TSIG RDATA has trailing octets');
  return { algorithm, timeSigned, fudge, mac, originalId, error, otherData };
}

function hmac(key: TsigKey, parts: readonly Uint8Array[]): Uint8Array {
  const h = createHmac(TSIG_ALGORITHMS[key.algorithm].hash, key.secret);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** Sets ARCOUNT (octets 10-11) of a message. */
function withArcount(message: Uint8Array, count: number): Uint8Array {
  const out = Uint8Array.from(message);
  out[10] = (count >>> 8) & 0xff;
  out[11] = count & 0xff;
  return out;
}

function arcount(message: Uint8Array): number {
  return ((message[10] ?? 0) << 8) | (message[11] ?? 0);
}

/**
 * Signs a complete, unsigned message: returns it with the TSIG record
 * appended and ARCOUNT incremented, and the MAC (a response is verified
 * against it).
 */
export function signMessage(message: Uint8Array, key: TsigKey, timeSignedSeconds: number, fudge = DEFAULT_FUDGE_SECONDS): { signed: Uint8Array; mac: Uint8Array } {
  if (message.length < 12) throw new DnsWireError('a DNS message has a 12-octet header');
  const t = { algorithm: TSIG_ALGORITHMS[key.algorithm].name, timeSigned: timeSignedSeconds, fudge, error: 0, otherData: new Uint8Array(0) };
  const mac = hmac(key, [message, tsigVariables(key.name, t)]);
  const originalId = ((message[0] ?? 0) << 8) | (message[1] ?? 0);
  const rr = new Writer()
    .name(canonicalName(key.name))
    .u16(RRType.TSIG)
    .u16(RRClass.ANY)
    .u32(0);
  const rdata = encodeTsigRdata({ ...t, mac, originalId });
  rr.u16(rdata.length).bytes(rdata);
  const body = withArcount(message, arcount(message) + 1);
  const signed = new Uint8Array(body.length + rr.length);
  signed.set(body, 0);
  signed.set(rr.done(), body.length);
  return { signed, mac };
}

export type TsigVerification =
  | { ok: true }
  | { ok: false; reason: string; tsigError?: number | undefined };

/** Offset where the last record of the additional section (the TSIG) starts. */
function lastRecordOffset(message: Uint8Array): number {
  const m = decodeMessage(message);
  const r = new Reader(message);
  r.offset = 12;
  for (let i = 0; i < m.questions.length; i++) {
    r.name();
    r.offset += 4;
  }
  const total = m.answers.length + m.authorities.length + m.additionals.length;
  let start = r.offset;
  for (let i = 0; i < total; i++) {
    start = r.offset;
    r.name();
    r.offset += 8;
    r.offset += r.u16();
  }
  return start;
}

/**
 * Checks a response's TSIG against the request's MAC (RFC 8945 5.3): same
 * key and algorithm, MAC over (request MAC, response without TSIG with its
 * original ID, variables), and time within fudge of `nowSeconds`.
 */
export function verifyResponse(response: Uint8Array, key: TsigKey, requestMac: Uint8Array, nowSeconds: number): TsigVerification {
  const m = decodeMessage(response);
  const last: ResourceRecord | undefined = m.additionals[m.additionals.length - 1];
  if (last === undefined || last.type !== RRType.TSIG) return { ok: false, reason: 'the response is not signed (no TSIG record)' };
  const t = decodeTsigRdata(last.data);
  if (t.error !== 0) return { ok: false, reason: `the server rejected the signature: ${tsigErrorName(t.error)}`, tsigError: t.error };
  if (canonicalName(last.name) !== canonicalName(key.name)) return { ok: false, reason: `the response is signed with key "${last.name}", not "${key.name}"` };
  if (canonicalName(t.algorithm) !== TSIG_ALGORITHMS[key.algorithm].name) return { ok: false, reason: `the response is signed with ${t.algorithm}` };
  const start = lastRecordOffset(response);
  const unsigned = withArcount(response.subarray(0, start), arcount(response) - 1);
  unsigned[0] = (t.originalId >>> 8) & 0xff;
  unsigned[1] = t.originalId & 0xff;
  const lengthPrefix = new Writer().u16(requestMac.length).done();
  const expected = hmac(key, [lengthPrefix, requestMac, unsigned, tsigVariables(key.name, t)]);
  if (expected.length !== t.mac.length || !timingSafeEqual(expected, t.mac)) return { ok: false, reason: 'the response MAC does not verify' };
  if (Math.abs(nowSeconds - t.timeSigned) > t.fudge) return { ok: false, reason: `the response was signed at ${t.timeSigned}, outside the fudge of ${t.fudge} s` };
  return { ok: true };
}

/** Decodes the base64 secret of a TSIG key (as tsig-keygen prints it). */
export function tsigKey(name: string, algorithm: TsigAlgorithm, secretBase64: string): TsigKey {
  const text = secretBase64.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new DnsWireError(`the TSIG secret of key "${name}" is not base64`);
  return { name, algorithm, secret: Buffer.from(text, 'base64') };
}
