import { describe, expect, it } from 'vitest';
import { cipherStrengthScore, gradeFindings, keyExchangeScore, letterOfScore, type Grade } from '../../../src/probe/grade.js';
import { addSuites, findings, onlySuites, protocols, set, suite, withCertificate, withKeyExchange, withLeaf, type Change } from './findings-builders.js';

type Case = [name: string, changes: Change[], grade: Grade, caps: string[], ignoringTrust?: Grade];

const noHsts = set({ hsts: { support: 'not-tested' } });
const cbcOnly = onlySuites(suite('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.2'), suite('TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'TLSv1.2'));

const CASES: Case[] = [
  ['a healthy endpoint with two-year HSTS gets A+', [], 'A+', []],
  ['without an HSTS check the best is A', [noHsts], 'A', []],
  ['HSTS shorter than 180 days is no A+', [set({ hsts: { support: 'yes', header: 'max-age=86400', maxAgeSeconds: 86400 } })], 'A', []],
  ['TLS 1.0/1.1 cap at B', [protocols('TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3')], 'B', ['tls10-tls11']],
  ['no TLS 1.2 or 1.3 caps at C', [protocols('TLSv1.0', 'TLSv1.1'), addSuites(suite('TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'TLSv1.0'))], 'C', ['no-tls12', 'tls10-tls11', 'no-tls13']],
  ['SSL 3.0 with CBC is POODLE: C', [protocols('SSLv3', 'TLSv1.2'), addSuites(suite('TLS_RSA_WITH_AES_128_CBC_SHA', 'SSLv3'))], 'C', ['ssl3', 'poodle', 'no-tls13']],
  ['RC4 caps at C', [addSuites(suite('TLS_ECDHE_RSA_WITH_RC4_128_SHA', 'TLSv1.2'))], 'C', ['rc4']],
  ['3DES with TLS 1.2 caps at C', [addSuites(suite('TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLSv1.2'))], 'C', ['3des-modern-protocols']],
  ['3DES with TLS 1.0 only is not SWEET32-capped', [protocols('TLSv1.0', 'TLSv1.2', 'TLSv1.3'), addSuites(suite('TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLSv1.0'))], 'B', ['tls10-tls11']],
  ['EXPORT suites give F', [addSuites(suite('TLS_RSA_EXPORT_WITH_RC4_40_MD5', 'TLSv1.2'))], 'F', ['export-suites', 'rc4']],
  ['anonymous suites give F', [addSuites(suite('TLS_DH_anon_WITH_AES_128_GCM_SHA256', 'TLSv1.2'))], 'F', ['anonymous-suites']],
  ['NULL encryption gives F', [addSuites(suite('TLS_RSA_WITH_NULL_SHA256', 'TLSv1.2'))], 'F', ['null-cipher']],
  ['an RSA 1024 key caps at B', [withLeaf({ keySize: 1024 })], 'B', ['weak-key']],
  ['an RSA 512 key gives F', [withLeaf({ keySize: 512 })], 'F', ['insecure-key']],
  ['DH 1024 caps at B', [withKeyExchange({ minDhBits: 1024 })], 'B', ['weak-dh']],
  ['DH 512 gives F', [withKeyExchange({ minDhBits: 512 })], 'F', ['insecure-dh']],
  ['no forward secrecy caps at B', [protocols('TLSv1.2'), onlySuites(suite('TLS_RSA_WITH_AES_128_GCM_SHA256', 'TLSv1.2'), suite('TLS_RSA_WITH_AES_256_GCM_SHA384', 'TLSv1.2'))], 'B', ['no-tls13', 'no-forward-secrecy']],
  ['no AEAD is a warning: A- (and no TLS 1.3 caps there too)', [protocols('TLSv1.2'), cbcOnly], 'A-', ['no-tls13']],
  ['2009r: TLS 1.2 alone, otherwise flawless with long HSTS, caps at A-', [protocols('TLSv1.2')], 'A-', ['no-tls13']],
  ['2009r: TLS 1.3 alone gets A+ (no fallback to protect, TLS_FALLBACK_SCSV is not graded)', [protocols('TLSv1.3'), onlySuites(suite('TLS_AES_128_GCM_SHA256', 'TLSv1.3'), suite('TLS_AES_256_GCM_SHA384', 'TLSv1.3'))], 'A+', []],
  ['2009r: no TLS 1.3 and an expired certificate: F, A- ignoring trust', [protocols('TLSv1.2'), withCertificate({ validity: { state: 'expired', daysRemaining: -1, lifetimeDays: 90 } })], 'F', ['certificate-expired', 'no-tls13'], 'A-'],
  ['no secure renegotiation is a warning: A-', [set({ secureRenegotiation: { support: 'no' } })], 'A-', []],
  ['expired: F, A+ once trust is set aside', [withCertificate({ validity: { state: 'expired', daysRemaining: -2, lifetimeDays: 90 } })], 'F', ['certificate-expired'], 'A+'],
  ['not yet valid: F', [withCertificate({ validity: { state: 'not-yet-valid', daysRemaining: 100, lifetimeDays: 90 } })], 'F', ['certificate-not-yet-valid'], 'A+'],
  ['wrong name: F (M)', [withCertificate({ hostname: { name: 'app.example', matches: false } })], 'F', ['certificate-hostname-mismatch'], 'A+'],
  ['untrusted: F (T)', [withCertificate({ trust: { anchors: 'system', chainsToAnchor: false, publiclyTrusted: false, reason: 'x' } })], 'F', ['certificate-untrusted'], 'A+'],
  ['SHA-1 signed: F (T)', [withLeaf({ signatureAlgorithm: 'SHA1-RSA' })], 'F', ['sha1-signature'], 'A+'],
  ['MD5 signed: F even ignoring trust', [withLeaf({ signatureAlgorithm: 'MD5-RSA' })], 'F', ['md5-signature'], 'F'],
  ['no certificate: F', [set({ certificate: undefined, certificateError: 'x' })], 'F', ['no-certificate'], 'F'],
  ['expired and TLS 1.0: F, B ignoring trust', [protocols('TLSv1.0', 'TLSv1.2'), withCertificate({ validity: { state: 'expired', daysRemaining: -1, lifetimeDays: 90 } })], 'F', ['certificate-expired', 'tls10-tls11', 'no-tls13'], 'B'],
  ['nothing answers: F', [protocols(), set({ certificate: undefined })], 'F', ['no-tls'], 'F'],
];

describe('gradeFindings', () => {
  it.each(CASES)('%s', (_name, changes, grade, caps, ignoringTrust) => {
    const report = gradeFindings(findings(...changes));
    expect(report.grade).toBe(grade);
    expect(report.caps.map((c) => c.id)).toEqual(caps);
    expect(report.ignoringTrust).toBe(ignoringTrust ?? grade);
    for (const cap of report.caps) expect(cap.reason.length).toBeGreaterThan(10);
  });

  it('scores the categories the SSL Labs way', () => {
    expect(gradeFindings(findings())).toMatchObject({ score: 93, categories: { protocol: 100, keyExchange: 90, cipherStrength: 90 } });
    const old = gradeFindings(findings(protocols('TLSv1.0', 'TLSv1.2'), addSuites(suite('TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLSv1.0')), withLeaf({ keySize: 4096 }), withKeyExchange({ minEcdhBits: 384 })));
    // protocol (100+90)/2, key exchange min(4096 → 100, P-384 → 7680 → 100), cipher (AES-256 100 + 3DES 112 bits 20)/2
    expect(old).toMatchObject({ score: 82.5, categories: { protocol: 95, keyExchange: 100, cipherStrength: 60 } });
  });

  it('explains warnings and A+', () => {
    const report = gradeFindings(findings(protocols('TLSv1.2'), cbcOnly));
    expect(report.warnings).toEqual([{ id: 'no-aead', reason: 'no AEAD suite (GCM, ChaCha20-Poly1305, CCM) is accepted' }]);
    expect(report.plus).toEqual({ awarded: false, reason: 'A+ needs a clean A (this is A-)' });
    expect(gradeFindings(findings(noHsts)).plus.reason).toMatch(/not checked/);
  });

  it('names the guide, and the version that introduced a cap where it is known', () => {
    const report = gradeFindings(findings(protocols('TLSv1.1', 'TLSv1.2')));
    expect(report.guide).toBe('2009r');
    expect(report.caps).toEqual([
      { id: 'tls10-tls11', grade: 'B', guide: '2009q', reason: 'TLSv1.1 accepted (deprecated by RFC 8996)', trust: false },
      { id: 'no-tls13', grade: 'A-', guide: '2009r', reason: 'TLS 1.3 is not accepted (since 2009r the best grade without it is A-)', trust: false },
    ]);
  });

  it('maps scores and strengths to the guide tables', () => {
    expect([80, 79.9, 65, 64.9, 50, 49.9, 35, 34.9, 20, 19.9].map(letterOfScore)).toEqual(['A', 'B', 'B', 'C', 'C', 'D', 'D', 'E', 'E', 'F']);
    expect([0, 300, 512, 1023, 1024, 2047, 2048, 4095, 4096].map(keyExchangeScore)).toEqual([0, 20, 40, 40, 80, 80, 90, 90, 100]);
    expect([0, 40, 56, 112, 128, 168, 256].map(cipherStrengthScore)).toEqual([0, 20, 20, 20, 80, 80, 100]);
  });
});
