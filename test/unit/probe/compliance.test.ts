import { describe, expect, it } from 'vitest';
import { evaluateCompliance, VIOLATION_IDS, type ViolationId } from '../../../src/probe/compliance.js';
import { customProfile, effectiveGuidelines, GUIDELINES, guidelinesConfigurationProfile, mozillaProfile, ProfileError, resolveProfile } from '../../../src/probe/profiles/index.js';
import type { TlsProfile } from '../../../src/probe/profiles/schema.js';
import { addSuites, certificate, findings, postQuantum, onlySuites, protocols, set, suite, withCertificate, withKeyExchange, withLeaf, type Change } from './findings-builders.js';

const modern = mozillaProfile('modern');
const intermediate = mozillaProfile('intermediate');
const old = mozillaProfile('old');

/** old wants the server's order; cases about other rules start from a server that imposes it. */
const ordered = set({ serverPreference: [{ version: 'TLSv1.2', enforced: true, order: [] }] });

type Case = [name: string, profile: TlsProfile, changes: Change[], violations: ViolationId[]];

const CASES: Case[] = [
  ['a healthy endpoint is intermediate-compliant', intermediate, [], []],
  ['TLS 1.0 and 1.1 are not intermediate', intermediate, [protocols('TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3')], ['protocol-not-allowed', 'protocol-not-allowed']],
  ['only TLS 1.0 accepted', intermediate, [protocols('TLSv1.0')], ['protocol-not-allowed', 'no-allowed-protocol']],
  ['SSL 3.0 accepted', old, [ordered, protocols('SSLv3', 'TLSv1.2')], ['protocol-not-allowed']],
  ['a CBC RSA-transport suite is not intermediate', intermediate, [addSuites(suite('TLS_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.2'))], ['cipher-suite-not-allowed']],
  ['3DES is in old', old, [ordered, addSuites(suite('TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLSv1.2'))], []],
  ['RC4 is in no profile', old, [ordered, addSuites(suite('TLS_RSA_WITH_RC4_128_SHA', 'TLSv1.2'))], ['cipher-suite-not-allowed']],
  ['TLS 1.3 CCM is in no profile', modern, [protocols('TLSv1.3'), withLeaf({ keyAlgorithm: 'ECDSA', keySize: 256, curve: 'prime256v1', signatureAlgorithm: 'ECDSA-SHA256' }), addSuites(suite('TLS_AES_128_CCM_SHA256', 'TLSv1.3'))], ['tls13-cipher-suite-not-allowed']],
  ['modern wants TLS 1.3 only, ECDSA, no TLS 1.2 suites', modern, [], ['protocol-not-allowed', 'cipher-suite-not-allowed', 'cipher-suite-not-allowed', 'cipher-suite-not-allowed', 'certificate-type-not-allowed', 'certificate-signature-not-allowed']],
  ['a modern endpoint is modern', modern, [protocols('TLSv1.3'), withLeaf({ keyAlgorithm: 'ECDSA', keySize: 256, curve: 'prime256v1', signatureAlgorithm: 'ECDSA-SHA256' })], []],
  ['old wants RSA certificates', old, [withLeaf({ keyAlgorithm: 'ECDSA', keySize: 256, curve: 'prime256v1', signatureAlgorithm: 'ECDSA-SHA256' })], ['server-cipher-order-not-enforced', 'certificate-type-not-allowed', 'certificate-signature-not-allowed']],
  ['old wants the server to order suites (TLS 1.2 and older only)', old, [], ['server-cipher-order-not-enforced']],
  ['old with server order is old', old, [set({ serverPreference: [{ version: 'TLSv1.2', enforced: true, order: [] }, { version: 'TLSv1.3', enforced: false, order: [] }] })], []],
  ['one suite has no order to enforce', old, [set({ serverPreference: [{ version: 'TLSv1.2', enforced: undefined, order: [] }] })], []],
  ['ECDSA on P-521', intermediate, [withLeaf({ keyAlgorithm: 'ECDSA', keySize: 521, curve: 'secp521r1', signatureAlgorithm: 'ECDSA-SHA256' })], ['certificate-curve-not-allowed']],
  ['Ed25519 certificate', intermediate, [withLeaf({ keyAlgorithm: 'Ed25519', keySize: 256, signatureAlgorithm: 'Ed25519' })], ['certificate-type-not-allowed', 'certificate-signature-not-allowed']],
  ['RSA 1024', intermediate, [withLeaf({ keySize: 1024 })], ['rsa-key-too-small']],
  ['SHA-1 signature', intermediate, [withLeaf({ signatureAlgorithm: 'SHA1-RSA' })], ['certificate-signature-not-allowed']],
  ['a 400-day certificate', intermediate, [withCertificate({ validity: { state: 'valid', daysRemaining: 300, lifetimeDays: 400 } })], ['certificate-lifespan-too-long']],
  ['a 91-day certificate is too long for modern only', modern, [protocols('TLSv1.3'), withLeaf({ keyAlgorithm: 'ECDSA', keySize: 256, curve: 'prime256v1', signatureAlgorithm: 'ECDSA-SHA256' }), withCertificate({ validity: { state: 'valid', daysRemaining: 80, lifetimeDays: 91 } })], ['certificate-lifespan-too-long']],
  ['X448 and secp521r1 accepted', intermediate, [withKeyExchange({ groups: [{ name: 'X25519', bits: 256 }, { name: 'X448', bits: 448 }, { name: 'secp521r1', bits: 521 }, { name: 'ffdhe2048', bits: 2048 }] })], ['tls-curve-not-allowed', 'tls-curve-not-allowed']],
  ['a 224-bit ECDH group', intermediate, [withKeyExchange({ minEcdhBits: 224 })], ['ecdh-parameters-too-small']],
  ['DH 1024 is too small for intermediate', intermediate, [withKeyExchange({ minDhBits: 1024 })], ['dh-parameters-too-small']],
  ['DH 1024 is enough for old', old, [withKeyExchange({ minDhBits: 1024 }), set({ serverPreference: [] })], []],
  ['DH 512 is too small for old', old, [withKeyExchange({ minDhBits: 512 }), set({ serverPreference: [] })], ['dh-parameters-too-small']],
  ['expired', intermediate, [withCertificate({ validity: { state: 'expired', daysRemaining: -3, lifetimeDays: 90 } })], ['certificate-expired']],
  ['not yet valid', intermediate, [withCertificate({ validity: { state: 'not-yet-valid', daysRemaining: 120, lifetimeDays: 90 } })], ['certificate-not-yet-valid']],
  ['untrusted chain', intermediate, [withCertificate({ trust: { anchors: 'system', chainsToAnchor: false, publiclyTrusted: false, reason: 'unknown issuer' } })], ['certificate-untrusted']],
  ['wrong name', intermediate, [withCertificate({ hostname: { name: 'app.example', matches: false } })], ['certificate-hostname-mismatch']],
  ['no certificate read', intermediate, [set({ certificate: undefined, certificateError: 'handshake failed' })], ['certificate-missing']],
  ['HSTS missing on an HTTP endpoint', intermediate, [set({ hsts: { support: 'no' } })], ['hsts-missing']],
  ['HSTS too short', intermediate, [set({ hsts: { support: 'yes', header: 'max-age=300', maxAgeSeconds: 300 } })], ['hsts-max-age-too-short']],
  ['HSTS not checked is no violation', intermediate, [set({ hsts: { support: 'not-tested' } })], []],
  ['a missing staple is only an advisory for Mozilla', intermediate, [set({ ocspStapling: { support: 'no' } })], []],
  ['nothing answers TLS', intermediate, [protocols(), set({ certificate: undefined })], ['no-tls']],
];

describe('evaluateCompliance', () => {
  it.each(CASES)('%s', (_name, profile, changes, expected) => {
    const report = evaluateCompliance(findings(...changes), profile);
    expect(report.violations.map((v) => v.id)).toEqual(expected);
    expect(report.compliant).toBe(expected.length === 0);
    for (const v of report.violations) {
      expect(VIOLATION_IDS).toContain(v.id);
      expect(v.message.length).toBeGreaterThan(10);
    }
  });

  it('names the version and the suite in each violation', () => {
    const report = evaluateCompliance(findings(protocols('TLSv1.0', 'TLSv1.2', 'TLSv1.3'), addSuites(suite('TLS_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.0'), suite('TLS_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.2'))), intermediate);
    expect(report.violations).toEqual([
      { id: 'protocol-not-allowed', category: 'protocol', subject: 'TLSv1.0', message: 'TLSv1.0 is accepted; the profile allows TLSv1.2, TLSv1.3' },
      { id: 'cipher-suite-not-allowed', category: 'cipher', subject: 'TLS_RSA_WITH_AES_128_CBC_SHA', message: 'TLS_RSA_WITH_AES_128_CBC_SHA is accepted (TLSv1.0, TLSv1.2) but not in the profile' },
    ]);
  });

  it('keeps certificate validity apart from profile rules', () => {
    expect(evaluateCompliance(findings(withCertificate({ hostname: { name: 'x', matches: false } })), intermediate).certificateValid).toBe(false);
    expect(evaluateCompliance(findings(withLeaf({ keySize: 1024 })), intermediate)).toMatchObject({ compliant: false, certificateValid: true });
    expect(evaluateCompliance(findings(set({ certificate: undefined })), intermediate).certificateValid).toBe(false);
  });

  it('reports the missing staple as an advisory for Mozilla, a violation when required', () => {
    const f = findings(set({ ocspStapling: { support: 'no', detail: 'no OCSP response stapled' } }));
    expect(evaluateCompliance(f, intermediate).advisories.map((a) => a.id)).toEqual(['ocsp-stapling-missing']);
    const required = resolveProfile('intermediate', { overrides: { ocspStapling: 'required' } });
    expect(evaluateCompliance(f, required).violations.map((v) => v.id)).toEqual(['ocsp-stapling-missing']);
  });
});

describe('custom profiles', () => {
  const cases: [string, unknown, Change[], ViolationId[]][] = [
    ['nothing set checks only validity', {}, [addSuites(suite('TLS_RSA_WITH_RC4_128_MD5', 'TLSv1.2')), withCertificate({ validity: { state: 'expired', daysRemaining: -1, lifetimeDays: 90 } })], ['certificate-expired']],
    ['forward secrecy required', { requireForwardSecrecy: true }, [addSuites(suite('TLS_RSA_WITH_AES_128_GCM_SHA256', 'TLSv1.2'))], ['forward-secrecy-missing']],
    ['AEAD required', { requireAEAD: true }, [addSuites(suite('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.2'))], ['non-aead-cipher-suite']],
    ['minimum days to expiry', { minDaysToExpiry: 90 }, [], ['certificate-expires-soon']],
    ['minimum days to expiry met', { minDaysToExpiry: 30 }, [], []],
    ['minVersion TLS 1.3', { minVersion: 'TLSv1.3' }, [], ['protocol-not-allowed']],
    ['explicit suites in OpenSSL names', { cipherSuites: ['ECDHE-RSA-AES128-GCM-SHA256'] }, [], ['cipher-suite-not-allowed', 'cipher-suite-not-allowed']],
    ['OCSP required', { ocspStapling: 'required' }, [set({ ocspStapling: { support: 'no' } })], ['ocsp-stapling-missing']],
    ['OCSP required, TLSPolicy spelling', { requireOCSPStapling: true }, [set({ ocspStapling: { support: 'no' } })], ['ocsp-stapling-missing']],
    ['OCSP stapled', { requireOCSPStapling: true }, [], []],
    ['only AEAD forward-secret TLS 1.3 and 1.2', { requireAEAD: true, requireForwardSecrecy: true, tlsVersions: ['TLSv1.2', 'TLSv1.3'] }, [onlySuites(suite('TLS_AES_128_GCM_SHA256', 'TLSv1.3'))], []],
  ];
  it.each(cases)('%s', (_name, fields, changes, expected) => {
    expect(evaluateCompliance(findings(...changes), customProfile(fields)).violations.map((v) => v.id)).toEqual(expected);
  });

  it('refuses unknown fields and suites, naming them', () => {
    expect(() => customProfile({ minimumVersion: 'TLSv1.2' })).toThrow(/minimumVersion|Unrecognized key/);
    expect(() => customProfile({ cipherSuites: ['TLS_MADE_UP'] })).toThrow(/cipherSuites\.0: not a known cipher suite/);
    expect(() => customProfile({ tlsVersions: ['TLSv1.4'] })).toThrow(/tlsVersions\.0/);
    expect(() => resolveProfile('modern', { overrides: { rsaKeySize: -1 } })).toThrow(/overrides.*rsaKeySize/);
  });

  it('applies overrides on a Mozilla profile', () => {
    const profile = resolveProfile('intermediate', { overrides: { minDaysToExpiry: 14, minVersion: 'TLSv1.3' }, guidelines: 'Mozilla-5.7' });
    expect(profile.source).toBe('Mozilla server-side TLS 5.7 with overrides');
    expect(profile.rules).toMatchObject({ minDaysToExpiry: 14, tlsVersions: ['TLSv1.3'], rsaKeySize: 2048 });
  });
});

describe('Mozilla 5.7 data', () => {
  it('holds the guideline figures', () => {
    expect(modern.rules).toMatchObject({ tlsVersions: ['TLSv1.3'], cipherSuites: [], certificateTypes: ['ecdsa'], maximumCertificateLifespanDays: 90, ecdhParamSize: 256 });
    expect(modern.rules.rsaKeySize).toBeUndefined();
    expect(intermediate.rules).toMatchObject({ tlsVersions: ['TLSv1.2', 'TLSv1.3'], rsaKeySize: 2048, dhParamSize: 2048, maximumCertificateLifespanDays: 366 });
    expect(intermediate.rules.cipherSuites).toHaveLength(9);
    expect(old.rules).toMatchObject({ tlsVersions: ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'], serverPreferredOrder: true, dhParamSize: 1024, certificateTypes: ['rsa'] });
    expect(old.rules.cipherSuites).toContain('TLS_RSA_WITH_3DES_EDE_CBC_SHA');
    expect(old.rules.cipherSuites).toHaveLength(26);
  });

  it('builds a certificate finding helper that the cases rely on', () => {
    expect(certificate().trust.chainsToAnchor).toBe(true);
  });
});

const tlsrefModern = guidelinesConfigurationProfile('modern', 'TLSRef-6.0');
const tlsrefIntermediate = guidelinesConfigurationProfile('intermediate', 'TLSRef-6.0');
const ecdsaLeaf = withLeaf({ keyAlgorithm: 'ECDSA', keySize: 256, curve: 'prime256v1', signatureAlgorithm: 'ECDSA-SHA256' });
const pq = (readiness: Parameters<typeof postQuantum>[0]) => set({ postQuantum: postQuantum(readiness) });
const withPqGroups = (...names: string[]): Change => (f) => ({
  ...f,
  postQuantum: { ...f.postQuantum, groups: f.postQuantum.groups.map((g) => (names.includes(g.name) ? { name: g.name, id: g.id, kind: g.kind, status: 'accepted' as const } : g)) },
});

describe('TLSRef 6.0', () => {
  const cases: Case[] = [
    ['a healthy post-quantum endpoint is intermediate-compliant', tlsrefIntermediate, [], []],
    ['DHE suites are no longer intermediate', tlsrefIntermediate, [addSuites(suite('TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'TLSv1.2'))], ['cipher-suite-not-allowed']],
    ['DHE suites still are in Mozilla 5.7', intermediate, [addSuites(suite('TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'TLSv1.2'))], []],
    ['a classical endpoint is compliant (post-quantum is advised, not required)', tlsrefIntermediate, [pq('classical')], []],
    ['MLKEM512 is not in its groups', tlsrefIntermediate, [withPqGroups('MLKEM512')], ['tls-curve-not-allowed']],
    ['Mozilla 5.7 says nothing about post-quantum groups', intermediate, [withPqGroups('MLKEM512', 'SecP384r1MLKEM1024')], []],
    ['a modern endpoint is modern', tlsrefModern, [protocols('TLSv1.3'), ecdsaLeaf], []],
  ];
  it.each(cases)('%s', (_name, profile, changes, expected) => {
    expect(evaluateCompliance(findings(...changes), profile).violations.map((v) => v.id)).toEqual(expected);
  });

  it('holds the guideline figures: the hybrid first, six ECDHE AEAD suites, no old', () => {
    expect(tlsrefIntermediate).toMatchObject({ name: 'intermediate', source: 'TLSRef 6.0' });
    expect(tlsrefIntermediate.rules).toMatchObject({ tlsVersions: ['TLSv1.2', 'TLSv1.3'], tlsCurves: ['X25519MLKEM768', 'X25519', 'prime256v1', 'secp384r1'], postQuantumKeyExchange: 'recommended', rsaKeySize: 2048, maximumCertificateLifespanDays: 366 });
    expect(tlsrefIntermediate.rules.cipherSuites).toHaveLength(6);
    expect(tlsrefIntermediate.rules.cipherSuites?.every((n) => n.startsWith('TLS_ECDHE_') && !n.includes('CBC'))).toBe(true);
    expect(tlsrefModern.rules).toMatchObject({ tlsVersions: ['TLSv1.3'], cipherSuites: [], postQuantumKeyExchange: 'recommended' });
    expect(GUIDELINES['TLSRef-6.0'].configurations.old).toBeUndefined();
    expect(mozillaProfile('intermediate').rules.postQuantumKeyExchange).toBeUndefined();
  });

  it('is the default for modern and intermediate; old means Mozilla 5.7 and cannot be had from 6.0', () => {
    expect(effectiveGuidelines('intermediate')).toBe('TLSRef-6.0');
    expect(effectiveGuidelines('modern')).toBe('TLSRef-6.0');
    expect(effectiveGuidelines('old')).toBe('Mozilla-5.7');
    expect(effectiveGuidelines('intermediate', 'Mozilla-5.7')).toBe('Mozilla-5.7');
    expect(resolveProfile('intermediate').source).toBe('TLSRef 6.0');
    expect(resolveProfile('old').source).toBe('Mozilla server-side TLS 5.7');
    expect(() => resolveProfile('old', { guidelines: 'TLSRef-6.0' })).toThrow(ProfileError);
    expect(() => resolveProfile('old', { guidelines: 'TLSRef-6.0' })).toThrow(/TLSRef 6.0 has no "old" configuration \(retired\); it exists in Mozilla-5.7/);
  });
});

describe('post-quantum key exchange', () => {
  const cases: [string, unknown, Change[], ViolationId[], ViolationId[]][] = [
    ['ready', { postQuantumKeyExchange: 'required' }, [pq('ready')], [], []],
    ['partial, required', { postQuantumKeyExchange: 'required' }, [pq('partial')], ['post-quantum-key-exchange-missing'], []],
    ['classical, required (TLSPolicy spelling)', { requirePostQuantum: true }, [pq('classical')], ['post-quantum-key-exchange-missing'], []],
    ['classical, recommended', { postQuantumKeyExchange: 'recommended' }, [pq('classical')], [], ['post-quantum-key-exchange-missing']],
    ['unknown is only an advisory, even when required', { postQuantumKeyExchange: 'required' }, [pq('unknown')], [], ['post-quantum-key-exchange-missing']],
    ['not asked for', {}, [pq('classical')], [], []],
    ['no TLS at all is judged once, as no-tls', { postQuantumKeyExchange: 'required' }, [protocols(), set({ certificate: undefined })], ['no-tls'], []],
  ];
  it.each(cases)('%s', (_name, fields, changes, violations, advisories) => {
    const report = evaluateCompliance(findings(...changes), customProfile(fields));
    expect(report.violations.map((v) => v.id)).toEqual(violations);
    expect(report.advisories.map((v) => v.id)).toEqual(advisories);
  });

  it('says why: what is accepted and what a browser gets, or that TLS 1.3 is missing', () => {
    const partial = evaluateCompliance(findings(pq('partial')), customProfile({ requirePostQuantum: true })).violations[0];
    expect(partial?.message).toBe('no post-quantum key exchange: X25519MLKEM768 is accepted, but a browser offering X25519MLKEM768 and X25519 gets X25519');
    const noTls13 = findings(protocols('TLSv1.2'), set({ postQuantum: { ...postQuantum('classical'), tested: false, groups: [] } }));
    expect(evaluateCompliance(noTls13, customProfile({ requirePostQuantum: true })).violations[0]?.message).toMatch(/TLS 1.3 is not accepted/);
  });
});
