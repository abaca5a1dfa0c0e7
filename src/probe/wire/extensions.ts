import { isIP } from 'node:net';
import { ByteReader, uint, uint16List, vector } from './bytes.js';

// Hello extensions (RFC 6066, RFC 8422, RFC 5246 §7.4.1.4.1, RFC 5746,
// RFC 7627, RFC 5077, RFC 7685, RFC 8446 §4.2) and the values a prober offers.

export interface Extension {
  type: number;
  data: Buffer;
}

export const EXTENSION = {
  serverName: 0,
  supportedGroups: 10,
  ecPointFormats: 11,
  signatureAlgorithms: 13,
  heartbeat: 15,
  alpn: 16,
  padding: 21,
  extendedMasterSecret: 23,
  sessionTicket: 35,
  supportedVersions: 43,
  keyShare: 51,
  renegotiationInfo: 0xff01,
} as const;

/** Named groups (IANA TLS Supported Groups); finite-field groups are left out on purpose (RFC 7919 §4 lets a server refuse DHE when none of them matches). */
export const PROBE_GROUPS: readonly number[] = [
  29, // x25519
  23, // secp256r1
  24, // secp384r1
  25, // secp521r1
  30, // x448
  22, // secp256k1
  26, // brainpoolP256r1
  27, // brainpoolP384r1
  28, // brainpoolP512r1
  21, // secp224r1
  19, // secp192r1
];

/** Signature schemes, strongest first, down to SHA-1 and DSA so old servers still find one. */
export const PROBE_SIGNATURE_SCHEMES: readonly number[] = [
  0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b, 0x0401, 0x0501, 0x0601, 0x0303,
  0x0203, 0x0301, 0x0201, 0x0402, 0x0502, 0x0602, 0x0302, 0x0202,
];

export function encodeExtensions(extensions: readonly Extension[]): Buffer {
  return vector(Buffer.concat(extensions.map((e) => Buffer.concat([uint(e.type, 2), vector(e.data, 2)]))), 2);
}

/** Reads an extensions block (the 2-byte length included). Throws WireFormatError. */
export function readExtensions(reader: ByteReader, what: string): Extension[] {
  const block = new ByteReader(reader.vector(2, `${what} extensions`));
  const out: Extension[] = [];
  while (block.remaining > 0) {
    const type = block.uint(2, `${what} extension type`);
    out.push({ type, data: block.vector(2, `${what} extension ${type}`) });
  }
  return out;
}

/** server_name with one host_name; undefined for an IP literal, which RFC 6066 §3 forbids in SNI. */
export function serverNameExtension(name: string): Extension | undefined {
  if (name === '' || isIP(name) !== 0) return undefined;
  const entry = Buffer.concat([uint(0, 1), vector(Buffer.from(name, 'ascii'), 2)]);
  return { type: EXTENSION.serverName, data: vector(entry, 2) };
}

export function supportedGroupsExtension(groups: readonly number[]): Extension {
  return { type: EXTENSION.supportedGroups, data: vector(uint16List(groups), 2) };
}

export function ecPointFormatsExtension(): Extension {
  // uncompressed, ansiX962_compressed_prime, ansiX962_compressed_char2
  return { type: EXTENSION.ecPointFormats, data: vector(Buffer.from([0, 1, 2]), 1) };
}

export function signatureAlgorithmsExtension(schemes: readonly number[]): Extension {
  return { type: EXTENSION.signatureAlgorithms, data: vector(uint16List(schemes), 2) };
}

/** An initial handshake's renegotiation_info: an empty renegotiated_connection. */
export function renegotiationInfoExtension(): Extension {
  return { type: EXTENSION.renegotiationInfo, data: Buffer.from([0]) };
}

export function emptyExtension(type: number): Extension {
  return { type, data: Buffer.alloc(0) };
}

export function paddingExtension(length: number): Extension {
  return { type: EXTENSION.padding, data: Buffer.alloc(length) };
}

/** A ClientHello's supported_versions (RFC 8446 §4.2.1): a 1-byte-length list. */
export function supportedVersionsExtension(versions: readonly number[]): Extension {
  return { type: EXTENSION.supportedVersions, data: vector(uint16List(versions), 1) };
}

export interface KeyShareEntry {
  /** IANA named group. */
  group: number;
  keyExchange: Buffer;
}

/** A ClientHello's key_share (RFC 8446 §4.2.8). */
export function keyShareExtension(entries: readonly KeyShareEntry[]): Extension {
  return { type: EXTENSION.keyShare, data: vector(Buffer.concat(entries.map((e) => Buffer.concat([uint(e.group, 2), vector(e.keyExchange, 2)]))), 2) };
}
