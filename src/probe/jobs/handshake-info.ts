import type { TLSSocket } from 'node:tls';
import { NODE_VERSION, protocolOfNodeName, type ProtocolVersion } from '../protocols.js';
import type { HandshakeOptions } from './tls-handshake.js';

// Small readers shared by the jobs that complete a handshake.

/** The key exchange of a finished handshake: an ECDH group (name, bits) or a DH group (bits). */
export interface EphemeralKey {
  type: 'ECDH' | 'DH';
  /** OpenSSL group name for ECDH ('X25519', 'prime256v1'); undefined for finite-field DH. */
  name: string | undefined;
  /** Group size in bits (X25519 reports 253). */
  size: number;
}

export interface NegotiatedHandshake {
  protocol: ProtocolVersion | undefined;
  /** IANA name of the suite. */
  cipherSuite: string;
  ephemeralKey: EphemeralKey | undefined;
}

export function ephemeralKeyOf(socket: TLSSocket): EphemeralKey | undefined {
  const info: unknown = socket.getEphemeralKeyInfo();
  if (info === null || typeof info !== 'object' || !('type' in info) || !('size' in info)) return undefined;
  const { type, size } = info;
  if ((type !== 'ECDH' && type !== 'DH') || typeof size !== 'number') return undefined;
  const name = 'name' in info && typeof info.name === 'string' ? info.name : undefined;
  return { type, name, size };
}

export function negotiatedOf(socket: TLSSocket): NegotiatedHandshake {
  const cipher = socket.getCipher();
  return { protocol: protocolOfNodeName(socket.getProtocol()), cipherSuite: cipher.standardName, ephemeralKey: ephemeralKeyOf(socket) };
}

/** OpenSSL refuses TLS 1.0/1.1 (SHA-1 signatures) above security level 0; only those probes lower it. */
export const LEGACY_CIPHERS = 'DEFAULT:@SECLEVEL=0';

/** Handshake options pinning exactly `version` (SSL 3.0 is never handed to node). */
export function pinnedVersion(version: ProtocolVersion): HandshakeOptions {
  const name = NODE_VERSION[version];
  if (name === undefined) throw new Error(`node:tls cannot speak ${version}`);
  const legacy = version === 'TLSv1.0' || version === 'TLSv1.1';
  return { minVersion: name, maxVersion: name, ciphers: legacy ? LEGACY_CIPHERS : undefined };
}
