import { ByteReader, WireFormatError, uint, vector } from './bytes.js';

// TLS record layer (RFC 5246 §6.2): type, legacy version, length, fragment.

export const CONTENT_TYPE = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23, heartbeat: 24 } as const;
export const HANDSHAKE_TYPE = { clientHello: 1, serverHello: 2, certificate: 11, serverKeyExchange: 12, serverHelloDone: 14 } as const;

/** A fragment longer than this is not TLS (2^14 plus the most expansion RFC 5246 allows). */
export const MAX_RECORD_LENGTH = 2 ** 14 + 2048;
const RECORD_HEADER = 5;

export interface TlsRecord {
  type: number;
  version: number;
  fragment: Buffer;
}

export function encodeRecord(type: number, version: number, fragment: Uint8Array): Buffer {
  return Buffer.concat([uint(type, 1), uint(version, 2), vector(fragment, 2)]);
}

/** A handshake message: type and 24-bit length (RFC 5246 §7.4). */
export function encodeHandshake(type: number, body: Uint8Array): Buffer {
  return Buffer.concat([uint(type, 1), vector(body, 3)]);
}

export type RecordSplit =
  | { kind: 'records'; records: TlsRecord[]; /** bytes of a record not yet complete */ partial: number }
  | { kind: 'malformed'; reason: string };

function isContentType(type: number): boolean {
  return type >= CONTENT_TYPE.changeCipherSpec && type <= CONTENT_TYPE.heartbeat;
}

/**
 * The complete records at the start of `bytes`. Anything that cannot be the
 * start of a TLS record (an HTTP answer, an SSLv2 record, a huge length) is
 * malformed; an incomplete last record is left for more bytes to arrive.
 */
export function splitRecords(bytes: Uint8Array): RecordSplit {
  const records: TlsRecord[] = [];
  const reader = new ByteReader(bytes);
  try {
    while (reader.remaining > 0) {
      const start = reader.position;
      const type = bytes[start] ?? 0;
      if (!isContentType(type)) {
        const printable = Buffer.from(bytes.subarray(start, start + 8)).toString('latin1').replace(/[^\x20-\x7e]/g, '.');
        return { kind: 'malformed', reason: `not a TLS record: starts with 0x${type.toString(16).padStart(2, '0')} ("${printable}")` };
      }
      if (reader.remaining < RECORD_HEADER) return { kind: 'records', records, partial: reader.remaining };
      reader.uint(1, 'record type');
      const version = reader.uint(2, 'record version');
      const length = reader.uint(2, 'record length');
      if (version >> 8 !== 3) return { kind: 'malformed', reason: `record version 0x${version.toString(16)} is not SSL 3.0/TLS` };
      if (length > MAX_RECORD_LENGTH) return { kind: 'malformed', reason: `record length ${length} exceeds ${MAX_RECORD_LENGTH}` };
      if (reader.remaining < length) return { kind: 'records', records, partial: reader.remaining + RECORD_HEADER };
      records.push({ type, version, fragment: reader.take(length, 'record fragment') });
    }
    return { kind: 'records', records, partial: 0 };
  } catch (error) {
    if (error instanceof WireFormatError) return { kind: 'malformed', reason: error.message };
    throw error;
  }
}
