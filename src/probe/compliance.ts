import type { CertificateFindings, ProbeFindings } from './findings.js';
import type { ProfileRules, TlsProfile } from './profiles/schema.js';
import { publicLifetimeExcess, publicLifetimeMessage } from './lifetimes.js';
import { postQuantumGroupByName } from './post-quantum.js';
import { suiteByName } from './suites.js';

// Profile compliance: a pure consumer of finished findings. Each rule is a
// named function returning the violations it sees; ids are stable (alerts,
// status fields and tests key on them), messages say what to change.

export const VIOLATION_IDS = [
  'no-tls',
  'no-allowed-protocol',
  'protocol-not-allowed',
  'cipher-suite-not-allowed',
  'tls13-cipher-suite-not-allowed',
  'forward-secrecy-missing',
  'non-aead-cipher-suite',
  'server-cipher-order-not-enforced',
  'tls-curve-not-allowed',
  'ecdh-parameters-too-small',
  'post-quantum-key-exchange-missing',
  'dh-parameters-too-small',
  'certificate-missing',
  'certificate-type-not-allowed',
  'rsa-key-too-small',
  'certificate-curve-not-allowed',
  'certificate-signature-not-allowed',
  'certificate-lifespan-too-long',
  'certificate-lifetime-exceeds-cabf-limit',
  'certificate-expired',
  'certificate-not-yet-valid',
  'certificate-expires-soon',
  'certificate-untrusted',
  'certificate-hostname-mismatch',
  'ocsp-stapling-missing',
  'ocsp-must-staple-not-stapled',
  'client-auth-on-public-server-certificate',
  'certificate-revoked',
  'crl-stale',
  'crl-unavailable',
  'heartbleed',
  'ccs-injection',
  'hsts-missing',
  'hsts-max-age-too-short',
] as const;
export type ViolationId = (typeof VIOLATION_IDS)[number];

export type ViolationCategory = 'protocol' | 'cipher' | 'key-exchange' | 'certificate' | 'validity' | 'feature';

export interface ProfileViolation {
  id: ViolationId;
  category: ViolationCategory;
  /** What it is about: a version, a suite, a group. */
  subject?: string;
  message: string;
}

export interface ComplianceReport {
  profile: { name: string; source: string };
  /** No violations. */
  compliant: boolean;
  /** No violation of category 'validity' (expired, untrusted, wrong name, missing). */
  certificateValid: boolean;
  violations: ProfileViolation[];
  /** Recommendations the profile makes but does not require (a missing OCSP staple for Mozilla's profiles). */
  advisories: ProfileViolation[];
}

interface Rule {
  id: string;
  /** Violations go to `violations`, or to `advisories` when the rule says so per finding. */
  check(findings: ProbeFindings, rules: ProfileRules): { violations: ProfileViolation[]; advisories?: ProfileViolation[] };
}

const v = (id: ViolationId, category: ViolationCategory, message: string, subject?: string): ProfileViolation => (subject === undefined ? { id, category, message } : { id, category, subject, message });
const only = (violations: ProfileViolation[]): { violations: ProfileViolation[] } => ({ violations });

const MOZILLA_SIGNATURE_NAMES: Readonly<Record<string, string>> = {
  'MD5-RSA': 'md5WithRSAEncryption',
  'SHA1-RSA': 'sha1WithRSAEncryption',
  'SHA256-RSA': 'sha256WithRSAEncryption',
  'SHA384-RSA': 'sha384WithRSAEncryption',
  'SHA512-RSA': 'sha512WithRSAEncryption',
  'RSASSA-PSS': 'rsassaPss',
  'ECDSA-SHA1': 'ecdsa-with-SHA1',
  'ECDSA-SHA256': 'ecdsa-with-SHA256',
  'ECDSA-SHA384': 'ecdsa-with-SHA384',
  'ECDSA-SHA512': 'ecdsa-with-SHA512',
  Ed25519: 'ED25519',
};

function acceptedVersions(findings: ProbeFindings): string[] {
  return findings.protocols.filter((p) => p.status === 'accepted').map((p) => p.version);
}

function canonicalSuiteNames(names: readonly string[]): Set<string> {
  return new Set(names.map((n) => suiteByName(n)?.name ?? n));
}

/** "TLS_X (TLSv1.0, TLSv1.2)": one violation per suite, naming the versions it is accepted with. */
function suitesOutside(findings: ProbeFindings, allowed: Set<string>, tls13: boolean): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of findings.cipherSuites) {
    if ((s.version === 'TLSv1.3') !== tls13 || allowed.has(s.name)) continue;
    out.set(s.name, [...(out.get(s.name) ?? []), s.version]);
  }
  return out;
}

function withCertificate(check: (c: CertificateFindings, rules: ProfileRules, f: ProbeFindings) => ProfileViolation[]): Rule['check'] {
  return (findings, rules) => only(findings.certificate === undefined ? [] : check(findings.certificate, rules, findings));
}

const RULES: readonly Rule[] = [
  {
    id: 'tls',
    check: (f) => only(f.tls ? [] : [v('no-tls', 'protocol', f.reachable ? 'no TLS version was accepted' : `cannot connect to ${f.target.host}:${f.target.port}`)]),
  },
  {
    id: 'protocols',
    check: (f, r) => {
      if (r.tlsVersions === undefined || !f.tls) return only([]);
      const allowed = r.tlsVersions;
      const accepted = acceptedVersions(f);
      const out = accepted.filter((ver) => !allowed.some((a) => a === ver)).map((ver) => v('protocol-not-allowed', 'protocol', `${ver} is accepted; the profile allows ${allowed.join(', ')}`, ver));
      if (!accepted.some((ver) => allowed.some((a) => a === ver))) out.push(v('no-allowed-protocol', 'protocol', `none of ${allowed.join(', ')} is accepted`));
      return only(out);
    },
  },
  {
    id: 'cipher-suites',
    check: (f, r) => {
      const out: ProfileViolation[] = [];
      if (r.cipherSuites !== undefined) {
        for (const [name, versions] of suitesOutside(f, canonicalSuiteNames(r.cipherSuites), false)) {
          out.push(v('cipher-suite-not-allowed', 'cipher', `${name} is accepted (${versions.join(', ')}) but not in the profile`, name));
        }
      }
      if (r.tls13CipherSuites !== undefined) {
        for (const [name] of suitesOutside(f, canonicalSuiteNames(r.tls13CipherSuites), true)) {
          out.push(v('tls13-cipher-suite-not-allowed', 'cipher', `TLS 1.3 suite ${name} is accepted but not in the profile`, name));
        }
      }
      return only(out);
    },
  },
  {
    id: 'forward-secrecy',
    check: (f, r) => only(r.requireForwardSecrecy !== true ? [] : f.cipherSuites.filter((s) => !s.forwardSecrecy).map((s) => v('forward-secrecy-missing', 'cipher', `${s.name} (${s.version}) has no forward secrecy`, s.name))),
  },
  {
    id: 'aead',
    check: (f, r) => only(r.requireAEAD !== true ? [] : f.cipherSuites.filter((s) => !s.aead).map((s) => v('non-aead-cipher-suite', 'cipher', `${s.name} (${s.version}) is not an AEAD suite`, s.name))),
  },
  {
    id: 'server-order',
    check: (f, r) =>
      only(
        r.serverPreferredOrder !== true
          ? []
          : f.serverPreference
              .filter((p) => p.version !== 'TLSv1.3' && p.enforced === false)
              .map((p) => v('server-cipher-order-not-enforced', 'cipher', `with ${p.version} the client chooses the suite; the profile wants the server's order`, p.version)),
      ),
  },
  {
    id: 'groups',
    check: (f, r) => {
      const out: ProfileViolation[] = [];
      const ec = f.keyExchange.groups.filter((g) => !g.name.startsWith('ffdhe'));
      if (r.tlsCurves !== undefined) {
        const allowed = r.tlsCurves;
        for (const g of ec.filter((g) => !allowed.includes(g.name))) out.push(v('tls-curve-not-allowed', 'key-exchange', `group ${g.name} is accepted; the profile allows ${allowed.join(', ')}`, g.name));
        // Only a profile that names post-quantum groups has a say about them.
        if (allowed.some((name) => postQuantumGroupByName(name) !== undefined)) {
          for (const g of f.postQuantum.groups.filter((g) => g.status === 'accepted' && !allowed.includes(g.name))) {
            out.push(v('tls-curve-not-allowed', 'key-exchange', `post-quantum group ${g.name} is accepted; the profile allows ${allowed.join(', ')}`, g.name));
          }
        }
      }
      const minEcdh = f.keyExchange.minEcdhBits;
      if (r.ecdhParamSize !== undefined && minEcdh !== undefined && minEcdh < r.ecdhParamSize) {
        out.push(v('ecdh-parameters-too-small', 'key-exchange', `an ECDH group of ${minEcdh} bits is used; the profile wants at least ${r.ecdhParamSize}`));
      }
      const minDh = f.keyExchange.minDhBits;
      if (r.dhParamSize !== undefined && minDh !== undefined && minDh < r.dhParamSize) {
        out.push(v('dh-parameters-too-small', 'key-exchange', `DH parameters of ${minDh} bits are used; the profile wants at least ${r.dhParamSize}`));
      }
      return only(out);
    },
  },
  {
    id: 'post-quantum',
    check: (f, r) => {
      const required = r.postQuantumKeyExchange === 'required' || r.requirePostQuantum === true;
      if ((r.postQuantumKeyExchange === undefined && !required) || !f.tls) return only([]);
      const pq = f.postQuantum;
      if (pq.readiness === 'ready') return only([]);
      if (pq.readiness === 'unknown') {
        const failed = pq.groups.find((g) => g.status === 'error');
        const missing = v('post-quantum-key-exchange-missing', 'key-exchange', `whether a post-quantum group is negotiated could not be told${failed?.detail === undefined ? '' : ` (${failed.name}: ${failed.detail})`}`);
        return { violations: [], advisories: [missing] };
      }
      const why = !pq.tested
        ? 'TLS 1.3 is not accepted, and post-quantum groups exist only there'
        : pq.readiness === 'partial'
          ? `${pq.groups.filter((g) => g.status === 'accepted').map((g) => g.name).join(', ')} ${pq.groups.filter((g) => g.status === 'accepted').length === 1 ? 'is' : 'are'} accepted, but a browser offering X25519MLKEM768 and X25519 gets ${pq.browserChoice ?? 'a classical group'}`
          : 'no post-quantum group (X25519MLKEM768 first) is accepted';
      const missing = v('post-quantum-key-exchange-missing', 'key-exchange', `no post-quantum key exchange: ${why}`);
      return required ? only([missing]) : { violations: [], advisories: [missing] };
    },
  },
  {
    id: 'certificate-present',
    check: (f) => only(f.tls && f.certificate === undefined ? [v('certificate-missing', 'validity', `no certificate could be read: ${f.certificateError ?? 'unknown reason'}`)] : []),
  },
  {
    id: 'certificate-key',
    check: withCertificate(({ leaf }, r) => {
      const out: ProfileViolation[] = [];
      const type = leaf.keyAlgorithm.toLowerCase();
      if (r.certificateTypes !== undefined && !r.certificateTypes.some((t) => t === type)) {
        out.push(v('certificate-type-not-allowed', 'certificate', `the certificate has a ${leaf.keyAlgorithm} key; the profile allows ${r.certificateTypes.join(', ')}`, leaf.keyAlgorithm));
      }
      if (r.rsaKeySize !== undefined && leaf.keyAlgorithm === 'RSA' && (leaf.keySize ?? 0) < r.rsaKeySize) {
        out.push(v('rsa-key-too-small', 'certificate', `the certificate's RSA key has ${leaf.keySize ?? '?'} bits; the profile wants at least ${r.rsaKeySize}`, `RSA ${leaf.keySize ?? '?'}`));
      }
      if (r.certificateCurves !== undefined && leaf.keyAlgorithm === 'ECDSA' && (leaf.curve === undefined || !r.certificateCurves.includes(leaf.curve))) {
        out.push(v('certificate-curve-not-allowed', 'certificate', `the certificate's key is on ${leaf.curve ?? 'an unknown curve'}; the profile allows ${r.certificateCurves.join(', ')}`, leaf.curve));
      }
      const signature = MOZILLA_SIGNATURE_NAMES[leaf.signatureAlgorithm] ?? leaf.signatureAlgorithm;
      if (r.certificateSignatures !== undefined && !r.certificateSignatures.includes(signature)) {
        out.push(v('certificate-signature-not-allowed', 'certificate', `the certificate is signed with ${signature}; the profile allows ${r.certificateSignatures.join(', ')}`, signature));
      }
      return out;
    }),
  },
  {
    id: 'certificate-lifespan',
    check: withCertificate(({ validity }, r) =>
      r.maximumCertificateLifespanDays !== undefined && validity.lifetimeDays > r.maximumCertificateLifespanDays
        ? [v('certificate-lifespan-too-long', 'certificate', `the certificate is valid for ${validity.lifetimeDays} days; the profile allows at most ${r.maximumCertificateLifespanDays}`)]
        : [],
    ),
  },
  {
    id: 'cabf-lifetime',
    // Every profile: browsers enforce it on publicly trusted certificates whatever a profile says.
    check: (f) => {
      const c = f.certificate;
      if (c === undefined || !c.trust.publiclyTrusted) return only([]);
      const notBefore = new Date(c.leaf.notBefore);
      const excess = publicLifetimeExcess(notBefore, c.validity.lifetimeDays);
      return only(excess === undefined ? [] : [v('certificate-lifetime-exceeds-cabf-limit', 'certificate', publicLifetimeMessage(excess, notBefore))]);
    },
  },
  {
    id: 'certificate-validity',
    check: withCertificate(({ leaf, validity, trust, hostname }, r) => {
      const out: ProfileViolation[] = [];
      if (validity.state === 'expired') out.push(v('certificate-expired', 'validity', `the certificate expired on ${leaf.notAfter}`));
      if (validity.state === 'not-yet-valid') out.push(v('certificate-not-yet-valid', 'validity', `the certificate is not valid before ${leaf.notBefore}`));
      if (validity.state === 'valid' && r.minDaysToExpiry !== undefined && validity.daysRemaining < r.minDaysToExpiry) {
        out.push(v('certificate-expires-soon', 'validity', `the certificate expires in ${validity.daysRemaining} days (${leaf.notAfter}); at least ${r.minDaysToExpiry} are required`));
      }
      if (!trust.chainsToAnchor) {
        const anchors = trust.anchors === 'system' ? 'the system roots' : 'the CA bundle';
        out.push(v('certificate-untrusted', 'validity', `the served chain does not lead to ${anchors}: ${trust.reason ?? 'unknown reason'}`));
      }
      if (!hostname.matches) {
        out.push(v('certificate-hostname-mismatch', 'validity', `the certificate does not cover ${hostname.name} (it names ${[...leaf.dnsNames, ...leaf.ipAddresses].join(', ') || 'no subjectAltName'})`, hostname.name));
      }
      return out;
    }),
  },
  {
    id: 'ocsp-stapling',
    check: (f, r) => {
      const required = r.ocspStapling === 'required' || r.requireOCSPStapling === true;
      if ((r.ocspStapling === undefined && !required) || !f.tls || f.ocspStapling.support === 'yes') return only([]);
      // Nothing to staple without a responder (Let's Encrypt ended OCSP in 2025): advice would be noise, a requirement cannot be met.
      if (f.certificate !== undefined && f.certificate.leaf.ocspUrls.length === 0) {
        return only(required ? [v('ocsp-stapling-missing', 'feature', 'no OCSP response is stapled, and none can be: the certificate names no OCSP responder')] : []);
      }
      const detail = f.ocspStapling.support === 'unknown' ? ` (the check failed: ${f.ocspStapling.detail ?? 'unknown reason'})` : '';
      const missing = v('ocsp-stapling-missing', 'feature', `no OCSP response is stapled${detail}`);
      return required ? only([missing]) : { violations: [], advisories: [missing] };
    },
  },
  {
    id: 'must-staple',
    check: (f) =>
      only(
        f.certificate?.leaf.mustStaple === true && f.ocspStapling.support === 'no'
          ? [v('ocsp-must-staple-not-stapled', 'validity', 'the certificate demands a stapled OCSP response (TLS Feature "Must-Staple"), and none is stapled: clients that honour it refuse the connection')]
          : [],
      ),
  },
  {
    id: 'client-auth-eku',
    // The Chrome root program ends clientAuth in publicly trusted server certificates (Let's Encrypt dropped it in February 2026).
    check: (f) => {
      const c = f.certificate;
      if (c === undefined || !c.trust.publiclyTrusted || !c.leaf.usages.includes('client auth')) return only([]);
      return { violations: [], advisories: [v('client-auth-on-public-server-certificate', 'certificate', 'the publicly trusted server certificate also allows client authentication (clientAuth), which public CAs no longer issue for TLS servers')] };
    },
  },
  {
    id: 'crl',
    check: (f) => {
      const { crl } = f;
      switch (crl.status) {
        case 'revoked':
          return only([v('certificate-revoked', 'validity', `the certificate is revoked: ${crl.detail ?? ''} (${crl.url ?? ''})`)]);
        case 'stale':
          return only([v('crl-stale', 'validity', `${crl.detail ?? 'the CRL is out of date'} (${crl.url ?? ''}): clients that check it cannot tell whether the certificate is revoked`)]);
        case 'unavailable':
          return { violations: [], advisories: [v('crl-unavailable', 'validity', `the certificate's CRL could not be checked: ${crl.detail ?? 'unknown reason'}`)] };
        case 'current':
        case 'not-tested':
          return only([]);
      }
    },
  },
  {
    id: 'vulnerabilities',
    check: (f) =>
      only([
        ...(f.vulnerabilities.heartbleed.status === 'vulnerable' ? [v('heartbleed', 'protocol', 'the server leaks memory in heartbeat responses (Heartbleed, CVE-2014-0160): upgrade OpenSSL')] : []),
        ...(f.vulnerabilities.ccsInjection.status === 'vulnerable' ? [v('ccs-injection', 'protocol', 'the server accepts an early ChangeCipherSpec (CVE-2014-0224): upgrade OpenSSL')] : []),
      ]),
  },
  {
    id: 'hsts',
    check: (f, r) => {
      const min = r.hstsMinAgeSeconds;
      if (min === undefined || f.hsts.support === 'not-tested' || f.hsts.support === 'unknown') return only([]);
      if (f.hsts.support === 'no') return only([v('hsts-missing', 'feature', 'the HTTP answer has no Strict-Transport-Security header')]);
      const age = f.hsts.maxAgeSeconds ?? 0;
      return only(age < min ? [v('hsts-max-age-too-short', 'feature', `HSTS max-age is ${age} s; the profile wants at least ${min} s`)] : []);
    },
  },
];

/** Judges findings against a profile. Pure; never throws for well-formed findings. */
export function evaluateCompliance(findings: ProbeFindings, profile: TlsProfile): ComplianceReport {
  const violations: ProfileViolation[] = [];
  const advisories: ProfileViolation[] = [];
  for (const rule of RULES) {
    const result = rule.check(findings, profile.rules);
    violations.push(...result.violations);
    advisories.push(...(result.advisories ?? []));
  }
  return {
    profile: { name: profile.name, source: profile.source },
    compliant: violations.length === 0,
    certificateValid: !violations.some((x) => x.category === 'validity') && findings.certificate !== undefined,
    violations,
    advisories,
  };
}
