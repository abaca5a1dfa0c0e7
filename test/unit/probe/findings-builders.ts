import type { CertificateDetails, CertificateFindings, PostQuantumFindings, ProbeFindings, SuiteFinding } from '../../../src/probe/findings.js';
import { PROTOCOL_VERSIONS, type ProtocolVersion } from '../../../src/probe/protocols.js';
import { suiteByName } from '../../../src/probe/suites.js';

// Synthetic findings for the judges' table-driven tests: a healthy
// intermediate-profile endpoint by default, changed one fact at a time.

export type Change = (f: ProbeFindings) => ProbeFindings;

export function suite(name: string, version: ProtocolVersion, extra: Partial<SuiteFinding> = {}): SuiteFinding {
  const s = suiteByName(name);
  if (s === undefined) throw new Error(`unknown suite ${name}`);
  return {
    version,
    id: s.id,
    name: s.name,
    openssl: s.openssl,
    keyExchange: s.keyExchange,
    authentication: s.authentication,
    cipher: s.cipher,
    mode: s.mode,
    strengthBits: s.strengthBits,
    forwardSecrecy: s.forwardSecrecy,
    aead: s.aead,
    export: s.export,
    anonymous: s.anonymous,
    via: 'node',
    ...extra,
  };
}

export const TLS13_DEFAULT = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
export const INTERMEDIATE_RSA = ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'];

export function leaf(extra: Partial<CertificateDetails> = {}): CertificateDetails {
  return {
    subject: 'CN=app.example',
    commonName: 'app.example',
    issuer: 'CN=Example CA',
    dnsNames: ['app.example'],
    ipAddresses: [],
    keyAlgorithm: 'RSA',
    keySize: 2048,
    curve: undefined,
    signatureAlgorithm: 'SHA256-RSA',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-04-01T00:00:00.000Z',
    serialNumber: '01',
    fingerprintSHA256: 'ab'.repeat(32),
    isCA: false,
    selfSigned: false,
    ocspUrls: ['http://ocsp.example/'],
    crlUrls: [],
    mustStaple: false,
    usages: ['digital signature', 'key encipherment', 'server auth'],
    ...extra,
  };
}

export function certificate(extra: Partial<CertificateFindings> = {}): CertificateFindings {
  return {
    leaf: leaf(),
    served: [leaf()],
    intermediatesSent: 1,
    rootSent: false,
    trust: { anchors: 'ca-bundle', chainsToAnchor: true, publiclyTrusted: false },
    hostname: { name: 'app.example', matches: true },
    validity: { state: 'valid', daysRemaining: 60, lifetimeDays: 90 },
    ...extra,
  };
}

const PQ_GROUP_NAMES = ['X25519MLKEM768', 'SecP256r1MLKEM768', 'SecP384r1MLKEM1024', 'MLKEM512', 'MLKEM768', 'MLKEM1024'] as const;
const PQ_IDS = [0x11ec, 0x11eb, 0x11ed, 0x0200, 0x0201, 0x0202] as const;

/** Post-quantum findings of each readiness: ready = OpenSSL 3.5 with X25519MLKEM768:X25519, classical = no group. */
export function postQuantum(readiness: PostQuantumFindings['readiness']): PostQuantumFindings {
  const acceptedNames: readonly string[] = readiness === 'ready' || readiness === 'partial' ? ['X25519MLKEM768'] : [];
  const groups = PQ_GROUP_NAMES.map((name, i) => ({
    name,
    id: PQ_IDS[i] ?? 0,
    kind: i < 3 ? ('hybrid' as const) : ('ml-kem' as const),
    ...(readiness === 'unknown' ? { status: 'error' as const, detail: 'connect timed out' } : acceptedNames.includes(name) ? { status: 'accepted' as const } : { status: 'rejected' as const, detail: 'alert handshake_failure' }),
  }));
  const browserChoice = readiness === 'ready' ? 'X25519MLKEM768' : readiness === 'unknown' ? undefined : 'X25519';
  return {
    readiness,
    tested: true,
    groups,
    browserChoice,
    serverPick: acceptedNames.length === 0 ? undefined : browserChoice,
    serverPrefersPostQuantum: acceptedNames.length === 0 ? undefined : readiness === 'ready',
    withoutShare: acceptedNames.length === 0 ? undefined : { group: 'X25519MLKEM768', answer: 'classical' },
  };
}

export function baseFindings(): ProbeFindings {
  return {
    schemaVersion: 2,
    target: { host: '127.0.0.1', port: 443, serverName: 'app.example' },
    scannedAt: '2026-02-01T00:00:00.000Z',
    durationMs: 100,
    reachable: true,
    tls: true,
    protocols: PROTOCOL_VERSIONS.map((version) =>
      version === 'TLSv1.2' || version === 'TLSv1.3' ? { version, status: 'accepted' as const, via: 'node' as const } : { version, status: 'rejected' as const, detail: 'alert protocol_version' },
    ),
    cipherSuites: [...INTERMEDIATE_RSA.map((n) => suite(n, 'TLSv1.2', { keyExchangeGroup: 'X25519', keyExchangeBits: 256 })), ...TLS13_DEFAULT.map((n) => suite(n, 'TLSv1.3', { keyExchangeGroup: 'X25519', keyExchangeBits: 256 }))],
    suiteErrors: [],
    serverPreference: [
      { version: 'TLSv1.2', enforced: false, order: [] },
      { version: 'TLSv1.3', enforced: false, order: [] },
    ],
    keyExchange: {
      groups: [
        { name: 'X25519', bits: 256 },
        { name: 'prime256v1', bits: 256 },
        { name: 'secp384r1', bits: 384 },
      ],
      groupErrors: [],
      minEcdhBits: 256,
      minDhBits: undefined,
      rsaKeyTransport: false,
    },
    postQuantum: postQuantum('ready'),
    forwardSecrecy: 'all',
    aead: 'all',
    certificate: certificate(),
    ocspStapling: { support: 'yes' },
    crl: { status: 'not-tested' },
    alpn: { h2: { support: 'yes' }, http11: { support: 'yes' } },
    resumption: { sessionIds: { support: 'yes' }, tickets: { support: 'yes' }, fullHandshakeMs: 5, resumedHandshakeMs: 2 },
    secureRenegotiation: { support: 'yes' },
    extendedMasterSecret: { support: 'yes' },
    fallbackScsv: { support: 'not-tested', detail: 'no older version to fall back to' },
    clientRenegotiation: { support: 'no', detail: 'renegotiation refused: alert no_renegotiation' },
    vulnerabilities: { heartbleed: { status: 'not-vulnerable' }, ccsInjection: { status: 'not-vulnerable' } },
    hsts: { support: 'yes', header: 'max-age=63072000', maxAgeSeconds: 63072000, includeSubDomains: false, preload: false },
    errors: [],
  };
}

export function findings(...changes: Change[]): ProbeFindings {
  return changes.reduce((f, change) => change(f), baseFindings());
}

/** Recomputes the coverage and RSA-transport facts the analyser derives from the suite list. */
function withDerived(f: ProbeFindings): ProbeFindings {
  const fs = f.cipherSuites.map((s) => s.forwardSecrecy);
  const aead = f.cipherSuites.map((s) => s.aead);
  const coverage = (v: boolean[]) => (v.length === 0 || v.every((x) => !x) ? 'none' : v.every(Boolean) ? 'all' : 'some');
  return { ...f, forwardSecrecy: coverage(fs), aead: coverage(aead), keyExchange: { ...f.keyExchange, rsaKeyTransport: f.cipherSuites.some((s) => s.keyExchange === 'RSA') } };
}

export const protocols = (...accepted: ProtocolVersion[]): Change => (f) => ({
  ...f,
  tls: accepted.length > 0,
  protocols: f.protocols.map((p) => (accepted.includes(p.version) ? { version: p.version, status: 'accepted', via: 'node' } : { version: p.version, status: 'rejected', detail: 'alert protocol_version' })),
  cipherSuites: f.cipherSuites.filter((s) => accepted.includes(s.version)),
});

export const addSuites = (...suites: SuiteFinding[]): Change => (f) => withDerived({ ...f, cipherSuites: [...f.cipherSuites, ...suites] });
export const onlySuites = (...suites: SuiteFinding[]): Change => (f) => withDerived({ ...f, cipherSuites: suites });
export const withLeaf = (extra: Partial<CertificateDetails>): Change => (f) => ({ ...f, certificate: f.certificate && { ...f.certificate, leaf: { ...f.certificate.leaf, ...extra } } });
export const withCertificate = (extra: Partial<CertificateFindings>): Change => (f) => ({ ...f, certificate: f.certificate && { ...f.certificate, ...extra } });
export const withKeyExchange = (extra: Partial<ProbeFindings['keyExchange']>): Change => (f) => ({ ...f, keyExchange: { ...f.keyExchange, ...extra } });
export const set = (extra: Partial<ProbeFindings>): Change => (f) => ({ ...f, ...extra });
