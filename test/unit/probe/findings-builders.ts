import type { CertificateDetails, CertificateFindings, ProbeFindings, SuiteFinding } from '../../../src/probe/findings.js';
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
    ...extra,
  };
}

export function certificate(extra: Partial<CertificateFindings> = {}): CertificateFindings {
  return {
    leaf: leaf(),
    served: [leaf()],
    intermediatesSent: 1,
    rootSent: false,
    trust: { anchors: 'ca-bundle', chainsToAnchor: true },
    hostname: { name: 'app.example', matches: true },
    validity: { state: 'valid', daysRemaining: 60, lifetimeDays: 90 },
    ...extra,
  };
}

export function baseFindings(): ProbeFindings {
  return {
    schemaVersion: 1,
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
    forwardSecrecy: 'all',
    aead: 'all',
    certificate: certificate(),
    ocspStapling: { support: 'yes' },
    alpn: { h2: { support: 'yes' }, http11: { support: 'yes' } },
    resumption: { sessionIds: { support: 'yes' }, tickets: { support: 'yes' }, fullHandshakeMs: 5, resumedHandshakeMs: 2 },
    secureRenegotiation: { support: 'yes' },
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
