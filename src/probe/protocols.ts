import type { SecureVersion } from 'node:tls';

// Protocol versions the prober knows, oldest first. SSL 2.0 is not probed:
// its ClientHello has a different record format and no server this project
// meets still speaks it.

export const PROTOCOL_VERSIONS = ['SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];

/** The version as it travels in ClientHello/ServerHello (RFC 5246 §6.2.1, RFC 8446 §4.2.1). */
export const WIRE_VERSION: Readonly<Record<ProtocolVersion, number>> = {
  SSLv3: 0x0300,
  'TLSv1.0': 0x0301,
  'TLSv1.1': 0x0302,
  'TLSv1.2': 0x0303,
  'TLSv1.3': 0x0304,
};

/** node:tls names (minVersion/maxVersion); SSLv3 has none: node's OpenSSL cannot speak it. */
export const NODE_VERSION: Readonly<Record<ProtocolVersion, SecureVersion | undefined>> = {
  SSLv3: undefined,
  'TLSv1.0': 'TLSv1',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};

/** The versions a hand-built ClientHello can test (TLS 1.3 needs a real key share, so node:tls does it). */
export const RAW_PROTOCOL_VERSIONS: readonly ProtocolVersion[] = ['SSLv3', 'TLSv1.0', 'TLSv1.1', 'TLSv1.2'];

export function protocolOfWireVersion(wire: number): ProtocolVersion | undefined {
  return PROTOCOL_VERSIONS.find((v) => WIRE_VERSION[v] === wire);
}

/** node's getProtocol() answer ('TLSv1', 'TLSv1.2', ...) as a ProtocolVersion. */
export function protocolOfNodeName(name: string | null): ProtocolVersion | undefined {
  if (name === 'TLSv1') return 'TLSv1.0';
  return PROTOCOL_VERSIONS.find((v) => v === name);
}

export function isOlderThan(a: ProtocolVersion, b: ProtocolVersion): boolean {
  return PROTOCOL_VERSIONS.indexOf(a) < PROTOCOL_VERSIONS.indexOf(b);
}
