import { alertName } from './alerts.js';
import { ByteReader, WireFormatError, uint, vector } from './bytes.js';
import { EXTENSION, encodeExtensions, readExtensions, type Extension } from './extensions.js';
import { CONTENT_TYPE, HANDSHAKE_TYPE, encodeHandshake, encodeRecord, splitRecords } from './records.js';

// What a server answers to a ClientHello: a ServerHello (RFC 5246 §7.4.1.3)
// naming the version and suite it chose, or an alert. Nothing after the
// ServerHello is needed to know whether the offer was accepted.

export interface ServerHello {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuite: number;
  compressionMethod: number;
  /** undefined: the server sent no extensions block. */
  extensions: Extension[] | undefined;
}

export type ServerResponse =
  | { kind: 'server-hello'; recordVersion: number; hello: ServerHello }
  | { kind: 'alert'; level: number; description: number; name: string }
  | { kind: 'incomplete' }
  | { kind: 'malformed'; reason: string };

export function encodeServerHello(hello: ServerHello, recordVersion: number): Buffer {
  const body = Buffer.concat([
    uint(hello.version, 2),
    hello.random,
    vector(hello.sessionId, 1),
    uint(hello.cipherSuite, 2),
    uint(hello.compressionMethod, 1),
    hello.extensions === undefined ? Buffer.alloc(0) : encodeExtensions(hello.extensions),
  ]);
  return encodeRecord(CONTENT_TYPE.handshake, recordVersion, encodeHandshake(HANDSHAKE_TYPE.serverHello, body));
}

function parseServerHello(body: Buffer): ServerHello {
  const reader = new ByteReader(body);
  const version = reader.uint(2, 'server_version');
  const random = reader.take(32, 'random');
  const sessionId = reader.vector(1, 'session_id');
  if (sessionId.length > 32) throw new WireFormatError(`session_id of ${sessionId.length} bytes`);
  const cipherSuite = reader.uint(2, 'cipher_suite');
  const compressionMethod = reader.uint(1, 'compression_method');
  const extensions = reader.remaining > 0 ? readExtensions(reader, 'ServerHello') : undefined;
  if (reader.remaining > 0) throw new WireFormatError(`${reader.remaining} byte(s) after the ServerHello extensions`);
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}

/**
 * Reads the first answer in `bytes`: the ServerHello (handshake messages may
 * be split over records or share one), or an alert. `incomplete` asks for
 * more bytes. Never throws, whatever the bytes.
 */
export function decodeServerResponse(bytes: Uint8Array): ServerResponse {
  const split = splitRecords(bytes);
  if (split.kind === 'malformed') return split;
  let handshake = Buffer.alloc(0);
  try {
    for (const record of split.records) {
      if (record.type === CONTENT_TYPE.alert) {
        if (record.fragment.length < 2) return { kind: 'malformed', reason: `alert record of ${record.fragment.length} byte(s)` };
        const level = record.fragment[0] ?? 0;
        const description = record.fragment[1] ?? 0;
        return { kind: 'alert', level, description, name: alertName(description) };
      }
      if (record.type !== CONTENT_TYPE.handshake) {
        return { kind: 'malformed', reason: `expected a handshake or alert record, got content type ${record.type}` };
      }
      handshake = Buffer.concat([handshake, record.fragment]);
      if (handshake.length < 4) continue;
      const type = handshake[0] ?? 0;
      if (type !== HANDSHAKE_TYPE.serverHello) return { kind: 'malformed', reason: `expected ServerHello, got handshake type ${type}` };
      const length = handshake.readUIntBE(1, 3);
      if (handshake.length < 4 + length) continue;
      return { kind: 'server-hello', recordVersion: record.version, hello: parseServerHello(handshake.subarray(4, 4 + length)) };
    }
  } catch (error) {
    if (error instanceof WireFormatError) return { kind: 'malformed', reason: error.message };
    throw error;
  }
  return { kind: 'incomplete' };
}

/** True when the ServerHello carries renegotiation_info (RFC 5746 secure renegotiation). */
export function supportsSecureRenegotiation(hello: ServerHello): boolean {
  return hello.extensions?.some((e) => e.type === EXTENSION.renegotiationInfo) ?? false;
}

/** True when the ServerHello carries extended_master_secret (RFC 7627). */
export function supportsExtendedMasterSecret(hello: ServerHello): boolean {
  return hello.extensions?.some((e) => e.type === EXTENSION.extendedMasterSecret) ?? false;
}

/** True when the ServerHello carries the heartbeat extension (RFC 6520). */
export function negotiatesHeartbeat(hello: ServerHello): boolean {
  return hello.extensions?.some((e) => e.type === EXTENSION.heartbeat) ?? false;
}

/** RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello with this random (SHA-256 of "HelloRetryRequest"). */
const HELLO_RETRY_REQUEST_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

export function isHelloRetryRequest(hello: ServerHello): boolean {
  return hello.random.equals(HELLO_RETRY_REQUEST_RANDOM);
}

function extensionData(hello: ServerHello, type: number): Buffer | undefined {
  return hello.extensions?.find((e) => e.type === type)?.data;
}

/** The version the server chose: supported_versions when present (TLS 1.3, RFC 8446 §4.2.1), else server_version. */
export function selectedVersion(hello: ServerHello): number {
  const data = extensionData(hello, EXTENSION.supportedVersions);
  return data !== undefined && data.length === 2 ? data.readUInt16BE(0) : hello.version;
}

/** The group of the ServerHello's (or HelloRetryRequest's) key_share, when it carries one (RFC 8446 §4.2.8). */
export function keyShareGroup(hello: ServerHello): number | undefined {
  const data = extensionData(hello, EXTENSION.keyShare);
  return data !== undefined && data.length >= 2 ? data.readUInt16BE(0) : undefined;
}

/**
 * The key_share of a ServerHello (group and length of the server's share) or
 * of a HelloRetryRequest (the group asked for, length 0): RFC 8446 §4.2.8.
 */
export function keyShareEntryOf(hello: ServerHello): { group: number; length: number } | undefined {
  const data = extensionData(hello, EXTENSION.keyShare);
  if (data === undefined || data.length < 2) return undefined;
  const group = data.readUInt16BE(0);
  if (isHelloRetryRequest(hello)) return { group, length: 0 };
  return data.length >= 4 ? { group, length: data.readUInt16BE(2) } : undefined;
}
