import type { ProbeFindings, SuiteFinding } from './findings.js';
import { rsaEquivalentOfEcBits } from './groups.js';
import type { ProtocolVersion } from './protocols.js';

// An SSL Labs-style grade (SSL Server Rating Guide, version 2009r of
// 2025-05-16): three category scores — protocol support 30 %, key exchange
// 30 %, cipher strength 40 % — give a letter, then caps lower it for known
// weaknesses and warnings turn A into A-; A+ needs a clean A and long-lived
// HSTS. 2009r caps an endpoint without TLS 1.3 at A- and no longer grades
// TLS_FALLBACK_SCSV (the prober reports it; it changes no grade: TLS 1.3
// has its own downgrade protection, and a server with one version has
// nothing to fall back to). Certificate problems (expired, untrusted, wrong
// name) give F here, where SSL Labs shows T or M; the grade the endpoint
// would get without them is reported too. Every cap says why (and, where
// known, which version of the guide introduced it). Pure: findings in, report out.

/** The rating guide version these rules follow. */
export const RATING_GUIDE = '2009r';

export const GRADES = ['A+', 'A', 'A-', 'B', 'C', 'D', 'E', 'F'] as const;
export type Grade = (typeof GRADES)[number];

export interface GradeCap {
  id: string;
  grade: Grade;
  reason: string;
  /** The rating guide version that introduced the rule, where known ('2009r' for the TLS 1.3 cap). */
  guide?: string;
  /** A certificate trust/name problem (SSL Labs' T or M), left out of `ignoringTrust`. */
  trust: boolean;
}

export interface GradeWarning {
  id: string;
  reason: string;
}

export interface GradeReport {
  /** The rating guide version graded by. */
  guide: typeof RATING_GUIDE;
  grade: Grade;
  /** Weighted score 0–100 before caps. */
  score: number;
  categories: { protocol: number; keyExchange: number; cipherStrength: number };
  caps: GradeCap[];
  warnings: GradeWarning[];
  /** Why A+ was or was not given. */
  plus: { awarded: boolean; reason: string };
  /** The grade with certificate trust and name problems set aside. */
  ignoringTrust: Grade;
}

/** HSTS max-age SSL Labs asks for A+: 180 days. */
export const HSTS_A_PLUS_SECONDS = 180 * 24 * 60 * 60;

const PROTOCOL_SCORE: Readonly<Record<ProtocolVersion, number>> = { SSLv3: 80, 'TLSv1.0': 90, 'TLSv1.1': 95, 'TLSv1.2': 100, 'TLSv1.3': 100 };

export function keyExchangeScore(bits: number): number {
  if (bits <= 0) return 0;
  if (bits < 512) return 20;
  if (bits < 1024) return 40;
  if (bits < 2048) return 80;
  if (bits < 4096) return 90;
  return 100;
}

export function cipherStrengthScore(bits: number): number {
  if (bits <= 0) return 0;
  if (bits < 128) return 20;
  if (bits < 256) return 80;
  return 100;
}

export function letterOfScore(score: number): Grade {
  if (score >= 80) return 'A';
  if (score >= 65) return 'B';
  if (score >= 50) return 'C';
  if (score >= 35) return 'D';
  if (score >= 20) return 'E';
  return 'F';
}

function worse(a: Grade, b: Grade): Grade {
  return GRADES.indexOf(a) >= GRADES.indexOf(b) ? a : b;
}

/** RSA-equivalent strength of the certificate key: RSA bits, or an EC key's equivalent. */
function certificateKeyStrength(findings: ProbeFindings): number | undefined {
  const leaf = findings.certificate?.leaf;
  if (leaf?.keySize === undefined) return undefined;
  return leaf.keyAlgorithm === 'RSA' ? leaf.keySize : rsaEquivalentOfEcBits(leaf.keySize);
}

/** The weakest key exchange an accepted suite allows, in RSA-equivalent bits. */
function weakestKeyExchange(findings: ProbeFindings): number | undefined {
  const suites = findings.cipherSuites;
  const candidates: number[] = [];
  if (suites.some((s) => s.anonymous)) candidates.push(0);
  if (suites.some((s) => s.export)) candidates.push(512);
  const { minDhBits, minEcdhBits } = findings.keyExchange;
  if (minDhBits !== undefined) candidates.push(minDhBits);
  if (minEcdhBits !== undefined) candidates.push(rsaEquivalentOfEcBits(minEcdhBits));
  // The certificate key authenticates every exchange (and is the exchange itself with RSA key transport).
  const certificate = certificateKeyStrength(findings);
  if (certificate !== undefined) candidates.push(certificate);
  return candidates.length === 0 ? undefined : Math.min(...candidates);
}

function cipherStrength(suites: readonly SuiteFinding[]): number {
  if (suites.length === 0) return 0;
  const bits = suites.map((s) => cipherStrengthScore(s.strengthBits));
  return (Math.max(...bits) + Math.min(...bits)) / 2;
}

function accepted(findings: ProbeFindings): ProtocolVersion[] {
  return findings.protocols.filter((p) => p.status === 'accepted').map((p) => p.version);
}

interface CapRule {
  id: string;
  grade: Grade;
  /** Guide version that introduced the rule (Changes section of the SSL Server Rating Guide), where known. */
  guide?: string;
  trust?: boolean;
  /** The reason when the cap applies, else undefined. */
  applies(findings: ProbeFindings): string | undefined;
}

const has = (f: ProbeFindings, predicate: (s: SuiteFinding) => boolean): SuiteFinding[] => f.cipherSuites.filter(predicate);
const names = (suites: readonly SuiteFinding[]): string => [...new Set(suites.map((s) => s.name))].join(', ');

const CAP_RULES: readonly CapRule[] = [
  { id: 'no-certificate', grade: 'F', applies: (f) => (f.certificate === undefined ? `no certificate could be read${f.certificateError === undefined ? '' : `: ${f.certificateError}`}` : undefined) },
  { id: 'certificate-expired', grade: 'F', trust: true, applies: (f) => (f.certificate?.validity.state === 'expired' ? `the certificate expired on ${f.certificate.leaf.notAfter} (SSL Labs: T)` : undefined) },
  { id: 'certificate-not-yet-valid', grade: 'F', trust: true, applies: (f) => (f.certificate?.validity.state === 'not-yet-valid' ? `the certificate is not valid before ${f.certificate.leaf.notBefore} (SSL Labs: T)` : undefined) },
  { id: 'certificate-untrusted', grade: 'F', trust: true, applies: (f) => (f.certificate !== undefined && !f.certificate.trust.chainsToAnchor ? `the chain is not trusted: ${f.certificate.trust.reason ?? 'unknown reason'} (SSL Labs: T)` : undefined) },
  { id: 'certificate-revoked', grade: 'F', trust: true, applies: (f) => (f.crl.status === 'revoked' ? `the certificate is revoked (its CRL lists it) (SSL Labs: T)` : undefined) },
  { id: 'certificate-hostname-mismatch', grade: 'F', trust: true, applies: (f) => (f.certificate !== undefined && !f.certificate.hostname.matches ? `the certificate does not cover ${f.certificate.hostname.name} (SSL Labs: M)` : undefined) },
  { id: 'md5-signature', grade: 'F', guide: '2009e', applies: (f) => (f.certificate?.leaf.signatureAlgorithm === 'MD5-RSA' ? 'the certificate is signed with MD5' : undefined) },
  { id: 'sha1-signature', grade: 'F', trust: true, applies: (f) => (/SHA1/.test(f.certificate?.leaf.signatureAlgorithm ?? '') ? 'the certificate is signed with SHA-1, which browsers distrust (SSL Labs: T)' : undefined) },
  { id: 'insecure-key', grade: 'F', guide: '2009e', applies: (f) => { const s = certificateKeyStrength(f); return s !== undefined && s < 1024 ? `the certificate key is equivalent to ${s}-bit RSA, below 1024` : undefined; } },
  { id: 'weak-key', grade: 'B', guide: '2009e', applies: (f) => { const s = certificateKeyStrength(f); return s !== undefined && s >= 1024 && s < 2048 ? `the certificate key is equivalent to ${s}-bit RSA, below 2048` : undefined; } },
  { id: 'heartbleed', grade: 'F', applies: (f) => (f.vulnerabilities.heartbleed.status === 'vulnerable' ? 'the server answers a heartbeat with memory past the request (Heartbleed, CVE-2014-0160)' : undefined) },
  { id: 'ccs-injection', grade: 'F', applies: (f) => (f.vulnerabilities.ccsInjection.status === 'vulnerable' ? 'the server takes an early ChangeCipherSpec (CCS injection, CVE-2014-0224)' : undefined) },
  { id: 'export-suites', grade: 'F', applies: (f) => { const s = has(f, (x) => x.export); return s.length > 0 ? `EXPORT suites are accepted (FREAK/Logjam): ${names(s)}` : undefined; } },
  { id: 'anonymous-suites', grade: 'F', applies: (f) => { const s = has(f, (x) => x.anonymous); return s.length > 0 ? `anonymous suites allow a man in the middle: ${names(s)}` : undefined; } },
  { id: 'null-cipher', grade: 'F', applies: (f) => { const s = has(f, (x) => x.strengthBits === 0); return s.length > 0 ? `suites without encryption are accepted: ${names(s)}` : undefined; } },
  { id: 'insecure-dh', grade: 'F', applies: (f) => { const b = f.keyExchange.minDhBits; return b !== undefined && b < 1024 ? `DH parameters of ${b} bits (Logjam)` : undefined; } },
  { id: 'weak-dh', grade: 'B', applies: (f) => { const b = f.keyExchange.minDhBits; return b !== undefined && b >= 1024 && b < 2048 ? `DH parameters of ${b} bits, below 2048` : undefined; } },
  { id: 'ssl3', grade: 'B', applies: (f) => (accepted(f).includes('SSLv3') ? 'SSL 3.0 is accepted' : undefined) },
  { id: 'poodle', grade: 'C', applies: (f) => (has(f, (x) => x.version === 'SSLv3' && x.mode === 'CBC').length > 0 ? 'SSL 3.0 with CBC suites is accepted (POODLE)' : undefined) },
  { id: 'rc4', grade: 'C', applies: (f) => { const s = has(f, (x) => x.mode === 'stream'); return s.length > 0 ? `RC4 suites are accepted (RFC 7465 forbids them): ${names(s)}` : undefined; } },
  { id: '3des-modern-protocols', grade: 'C', guide: '2009n', applies: (f) => { const s = has(f, (x) => x.cipher.startsWith('3DES') && (x.version === 'TLSv1.1' || x.version === 'TLSv1.2')); return s.length > 0 ? `3DES (64-bit blocks, SWEET32) is accepted with TLS 1.1+: ${names(s)}` : undefined; } },
  { id: 'no-tls12', grade: 'C', applies: (f) => (f.tls && !accepted(f).some((v) => v === 'TLSv1.2' || v === 'TLSv1.3') ? 'neither TLS 1.2 nor TLS 1.3 is accepted' : undefined) },
  { id: 'tls10-tls11', grade: 'B', guide: '2009q', applies: (f) => { const old = accepted(f).filter((v) => v === 'TLSv1.0' || v === 'TLSv1.1'); return old.length > 0 ? `${old.join(' and ')} accepted (deprecated by RFC 8996)` : undefined; } },
  { id: 'no-tls13', grade: 'A-', guide: '2009r', applies: (f) => (f.tls && !accepted(f).includes('TLSv1.3') ? 'TLS 1.3 is not accepted (since 2009r the best grade without it is A-)' : undefined) },
  { id: 'no-forward-secrecy', grade: 'B', applies: (f) => (f.tls && f.forwardSecrecy === 'none' ? 'no accepted suite has forward secrecy' : undefined) },
];

const WARNING_RULES: readonly { id: string; applies(f: ProbeFindings): string | undefined }[] = [
  { id: 'no-aead', applies: (f) => (f.tls && f.aead === 'none' ? 'no AEAD suite (GCM, ChaCha20-Poly1305, CCM) is accepted' : undefined) },
  { id: 'no-secure-renegotiation', applies: (f) => (f.secureRenegotiation.support === 'no' ? 'the server does not support secure renegotiation (RFC 5746)' : undefined) },
];

function plusVerdict(findings: ProbeFindings, grade: Grade): { awarded: boolean; reason: string } {
  if (grade !== 'A') return { awarded: false, reason: `A+ needs a clean A (this is ${grade})` };
  const { hsts } = findings;
  if (hsts.support === 'not-tested') return { awarded: false, reason: 'A+ needs HSTS, which was not checked (HTTP endpoints: --http)' };
  if (hsts.support !== 'yes') return { awarded: false, reason: 'A+ needs HSTS; none was sent' };
  const age = hsts.maxAgeSeconds ?? 0;
  if (age < HSTS_A_PLUS_SECONDS) return { awarded: false, reason: `A+ needs HSTS max-age of at least ${HSTS_A_PLUS_SECONDS} s (180 days), got ${age}` };
  return { awarded: true, reason: `HSTS max-age ${age} s` };
}

export function gradeFindings(findings: ProbeFindings): GradeReport {
  if (!findings.tls) {
    const reason = findings.reachable ? 'no TLS version is accepted' : 'the endpoint cannot be reached';
    return { guide: RATING_GUIDE, grade: 'F', score: 0, categories: { protocol: 0, keyExchange: 0, cipherStrength: 0 }, caps: [{ id: 'no-tls', grade: 'F', reason, trust: false }], warnings: [], plus: { awarded: false, reason }, ignoringTrust: 'F' };
  }
  const versions = accepted(findings).map((v) => PROTOCOL_SCORE[v]);
  const protocol = (Math.max(...versions) + Math.min(...versions)) / 2;
  const weakest = weakestKeyExchange(findings);
  const keyExchange = weakest === undefined ? 0 : keyExchangeScore(weakest);
  const cipher = cipherStrength(findings.cipherSuites);
  const score = Math.round((0.3 * protocol + 0.3 * keyExchange + 0.4 * cipher) * 10) / 10;
  const caps: GradeCap[] = CAP_RULES.flatMap((rule) => {
    const reason = rule.applies(findings);
    return reason === undefined ? [] : [{ id: rule.id, grade: rule.grade, reason, ...(rule.guide === undefined ? {} : { guide: rule.guide }), trust: rule.trust === true }];
  });
  const warnings = WARNING_RULES.flatMap((rule) => {
    const reason = rule.applies(findings);
    return reason === undefined ? [] : [{ id: rule.id, reason }];
  });
  const capped = (withTrust: boolean): Grade => {
    let grade = letterOfScore(score);
    for (const cap of caps) if (withTrust || !cap.trust) grade = worse(grade, cap.grade);
    if (grade === 'A' && warnings.length > 0) grade = 'A-';
    return grade;
  };
  const base = capped(true);
  const plus = plusVerdict(findings, base);
  const trustless = capped(false);
  const lift = (g: Grade): Grade => (g === 'A' && plusVerdict(findings, g).awarded ? 'A+' : g);
  return {
    guide: RATING_GUIDE,
    grade: lift(base),
    score,
    categories: { protocol, keyExchange, cipherStrength: cipher },
    caps,
    warnings,
    plus,
    ignoringTrust: lift(trustless),
  };
}
