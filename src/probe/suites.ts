import type { ProtocolVersion } from './protocols.js';
import { TLS12_AND_OLDER_ROWS, TLS13_ROWS, type SuiteRow } from './suite-catalogue.js';

export type KeyExchange = 'RSA' | 'DHE' | 'ECDHE' | 'DH' | 'ECDH' | 'TLS13';
export type Authentication = 'RSA' | 'ECDSA' | 'DSS' | 'anon' | 'TLS13';
export type CipherMode = 'AEAD' | 'CBC' | 'stream' | 'none';

export interface CipherSuite {
  /** IANA code point, e.g. 0xc02f. */
  id: number;
  /** IANA name, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256. */
  name: string;
  /** OpenSSL's name, e.g. ECDHE-RSA-AES128-GCM-SHA256 (TLS 1.3 suites use the IANA name). */
  openssl: string;
  tls13: boolean;
  keyExchange: KeyExchange;
  authentication: Authentication;
  /** Bulk cipher as in the IANA name: AES_128_GCM, 3DES_EDE_CBC, RC4_128, NULL... */
  cipher: string;
  mode: CipherMode;
  /** Effective symmetric strength in bits: 3DES counts 112 (SWEET32), NULL 0. */
  strengthBits: number;
  forwardSecrecy: boolean;
  aead: boolean;
  anonymous: boolean;
  /** An EXPORT suite (40/56-bit ciphers, 512-bit key exchange). */
  export: boolean;
  /** SHA-256/384 MACs and AEAD ciphers exist from TLS 1.2 on. */
  minVersion: ProtocolVersion;
}

const STRENGTH: readonly (readonly [prefix: string, bits: number])[] = [
  ['NULL', 0],
  ['RC4_40', 40],
  ['RC2_CBC_40', 40],
  ['DES40', 40],
  ['RC4_56', 56],
  ['DES_CBC', 56],
  ['3DES_EDE', 112],
  ['AES_128', 128],
  ['AES_256', 256],
  ['CHACHA20', 256],
  ['CAMELLIA_128', 128],
  ['CAMELLIA_256', 256],
  ['ARIA_128', 128],
  ['ARIA_256', 256],
  ['RC4_128', 128],
  ['SEED', 128],
  ['IDEA', 128],
];

const MACS = new Set(['SHA', 'SHA256', 'SHA384', 'MD5']);

function keyExchangeAndAuth(kx: string): [KeyExchange, Authentication] {
  const parts = kx.replace(/_EXPORT(1024)?$/, '').split('_');
  const [exchange, auth] = parts;
  const authentication: Authentication = auth === 'anon' ? 'anon' : auth === 'ECDSA' ? 'ECDSA' : auth === 'DSS' ? 'DSS' : 'RSA';
  switch (exchange) {
    case 'RSA':
      return ['RSA', 'RSA'];
    case 'DHE':
      return ['DHE', authentication];
    case 'ECDHE':
      return ['ECDHE', authentication];
    // Anonymous (EC)DH is ephemeral too, but unauthenticated.
    case 'DH':
      return [auth === 'anon' ? 'DHE' : 'DH', authentication];
    case 'ECDH':
      return [auth === 'anon' ? 'ECDHE' : 'ECDH', authentication];
    default:
      throw new Error(`cipher suite catalogue: unknown key exchange ${kx}`);
  }
}

function describe([id, name, openssl]: SuiteRow, tls13: boolean): CipherSuite {
  let kx: string;
  let cipherAndMac: string;
  if (tls13) {
    kx = 'TLS13';
    cipherAndMac = name.slice('TLS_'.length);
  } else {
    const match = /^TLS_(.+)_WITH_(.+)$/.exec(name);
    if (match?.[1] === undefined || match[2] === undefined) throw new Error(`cipher suite catalogue: cannot read ${name}`);
    [, kx, cipherAndMac] = match;
  }
  const parts = cipherAndMac.split('_');
  const mac = parts[parts.length - 1] ?? '';
  const cipher = MACS.has(mac) ? parts.slice(0, -1).join('_') : cipherAndMac;
  const aead = /GCM|CCM|POLY1305/.test(cipher);
  const mode: CipherMode = cipher === 'NULL' ? 'none' : aead ? 'AEAD' : cipher.startsWith('RC4') ? 'stream' : 'CBC';
  const strength = STRENGTH.find(([prefix]) => cipher.startsWith(prefix));
  if (strength === undefined) throw new Error(`cipher suite catalogue: unknown cipher in ${name}`);
  const [keyExchange, authentication] = tls13 ? (['TLS13', 'TLS13'] as const) : keyExchangeAndAuth(kx);
  const exported = kx.includes('EXPORT');
  return {
    id,
    name,
    openssl,
    tls13,
    keyExchange,
    authentication,
    cipher,
    mode,
    strengthBits: strength[1],
    forwardSecrecy: tls13 || keyExchange === 'DHE' || keyExchange === 'ECDHE',
    aead,
    anonymous: authentication === 'anon',
    export: exported,
    minVersion: tls13 ? 'TLSv1.3' : aead || mac === 'SHA256' || mac === 'SHA384' ? 'TLSv1.2' : 'SSLv3',
  };
}

/** TLS 1.0–1.2 suites (and SSL 3.0 ones), ascending code point. */
export const LEGACY_SUITES: readonly CipherSuite[] = Object.freeze(TLS12_AND_OLDER_ROWS.map((row) => Object.freeze(describe(row, false))));
export const TLS13_SUITES: readonly CipherSuite[] = Object.freeze(TLS13_ROWS.map((row) => Object.freeze(describe(row, true))));
export const ALL_SUITES: readonly CipherSuite[] = [...LEGACY_SUITES, ...TLS13_SUITES];

const BY_ID = new Map(ALL_SUITES.map((s) => [s.id, s]));
const BY_NAME = new Map(ALL_SUITES.flatMap((s) => [[s.name, s] as const, [s.openssl, s] as const]));

export function suiteById(id: number): CipherSuite | undefined {
  return BY_ID.get(id);
}

/** By IANA or OpenSSL name. */
export function suiteByName(name: string): CipherSuite | undefined {
  return BY_NAME.get(name);
}

/** The suites a ClientHello of `version` may offer (SHA-2 MACs and AEAD only from TLS 1.2). */
export function suitesForVersion(version: ProtocolVersion): readonly CipherSuite[] {
  if (version === 'TLSv1.3') return TLS13_SUITES;
  if (version === 'TLSv1.2') return LEGACY_SUITES;
  return LEGACY_SUITES.filter((s) => s.minVersion === 'SSLv3');
}

/** '0xc02f' — the form scanners print. */
export function formatSuiteId(id: number): string {
  return `0x${id.toString(16).padStart(4, '0')}`;
}

/** A suite by code point, or a placeholder description for one the catalogue lacks. */
export function describeSuiteId(id: number): string {
  return suiteById(id)?.name ?? `unknown suite ${formatSuiteId(id)}`;
}
