import { ByteReader, WireFormatError, uint, uint16List, vector } from './bytes.js';
import {
  EXTENSION,
  PROBE_GROUPS,
  PROBE_SIGNATURE_SCHEMES,
  ecPointFormatsExtension,
  emptyExtension,
  encodeExtensions,
  keyShareExtension,
  paddingExtension,
  readExtensions,
  renegotiationInfoExtension,
  serverNameExtension,
  signatureAlgorithmsExtension,
  supportedGroupsExtension,
  supportedVersionsExtension,
  type Extension,
  type KeyShareEntry,
} from './extensions.js';
import { CONTENT_TYPE, HANDSHAKE_TYPE, encodeHandshake, encodeRecord, splitRecords } from './records.js';

// The ClientHello (RFC 5246 §7.4.1.2) a scanner sends to learn whether one
// version or one suite is accepted: it offers exactly what is asked, plus the
// extensions a real client sends so the server has no other reason to refuse.

export interface ClientHello {
  /** Record-layer version; 0x0301 for TLS probes (what most clients send), 0x0300 for SSL 3.0. */
  recordVersion: number;
  /** client_version. */
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuites: number[];
  compressionMethods: number[];
  /** undefined: no extensions block at all (SSL 3.0 style). */
  extensions: Extension[] | undefined;
}

const WIRE_SSL3 = 0x0300;
const WIRE_TLS10 = 0x0301;
const WIRE_TLS12 = 0x0303;

export function encodeClientHello(hello: ClientHello): Buffer {
  if (hello.random.length !== 32) throw new RangeError(`ClientHello random must be 32 bytes, got ${hello.random.length}`);
  if (hello.sessionId.length > 32) throw new RangeError(`session id must be at most 32 bytes, got ${hello.sessionId.length}`);
  if (hello.cipherSuites.length === 0) throw new RangeError('a ClientHello offers at least one cipher suite');
  const body = Buffer.concat([
    uint(hello.version, 2),
    hello.random,
    vector(hello.sessionId, 1),
    vector(uint16List(hello.cipherSuites), 2),
    vector(Buffer.from(hello.compressionMethods), 1),
    hello.extensions === undefined ? Buffer.alloc(0) : encodeExtensions(hello.extensions),
  ]);
  return encodeRecord(CONTENT_TYPE.handshake, hello.recordVersion, encodeHandshake(HANDSHAKE_TYPE.clientHello, body));
}

export type DecodedClientHello = { kind: 'client-hello'; hello: ClientHello } | { kind: 'incomplete' } | { kind: 'malformed'; reason: string };

/** Parses one ClientHello record (what a server reads). Never throws. */
export function decodeClientHello(bytes: Uint8Array): DecodedClientHello {
  const split = splitRecords(bytes);
  if (split.kind === 'malformed') return split;
  const [record] = split.records;
  if (record === undefined) return { kind: 'incomplete' };
  if (record.type !== CONTENT_TYPE.handshake) return { kind: 'malformed', reason: `expected a handshake record, got type ${record.type}` };
  try {
    const message = new ByteReader(record.fragment);
    const type = message.uint(1, 'handshake type');
    if (type !== HANDSHAKE_TYPE.clientHello) return { kind: 'malformed', reason: `expected ClientHello, got handshake type ${type}` };
    const body = new ByteReader(message.vector(3, 'ClientHello'));
    const version = body.uint(2, 'client_version');
    const random = body.take(32, 'random');
    const sessionId = body.vector(1, 'session_id');
    if (sessionId.length > 32) return { kind: 'malformed', reason: `session_id of ${sessionId.length} bytes` };
    const suites = body.vector(2, 'cipher_suites');
    if (suites.length % 2 !== 0) return { kind: 'malformed', reason: 'odd cipher_suites length' };
    const cipherSuites = Array.from({ length: suites.length / 2 }, (_, i) => suites.readUInt16BE(2 * i));
    const compressionMethods = [...body.vector(1, 'compression_methods')];
    const extensions = body.remaining > 0 ? readExtensions(body, 'ClientHello') : undefined;
    if (body.remaining > 0) return { kind: 'malformed', reason: `${body.remaining} byte(s) after the extensions` };
    return { kind: 'client-hello', hello: { recordVersion: record.version, version, random, sessionId, cipherSuites, compressionMethods, extensions } };
  } catch (error) {
    if (error instanceof WireFormatError) return { kind: 'malformed', reason: error.message };
    throw error;
  }
}

export interface ProbeHelloRequest {
  /** client_version: 0x0300 (SSL 3.0) to 0x0303 (TLS 1.2). */
  version: number;
  cipherSuites: readonly number[];
  /** SNI; left out when empty or an IP address. */
  serverName?: string;
  random: Buffer;
  /** Offer the heartbeat extension (RFC 6520), peer_allowed_to_send: for the Heartbleed check. */
  heartbeat?: boolean;
}

/** Lengths a few middleboxes mishandle (RFC 7685 §3): pad such a hello to 512 bytes. */
const PAD_FROM = 256;
const PAD_TO = 512;
const EXTENSION_HEADER = 4;
/** record header (5) + handshake header (4). */
const HELLO_OVERHEAD = 9;

/**
 * The hello a probe sends. TLS hellos carry SNI, groups, point formats,
 * signature schemes (TLS 1.2), secure-renegotiation, extended master secret
 * and session ticket extensions, like a browser's; SSL 3.0 hellos carry none.
 */
export function probeClientHello(request: ProbeHelloRequest): ClientHello {
  const ssl3 = request.version === WIRE_SSL3;
  const hello: ClientHello = {
    recordVersion: ssl3 ? WIRE_SSL3 : WIRE_TLS10,
    version: request.version,
    random: request.random,
    sessionId: Buffer.alloc(0),
    cipherSuites: [...request.cipherSuites],
    compressionMethods: [0],
    extensions: undefined,
  };
  if (ssl3) return hello;
  const extensions: Extension[] = [];
  const sni = request.serverName === undefined ? undefined : serverNameExtension(request.serverName);
  if (sni !== undefined) extensions.push(sni);
  extensions.push(supportedGroupsExtension(PROBE_GROUPS), ecPointFormatsExtension());
  if (request.version >= WIRE_TLS12) extensions.push(signatureAlgorithmsExtension(PROBE_SIGNATURE_SCHEMES));
  extensions.push(emptyExtension(EXTENSION.extendedMasterSecret), emptyExtension(EXTENSION.sessionTicket), renegotiationInfoExtension());
  if (request.heartbeat === true) extensions.push({ type: EXTENSION.heartbeat, data: Buffer.from([1]) });
  hello.extensions = extensions;
  return padded(hello);
}

function padded(hello: ClientHello): ClientHello {
  const length = encodeClientHello(hello).length - HELLO_OVERHEAD;
  if (hello.extensions !== undefined && length >= PAD_FROM && length < PAD_TO) {
    hello.extensions.push(paddingExtension(Math.max(0, PAD_TO - length - EXTENSION_HEADER)));
  }
  return hello;
}

export interface Tls13HelloRequest {
  cipherSuites: readonly number[];
  /** Key shares; by default also the groups offered (supported_groups). */
  keyShares: readonly KeyShareEntry[];
  /** supported_groups when it lists more than the shares (a server may then ask for a retry with one of the others). */
  groups?: readonly number[];
  serverName?: string;
  random: Buffer;
  /** RFC 8446 §4.1.2: a 32-byte legacy_session_id, as clients in middlebox-compatibility mode send. */
  sessionId: Buffer;
}

const WIRE_TLS13 = 0x0304;

/**
 * A TLS 1.3-only hello (RFC 8446 §4.1.2): legacy version TLS 1.2,
 * supported_versions naming only TLS 1.3, and a key share for every group
 * offered (unless `groups` lists more), so a server that accepts answers with
 * its ServerHello at once (never a HelloRetryRequest). Only the ServerHello is read, so the shares
 * need not come from a private key we hold.
 */
export function tls13ProbeClientHello(request: Tls13HelloRequest): ClientHello {
  const extensions: Extension[] = [];
  const sni = request.serverName === undefined ? undefined : serverNameExtension(request.serverName);
  if (sni !== undefined) extensions.push(sni);
  extensions.push(
    supportedGroupsExtension(request.groups ?? request.keyShares.map((k) => k.group)),
    signatureAlgorithmsExtension(PROBE_SIGNATURE_SCHEMES),
    supportedVersionsExtension([WIRE_TLS13]),
    keyShareExtension(request.keyShares),
  );
  return padded({
    recordVersion: WIRE_TLS10,
    version: WIRE_TLS12,
    random: request.random,
    sessionId: request.sessionId,
    cipherSuites: [...request.cipherSuites],
    compressionMethods: [0],
    extensions,
  });
}
