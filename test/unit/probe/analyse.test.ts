import { X509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyseScan, parseHsts } from '../../../src/probe/analyse.js';
import { accepted, failed, rejected, type JobOutcome } from '../../../src/probe/jobs/outcome.js';
import { PROTOCOL_VERSIONS, type ProtocolVersion } from '../../../src/probe/protocols.js';
import type { ScanObservations } from '../../../src/probe/scan.js';
import { selfSignCertificate, signCertificateWithCa } from '../../../src/pki/sign.js';
import { DAY_MS, TEST_NOW, testKey } from '../../support/pki.js';

// The analyser from hand-made observations: no sockets, a chain made with
// src/pki at TEST_NOW, the clock injected.

interface Chain {
  rootPem: string;
  leafDer: string;
  intermediateDer: string;
}

let chain: Chain;

beforeAll(async () => {
  const rootKey = await testKey({ algorithm: 'ECDSA', size: 256 }, 1);
  const intermediateKey = await testKey({ algorithm: 'ECDSA', size: 256 }, 2);
  const leafKey = await testKey({ algorithm: 'RSA', size: 2048 }, 3);
  const notBefore = new Date(TEST_NOW.getTime() - 30 * DAY_MS);
  const root = await selfSignCertificate({ spec: { commonName: 'root', isCA: true, durationMs: 3650 * DAY_MS }, privateKey: rootKey, now: notBefore });
  const intermediate = await signCertificateWithCa({ spec: { commonName: 'intermediate', isCA: true, durationMs: 3650 * DAY_MS }, subjectKey: intermediateKey, ca: { certificate: root.certificate, privateKey: rootKey }, now: notBefore });
  const leaf = await signCertificateWithCa({ spec: { commonName: 'app.example', dnsNames: ['app.example', '*.app.example'], durationMs: 90 * DAY_MS }, subjectKey: leafKey, ca: { certificate: intermediate.certificate, privateKey: intermediateKey }, now: TEST_NOW });
  const der = (c: typeof leaf) => Buffer.from(c.certificate.rawData).toString('base64');
  chain = { rootPem: root.pem, leafDer: der(leaf), intermediateDer: der(intermediate) };
});

function protocols(acceptedVersions: ProtocolVersion[]): ScanObservations['protocols'] {
  return Object.fromEntries(
    PROTOCOL_VERSIONS.map((v) => [v, acceptedVersions.includes(v) ? accepted({ via: 'node', cipherSuite: undefined, cipherSuiteName: undefined }, 3) : rejected('alert protocol_version', 1)]),
  ) as ScanObservations['protocols'];
}

function observations(overrides: Partial<ScanObservations> = {}): ScanObservations {
  return {
    target: { host: '127.0.0.1', port: 8443, serverName: 'app.example' },
    startedAt: TEST_NOW.toISOString(),
    durationMs: 120,
    protocols: protocols(['TLSv1.2', 'TLSv1.3']),
    suites: [
      { version: 'TLSv1.2', suite: 0xc030, outcome: accepted({ via: 'node', ephemeralKey: { type: 'ECDH', name: 'X25519', size: 253 } }, 2) },
      { version: 'TLSv1.2', suite: 0x009e, outcome: accepted({ via: 'node', ephemeralKey: { type: 'DH', name: undefined, size: 2048 } }, 2) },
      { version: 'TLSv1.2', suite: 0x002f, outcome: accepted({ via: 'raw', ephemeralKey: undefined }, 1) },
      { version: 'TLSv1.2', suite: 0x000a, outcome: rejected('alert handshake_failure', 1) },
      { version: 'TLSv1.2', suite: 0x0005, outcome: failed('no answer to the ClientHello before the timeout', 4000) },
      { version: 'TLSv1.3', suite: 0x1301, outcome: accepted({ via: 'node', ephemeralKey: { type: 'ECDH', name: 'X25519', size: 253 } }, 2) },
    ],
    preferences: [
      { version: 'TLSv1.2', outcome: accepted({ enforced: true, order: [0xc030, 0x009e, 0x002f] }, 5) },
      { version: 'TLSv1.3', outcome: accepted({ enforced: undefined, order: [] }, 0) },
    ],
    groups: [
      { group: 'X25519', version: 'TLSv1.3', outcome: accepted({ type: 'ECDH', name: 'X25519', size: 253 }, 2) },
      { group: 'secp384r1', version: 'TLSv1.3', outcome: accepted({ type: 'ECDH', name: 'secp384r1', size: 384 }, 2) },
      { group: 'X448', version: 'TLSv1.3', outcome: rejected('alert handshake_failure', 2) },
      { group: 'ffdhe3072', version: 'TLSv1.3', outcome: accepted({ type: 'DH', name: undefined, size: 3072 }, 9) },
    ],
    postQuantum: undefined,
    crl: undefined,
    extendedMasterSecret: accepted(null, 1),
    fallbackScsv: undefined,
    clientRenegotiation: rejected('renegotiation refused: alert no_renegotiation', 3),
    heartbleed: accepted('not-vulnerable', 4),
    ccsInjection: accepted('not-vulnerable', 4),
    chain: accepted({ certificates: [chain.leafDer, chain.intermediateDer] }, 3),
    ocspStapling: rejected('no OCSP response stapled', 3),
    alpn: { h2: accepted(null, 3), 'http/1.1': accepted(null, 3) },
    resumption: { ticket: accepted({ fullHandshakeMs: 4.2, resumedHandshakeMs: 1.9, rounds: 3 }, 20), sessionId: rejected('the server did not resume the session id', 9) },
    secureRenegotiation: accepted(null, 1),
    http: accepted({ status: 200, strictTransportSecurity: 'max-age=31536000; includeSubDomains' }, 4),
    ...overrides,
  };
}

const at = (days: number) => new Date(TEST_NOW.getTime() + days * DAY_MS);

describe('analyseScan', () => {
  it('derives the findings of a scan', () => {
    const f = analyseScan(observations(), { now: at(10), caPem: chain.rootPem });
    expect(f.tls).toBe(true);
    expect(f.reachable).toBe(true);
    expect(f.protocols.filter((p) => p.status === 'accepted').map((p) => p.version)).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(f.cipherSuites.map((s) => `${s.version} ${s.name} ${s.via}`)).toEqual([
      'TLSv1.2 TLS_RSA_WITH_AES_128_CBC_SHA raw',
      'TLSv1.2 TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 node',
      'TLSv1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 node',
      'TLSv1.3 TLS_AES_128_GCM_SHA256 node',
    ]);
    expect(f.cipherSuites[1]).toMatchObject({ keyExchangeGroup: 'DH 2048', keyExchangeBits: 2048 });
    expect(f.cipherSuites[2]).toMatchObject({ keyExchangeGroup: 'X25519', keyExchangeBits: 256 });
    expect(f.suiteErrors).toEqual([{ version: 'TLSv1.2', id: 5, name: 'TLS_RSA_WITH_RC4_128_SHA', error: 'no answer to the ClientHello before the timeout' }]);
    expect(f.serverPreference[0]).toEqual({ version: 'TLSv1.2', enforced: true, order: ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA'] });
    expect(f.keyExchange).toEqual({
      groups: [
        { name: 'X25519', bits: 256 },
        { name: 'secp384r1', bits: 384 },
        { name: 'ffdhe3072', bits: 3072 },
      ],
      groupErrors: [],
      minEcdhBits: 256,
      minDhBits: 2048,
      rsaKeyTransport: true,
    });
    expect(f.forwardSecrecy).toBe('some');
    expect(f.aead).toBe('some');
    expect(f.ocspStapling).toEqual({ support: 'no', detail: 'no OCSP response stapled' });
    expect(f.alpn).toEqual({ h2: { support: 'yes' }, http11: { support: 'yes' } });
    expect(f.resumption).toEqual({ sessionIds: { support: 'no', detail: 'the server did not resume the session id' }, tickets: { support: 'yes' }, fullHandshakeMs: 4.2, resumedHandshakeMs: 1.9 });
    expect(f.hsts).toEqual({ support: 'yes', header: 'max-age=31536000; includeSubDomains', maxAgeSeconds: 31536000, includeSubDomains: true, preload: false });
    expect(f.errors).toEqual([{ check: 'suite TLS_RSA_WITH_RC4_128_SHA (TLSv1.2)', message: 'no answer to the ClientHello before the timeout' }]);
  });

  it('describes the served chain and verifies it against the CA bundle', () => {
    const c = analyseScan(observations(), { now: at(10), caPem: chain.rootPem }).certificate;
    expect(c).toMatchObject({
      leaf: { commonName: 'app.example', dnsNames: ['app.example', '*.app.example'], keyAlgorithm: 'RSA', keySize: 2048, signatureAlgorithm: 'ECDSA-SHA256', issuer: 'CN=intermediate', selfSigned: false },
      intermediatesSent: 1,
      rootSent: false,
      trust: { anchors: 'ca-bundle', chainsToAnchor: true },
      hostname: { name: 'app.example', matches: true },
      validity: { state: 'valid', daysRemaining: 80, lifetimeDays: 90 },
    });
    expect(c?.leaf.fingerprintSHA256).toMatch(/^[0-9a-f]{64}$/);
    expect(c?.served.map((s) => s.commonName)).toEqual(['app.example', 'intermediate']);
  });

  it('reads validity against the injected clock, keeping trust apart from expiry', () => {
    const expired = analyseScan(observations(), { now: at(91), caPem: chain.rootPem }).certificate;
    expect(expired?.validity).toEqual({ state: 'expired', daysRemaining: -1, lifetimeDays: 90 });
    expect(expired?.trust.chainsToAnchor).toBe(true);
    expect(analyseScan(observations(), { now: at(-1), caPem: chain.rootPem }).certificate?.validity.state).toBe('not-yet-valid');
  });

  it('finds a missing intermediate, an unknown root and a wrong name', () => {
    const missing = analyseScan(observations({ chain: accepted({ certificates: [chain.leafDer] }, 1) }), { now: at(1), caPem: chain.rootPem }).certificate;
    expect(missing).toMatchObject({ intermediatesSent: 0, trust: { chainsToAnchor: false, reason: expect.stringMatching(/^no trust anchor is named CN=intermediate, the issuer of the last certificate served$/) as unknown } });
    expect(analyseScan(observations(), { now: at(1) }).certificate?.trust).toMatchObject({ anchors: 'system', chainsToAnchor: false });
    const wrong = analyseScan(observations({ target: { host: '127.0.0.1', port: 8443, serverName: 'other.example' } }), { now: at(1), caPem: chain.rootPem });
    expect(wrong.certificate?.hostname).toEqual({ name: 'other.example', matches: false });
    const wildcard = analyseScan(observations({ target: { host: '127.0.0.1', port: 8443, serverName: 'api.app.example' } }), { now: at(1), caPem: chain.rootPem });
    expect(wildcard.certificate?.hostname.matches).toBe(true);
  });

  it('verifies against the system roots (the Mozilla store bundled with node)', () => {
    const root = new X509Certificate(rootCertificates[0] ?? '');
    const served = accepted({ certificates: [root.raw.toString('base64')] }, 1);
    const trust = analyseScan(observations({ chain: served }), { now: new Date() }).certificate?.trust;
    expect(trust).toEqual({ anchors: 'system', chainsToAnchor: true, publiclyTrusted: true });
  });

  it('reports an unreachable endpoint and one without TLS', () => {
    const down = Object.fromEntries(PROTOCOL_VERSIONS.map((v) => [v, failed('cannot connect: ECONNREFUSED', 1)])) as Record<ProtocolVersion, JobOutcome<never>>;
    const none = { suites: [], preferences: [], groups: [], chain: undefined, ocspStapling: undefined, alpn: undefined, resumption: {}, secureRenegotiation: undefined, http: undefined };
    expect(analyseScan(observations({ ...none, protocols: down }), { now: at(1) })).toMatchObject({ reachable: false, tls: false, certificate: undefined, ocspStapling: { support: 'not-tested' } });
    expect(analyseScan(observations({ ...none, protocols: protocols([]) }), { now: at(1) })).toMatchObject({ reachable: true, tls: false });
  });

  it('explains a chain it could not get or read', () => {
    expect(analyseScan(observations({ chain: failed('handshake timed out', 4000) }), { now: at(1) })).toMatchObject({ certificate: undefined, certificateError: 'handshake timed out' });
    expect(analyseScan(observations({ chain: accepted({ certificates: ['AAAA'] }, 1) }), { now: at(1) }).certificateError).toMatch(/cannot be read/);
  });

  it('returns deeply frozen findings', () => {
    const f = analyseScan(observations(), { now: at(1), caPem: chain.rootPem });
    expect(Object.isFrozen(f)).toBe(true);
    expect(Object.isFrozen(f.cipherSuites[0])).toBe(true);
    expect(Object.isFrozen(f.certificate?.leaf.dnsNames)).toBe(true);
  });

  it('parses HSTS directives', () => {
    expect(parseHsts('max-age="600"; includeSubDomains; preload')).toEqual({ maxAgeSeconds: 600, includeSubDomains: true, preload: true });
    expect(parseHsts('includeSubDomains')).toEqual({ includeSubDomains: true, preload: false });
  });
});
