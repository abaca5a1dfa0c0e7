import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateCompliance, type ComplianceReport } from '../../src/probe/compliance.js';
import type { ProbeFindings } from '../../src/probe/findings.js';
import { gradeFindings, type GradeReport } from '../../src/probe/grade.js';
import { probeEndpoint } from '../../src/probe/probe.js';
import { mozillaProfile, type MozillaProfileName } from '../../src/probe/profiles/index.js';
import { FIXTURE_NAMES, startFixtureSet, type FixtureName, type FixtureSet } from '../../hack/tls/fixtures.js';

// The prober against real nginx and haproxy on loopback, one server per
// situation the issue names; each server's findings, profile violations and
// grade are asserted one by one. Servers, keys and certificates are made
// here; nginx and haproxy must be installed (hack/install-deps.sh).

let set: FixtureSet;
const scans = new Map<FixtureName, ProbeFindings>();

beforeAll(async () => {
  set = await startFixtureSet();
  const caPem = await readFile(set.caFile, 'utf8');
  for (const name of FIXTURE_NAMES) {
    const { server, serverName } = set.fixture(name);
    scans.set(name, await probeEndpoint({ host: server.host, port: server.port, serverName }, { caPem, http: true }));
  }
}, 120_000);

afterAll(async () => {
  await set?.stop();
});

function scan(name: FixtureName): ProbeFindings {
  const found = scans.get(name);
  if (found === undefined) throw new Error(`no scan of ${name}`);
  return found;
}

function judge(name: FixtureName, profile: MozillaProfileName): { compliance: ComplianceReport; grade: GradeReport } {
  const findings = scan(name);
  return { compliance: evaluateCompliance(findings, mozillaProfile(profile)), grade: gradeFindings(findings) };
}

const accepted = (f: ProbeFindings) => f.protocols.filter((p) => p.status === 'accepted').map((p) => p.version);
const suites = (f: ProbeFindings, version: string) => f.cipherSuites.filter((s) => s.version === version).map((s) => s.id);
const ids = (c: ComplianceReport) => c.violations.map((v) => v.id);

/** SHA-256 of the leaf the fixture serves, computed from the PEM the test made. */
async function servedLeafFingerprint(name: FixtureName): Promise<string> {
  const dir = set.fixture(name).server.dir;
  const file = set.fixture(name).server.software === 'nginx' ? 'chain.pem' : 'server.pem';
  return new X509Certificate(await readFile(`${dir}/${file}`)).fingerprint256.replace(/:/g, '').toLowerCase();
}

const INTERMEDIATE_RSA_TLS12 = [0x009e, 0x009f, 0xc02f, 0xc030, 0xcca8, 0xccaa];
const INTERMEDIATE_ECDSA_TLS12 = [0xc02b, 0xc02c, 0xcca9];
const TLS13 = [0x1301, 0x1302, 0x1303];
const MOZILLA_GROUPS = ['X25519', 'prime256v1', 'secp384r1'];

describe('modern: nginx, TLS 1.3 only, ECDSA', () => {
  it('finds TLS 1.3 alone, its three suites, X25519/P-256/P-384 and the ECDSA chain', async () => {
    const f = scan('modern');
    expect(accepted(f)).toEqual(['TLSv1.3']);
    expect(f.protocols.find((p) => p.version === 'TLSv1.2')).toMatchObject({ status: 'rejected', detail: 'alert protocol_version' });
    expect(suites(f, 'TLSv1.3')).toEqual(TLS13);
    expect(f.cipherSuites.every((s) => s.version === 'TLSv1.3' && s.via === 'node')).toBe(true);
    expect(f.keyExchange.groups.map((g) => g.name)).toEqual(MOZILLA_GROUPS);
    expect(f.keyExchange).toMatchObject({ minEcdhBits: 256, minDhBits: undefined, rsaKeyTransport: false });
    expect([f.forwardSecrecy, f.aead]).toEqual(['all', 'all']);
    expect(f.certificate).toMatchObject({
      leaf: { commonName: 'modern.probe.test', dnsNames: ['modern.probe.test'], keyAlgorithm: 'ECDSA', keySize: 256, curve: 'prime256v1', signatureAlgorithm: 'ECDSA-SHA256', issuer: 'O=certkeeper probe tests, CN=certkeeper probe ECDSA intermediate' },
      intermediatesSent: 1,
      rootSent: false,
      trust: { anchors: 'ca-bundle', chainsToAnchor: true },
      hostname: { name: 'modern.probe.test', matches: true },
      validity: { state: 'valid', daysRemaining: 89, lifetimeDays: 90 },
    });
    expect(f.certificate?.leaf.fingerprintSHA256).toBe(await servedLeafFingerprint('modern'));
  });

  it('finds the stapled OCSP response, h2, tickets and HSTS; session ids and renegotiation do not apply to TLS 1.3', () => {
    const f = scan('modern');
    expect(f.alpn).toEqual({ h2: { support: 'yes' }, http11: { support: 'yes' } });
    expect(f.resumption.tickets).toEqual({ support: 'yes' });
    expect(f.resumption.sessionIds).toEqual({ support: 'not-tested' });
    expect(f.resumption.fullHandshakeMs).toBeGreaterThan(0);
    expect(f.resumption.resumedHandshakeMs).toBeGreaterThan(0);
    expect(f.secureRenegotiation.support).toBe('not-tested');
    expect(f.ocspStapling).toEqual({ support: 'yes' });
    expect(f.hsts).toMatchObject({ support: 'yes', maxAgeSeconds: 63072000 });
    expect(f.errors).toEqual([]);
  });

  it('complies with modern, staple included, and grades A+', () => {
    const { compliance, grade } = judge('modern', 'modern');
    expect(ids(compliance)).toEqual([]);
    expect(compliance.advisories).toEqual([]);
    expect(grade).toMatchObject({ grade: 'A+', score: 93, caps: [], warnings: [] });
  });
});

describe('intermediate: nginx, TLS 1.2 + 1.3, RSA 2048, Mozilla intermediate suites', () => {
  it('finds the RSA half of the intermediate suites, DHE with ffdhe2048 and the client choosing', async () => {
    const f = scan('intermediate');
    expect(accepted(f)).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(suites(f, 'TLSv1.2')).toEqual(INTERMEDIATE_RSA_TLS12);
    expect(suites(f, 'TLSv1.3')).toEqual(TLS13);
    expect(f.cipherSuites.find((s) => s.id === 0x009e)).toMatchObject({ keyExchangeGroup: 'DH 2048', via: 'node' });
    expect(f.keyExchange).toMatchObject({ minDhBits: 2048, minEcdhBits: 256 });
    expect(f.serverPreference.map((p) => [p.version, p.enforced])).toEqual([['TLSv1.2', false], ['TLSv1.3', false]]);
    expect(f.certificate?.leaf).toMatchObject({ keyAlgorithm: 'RSA', keySize: 2048, signatureAlgorithm: 'SHA256-RSA' });
    expect(f.certificate?.leaf.fingerprintSHA256).toBe(await servedLeafFingerprint('intermediate'));
    expect(f.resumption.sessionIds.support).toBe('yes');
    expect(f.resumption.tickets.support).toBe('yes');
    expect(f.secureRenegotiation.support).toBe('yes');
    expect(f.ocspStapling).toEqual({ support: 'no', detail: 'no OCSP response stapled' });
    // No staple, but the test CA's leaves name no OCSP responder, so there is nothing to staple and no advice.
    expect(f.certificate?.leaf.ocspUrls).toEqual([]);
    expect(judge('intermediate', 'intermediate').compliance.advisories.map((a) => a.id)).toEqual([]);
  });

  it('complies with intermediate, not with modern, and grades A+', () => {
    expect(ids(judge('intermediate', 'intermediate').compliance)).toEqual([]);
    expect(ids(judge('intermediate', 'modern').compliance)).toEqual([
      'protocol-not-allowed',
      ...INTERMEDIATE_RSA_TLS12.map(() => 'cipher-suite-not-allowed'),
      'certificate-type-not-allowed',
      'certificate-signature-not-allowed',
    ]);
    expect(judge('intermediate', 'intermediate').grade).toMatchObject({ grade: 'A+', score: 93, caps: [] });
  });
});

describe('old: nginx, TLS 1.0–1.3, CBC suites, server order', () => {
  it('finds every version, the CBC suites per version and the server order', () => {
    const f = scan('old');
    expect(accepted(f)).toEqual(['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);
    expect(f.protocols.find((p) => p.version === 'SSLv3')?.status).toBe('rejected');
    expect(suites(f, 'TLSv1.0')).toEqual([0x002f, 0x0035, 0xc013, 0xc014]);
    expect(suites(f, 'TLSv1.1')).toEqual([0x002f, 0x0035, 0xc013, 0xc014]);
    expect(suites(f, 'TLSv1.2')).toEqual([0x2f, 0x35, 0x3c, 0x3d, 0x67, 0x6b, 0x9c, 0x9d, 0x9e, 0x9f, 0xc013, 0xc014, 0xc027, 0xc028, 0xc02f, 0xc030, 0xcca8, 0xccaa]);
    // 3DES is in Mozilla's old list, but Debian's OpenSSL 3 has no 3DES: nginx cannot serve it.
    expect(f.cipherSuites.some((s) => s.cipher.startsWith('3DES'))).toBe(false);
    expect(f.serverPreference.find((p) => p.version === 'TLSv1.0')).toEqual({ version: 'TLSv1.0', enforced: true, order: ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLS_RSA_WITH_AES_256_CBC_SHA'] });
    expect(f.serverPreference.find((p) => p.version === 'TLSv1.2')?.order.slice(0, 3)).toEqual(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256']);
    expect([f.forwardSecrecy, f.aead, f.keyExchange.rsaKeyTransport]).toEqual(['some', 'some', true]);
  });

  it('complies with old, breaks intermediate on versions and suites, and grades B for TLS 1.0/1.1', () => {
    expect(ids(judge('old', 'old').compliance)).toEqual([]);
    const intermediate = judge('old', 'intermediate').compliance;
    expect(intermediate.violations.filter((v) => v.id === 'protocol-not-allowed').map((v) => v.subject)).toEqual(['TLSv1.0', 'TLSv1.1']);
    expect(intermediate.violations.filter((v) => v.id === 'cipher-suite-not-allowed')).toHaveLength(12);
    expect(intermediate.violations.find((v) => v.subject === 'TLS_RSA_WITH_AES_128_CBC_SHA')?.message).toBe('TLS_RSA_WITH_AES_128_CBC_SHA is accepted (TLSv1.0, TLSv1.1, TLSv1.2) but not in the profile');
    const { grade } = judge('old', 'old');
    expect(grade).toMatchObject({ grade: 'B', score: 91.5, categories: { protocol: 95, keyExchange: 90, cipherStrength: 90 } });
    expect(grade.caps.map((c) => c.id)).toEqual(['tls10-tls11']);
  });
});

describe('expired: nginx serving a certificate that expired ten days ago', () => {
  it('reads the leaf as expired while its chain still leads to the root', () => {
    const c = scan('expired').certificate;
    expect(c?.validity).toMatchObject({ state: 'expired', daysRemaining: -11, lifetimeDays: 30 });
    expect(c?.trust.chainsToAnchor).toBe(true);
    expect(c?.hostname.matches).toBe(true);
  });

  it('violates only on expiry and grades F, A+ once trust is set aside', () => {
    const { compliance, grade } = judge('expired', 'intermediate');
    expect(ids(compliance)).toEqual(['certificate-expired']);
    expect(compliance.certificateValid).toBe(false);
    expect(grade.grade).toBe('F');
    expect(grade.caps.map((c) => c.id)).toEqual(['certificate-expired']);
    expect(grade.ignoringTrust).toBe('A+');
  });
});

describe('wrong SAN: haproxy serving other.probe.test to app.probe.test', () => {
  it('finds the name mismatch and the rest of a healthy haproxy endpoint', () => {
    const f = scan('wrongSan');
    expect(f.certificate?.hostname).toEqual({ name: 'app.probe.test', matches: false });
    expect(f.certificate?.leaf.dnsNames).toEqual(['other.probe.test']);
    expect(f.certificate?.trust.chainsToAnchor).toBe(true);
    expect(accepted(f)).toEqual(['TLSv1.2', 'TLSv1.3']);
    expect(suites(f, 'TLSv1.2')).toEqual(INTERMEDIATE_ECDSA_TLS12);
    expect(f.alpn.h2.support).toBe('yes');
    expect(f.hsts).toMatchObject({ support: 'yes', maxAgeSeconds: 63072000 });
  });

  it('violates on the name and grades F (SSL Labs: M)', () => {
    const { compliance, grade } = judge('wrongSan', 'intermediate');
    expect(ids(compliance)).toEqual(['certificate-hostname-mismatch']);
    expect(grade.caps).toEqual([{ id: 'certificate-hostname-mismatch', grade: 'F', trust: true, reason: 'the certificate does not cover app.probe.test (SSL Labs: M)' }]);
    expect(grade.ignoringTrust).toBe('A+');
  });
});

describe('missing intermediate: nginx serving the leaf alone', () => {
  it('sees no intermediate and a chain that does not reach the root', () => {
    const c = scan('missingIntermediate').certificate;
    expect(c).toMatchObject({ intermediatesSent: 0, served: [{ commonName: 'missing-intermediate.probe.test' }] });
    expect(c?.served).toHaveLength(1);
    expect(c?.trust).toMatchObject({ chainsToAnchor: false, reason: 'no trust anchor is named O=certkeeper probe tests, CN=certkeeper probe ECDSA intermediate, the issuer of the last certificate served' });
  });

  it('violates on trust and grades F', () => {
    const { compliance, grade } = judge('missingIntermediate', 'intermediate');
    expect(ids(compliance)).toEqual(['certificate-untrusted']);
    expect(grade.caps.map((c) => c.id)).toEqual(['certificate-untrusted']);
    expect(grade.grade).toBe('F');
  });
});

describe('RSA 1024: haproxy with every suite its OpenSSL has, TLS 1.0–1.2', () => {
  it('finds the weak key and, through hand-built hellos, the suites node cannot offer', () => {
    const f = scan('rsa1024');
    expect(accepted(f)).toEqual(['TLSv1.0', 'TLSv1.1', 'TLSv1.2']);
    expect(f.certificate?.leaf).toMatchObject({ keyAlgorithm: 'RSA', keySize: 1024 });
    expect(suites(f, 'TLSv1.2')).toHaveLength(44);
    const raw = f.cipherSuites.filter((s) => s.version === 'TLSv1.2' && s.via === 'raw').map((s) => s.name);
    expect(raw).toEqual(expect.arrayContaining(['TLS_RSA_WITH_ARIA_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256', 'TLS_DHE_RSA_WITH_AES_128_CCM_8']) as unknown);
    expect(f.cipherSuites.filter((s) => s.version === 'TLSv1.0').every((s) => s.via === 'raw')).toBe(true);
    expect(f.serverPreference.find((p) => p.version === 'TLSv1.2')).toMatchObject({ enforced: true });
    expect(f.keyExchange.groups.map((g) => g.name)).toEqual(['X25519', 'X448', 'prime256v1', 'secp384r1', 'secp521r1']);
    expect(f.hsts.support).toBe('no');
  });

  it('violates old on key size, suites, groups and HSTS, and grades B for the key and TLS 1.0/1.1 (and would be A- at best without TLS 1.3)', () => {
    const { compliance, grade } = judge('rsa1024', 'old');
    const counts = Object.fromEntries([...new Set(ids(compliance))].map((id) => [id, ids(compliance).filter((x) => x === id).length]));
    expect(counts).toEqual({ 'cipher-suite-not-allowed': 26, 'tls-curve-not-allowed': 2, 'rsa-key-too-small': 1, 'hsts-missing': 1 });
    expect(grade).toMatchObject({ grade: 'B', score: 88.5, categories: { keyExchange: 80 } });
    expect(grade.caps.map((c) => c.id)).toEqual(['weak-key', 'tls10-tls11', 'no-tls13']);
  });
});

describe('the classics against nginx and haproxy (OpenSSL 3.0)', () => {
  it('finds extended master secret, TLS_FALLBACK_SCSV, client renegotiation refused, and neither Heartbleed nor CCS injection', () => {
    for (const name of ['intermediate', 'old', 'rsa1024'] as const) {
      const f = scan(name);
      expect(f.extendedMasterSecret, name).toEqual({ support: 'yes' });
      expect(f.fallbackScsv, name).toEqual({ support: 'yes' });
      expect(f.clientRenegotiation, name).toMatchObject({ support: 'no' });
      expect(f.vulnerabilities, name).toEqual({ heartbleed: { status: 'not-vulnerable' }, ccsInjection: { status: 'not-vulnerable' } });
    }
  });

  it('tests none of them on a TLS 1.3-only server, which has them built in', () => {
    const f = scan('modern');
    expect([f.extendedMasterSecret.support, f.fallbackScsv.support, f.clientRenegotiation.support]).toEqual(['not-tested', 'not-tested', 'not-tested']);
    expect(f.vulnerabilities).toEqual({ heartbleed: { status: 'not-tested' }, ccsInjection: { status: 'not-tested' } });
  });
});

describe('scan cost', () => {
  it('scans each endpoint in well under a second on loopback', () => {
    for (const name of FIXTURE_NAMES) expect(scan(name).durationMs, name).toBeLessThan(1500);
  });
});
