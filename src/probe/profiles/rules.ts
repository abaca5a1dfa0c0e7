import type { ProtocolVersion } from '../protocols.js';

// A TLS profile is data: what a compliant endpoint may accept and must
// offer. Mozilla's profiles are one source; a `custom` profile gives the
// fields explicitly. Every field is optional: an absent field is not checked.
//
// These are the types alone. The probe reads the built-in profiles through
// them without loading the schema library (~9 MB of RSS in `certkeeper
// probe`); schema.ts validates what users write (custom profiles, overrides)
// and holds itself equal to these types, and a unit test holds the built-in
// profiles to it.

export const CERTIFICATE_TYPES = ['ecdsa', 'rsa', 'ed25519'] as const;
export type CertificateType = (typeof CERTIFICATE_TYPES)[number];

export interface ProfileRules {
  /** Versions that may be accepted. */
  tlsVersions?: ProtocolVersion[];
  /** Shorthand for custom profiles: this version and newer. */
  minVersion?: ProtocolVersion;
  /** TLS 1.2-and-older suites that may be accepted (IANA or OpenSSL names). */
  cipherSuites?: string[];
  /** TLS 1.3 suites that may be accepted. */
  tls13CipherSuites?: string[];
  certificateTypes?: CertificateType[];
  /** OpenSSL curve names an ECDSA certificate key may use. */
  certificateCurves?: string[];
  /** Mozilla's names: sha256WithRSAEncryption, ecdsa-with-SHA256, ... */
  certificateSignatures?: string[];
  /** Minimum RSA certificate key size. */
  rsaKeySize?: number;
  /** Minimum finite-field DH group size. */
  dhParamSize?: number;
  /** Minimum ECDH group size (nominal bits). */
  ecdhParamSize?: number;
  /**
   * Elliptic-curve groups that may be accepted. Post-quantum groups are
   * judged against it only when it names one (guidelines older than
   * post-quantum TLS say nothing about them, which is not a ban).
   */
  tlsCurves?: string[];
  /** 'required': a browser's offer must get a post-quantum group (readiness `ready`); 'recommended': only an advisory. */
  postQuantumKeyExchange?: 'required' | 'recommended';
  /** TLSPolicy's spelling of postQuantumKeyExchange: 'required'. */
  requirePostQuantum?: boolean;
  /** true: the server must impose its own suite order (TLS 1.2 and older). */
  serverPreferredOrder?: boolean;
  maximumCertificateLifespanDays?: number;
  /** 'required' makes a missing staple a violation; 'recommended' only an advisory. */
  ocspStapling?: 'required' | 'recommended';
  /** TLSPolicy's spelling of ocspStapling: 'required'. */
  requireOCSPStapling?: boolean;
  hstsMinAgeSeconds?: number;
  requireForwardSecrecy?: boolean;
  requireAEAD?: boolean;
  /** The served leaf must stay valid at least this many days. */
  minDaysToExpiry?: number;
}

export interface TlsProfile {
  /** modern | intermediate | old | custom. */
  name: string;
  /** Where the figures come from ("Mozilla server-side TLS 5.7", "custom"). */
  source: string;
  rules: ProfileRules;
}

/** A profile that cannot be had as asked: a bad field, a retired configuration. */
export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

/** Holds two types equal: a schema and the types it validates. */
export type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
