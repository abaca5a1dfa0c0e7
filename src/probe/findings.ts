import type { JobStatus } from './jobs/outcome.js';
import type { ProtocolVersion } from './protocols.js';
import type { Authentication, CipherMode, KeyExchange } from './suites.js';

// The findings: what one scan established about an endpoint, as frozen plain
// data (dates as ISO strings) that the judges read, the renderers print, and
// the operator stores. No verdicts here — whether TLS 1.0 is a problem is
// for a profile or the grade to say.

export const FINDINGS_SCHEMA_VERSION = 2;

/** A capability probed by one job: 'unknown' when the job could not tell, 'not-tested' when it did not apply. */
export type Support = 'yes' | 'no' | 'unknown' | 'not-tested';

export interface CheckResult {
  support: Support;
  /** Why not / what went wrong, for the report. */
  detail?: string;
}

export interface ProtocolFinding {
  version: ProtocolVersion;
  status: JobStatus;
  /** How acceptance was seen: a node:tls handshake or a hand-built hello. */
  via?: 'node' | 'raw';
  detail?: string;
}

export interface SuiteFinding {
  version: ProtocolVersion;
  id: number;
  /** IANA name. */
  name: string;
  openssl: string;
  keyExchange: KeyExchange;
  authentication: Authentication;
  /** Bulk cipher as in the IANA name: AES_128_GCM, 3DES_EDE_CBC, RC4_128... */
  cipher: string;
  mode: CipherMode;
  strengthBits: number;
  forwardSecrecy: boolean;
  aead: boolean;
  export: boolean;
  anonymous: boolean;
  via: 'node' | 'raw';
  /** The (EC)DH group of a full handshake with this suite ('X25519', 'ffdhe2048', 'DH 1024'). */
  keyExchangeGroup?: string;
  keyExchangeBits?: number;
}

export interface SuiteProbeError {
  version: ProtocolVersion;
  id: number;
  name: string;
  error: string;
}

export interface ServerPreferenceFinding {
  version: ProtocolVersion;
  /** undefined: fewer than two suites accepted, or the probe failed (see detail). */
  enforced: boolean | undefined;
  /** IANA names, the server's favourite first; empty unless it enforces an order (TLS 1.2 and older). */
  order: string[];
  detail?: string;
}

export interface GroupFinding {
  /** OpenSSL name: X25519, prime256v1, ffdhe2048... */
  name: string;
  /** Nominal group size (256 for X25519, though OpenSSL reports 253; the prime size for ffdhe). */
  bits: number;
}

export interface KeyExchangeFindings {
  /** Groups the server accepted when offered alone. */
  groups: GroupFinding[];
  /** Groups whose probe could not decide. */
  groupErrors: string[];
  /** Smallest ECDH group seen, in bits. */
  minEcdhBits: number | undefined;
  /** Smallest finite-field DH group seen (DHE suites or ffdhe groups), in bits. */
  minDhBits: number | undefined;
  /** Some accepted suite uses RSA key transport (no forward secrecy). */
  rsaKeyTransport: boolean;
}

export type Coverage = 'all' | 'some' | 'none';

export interface PostQuantumGroupFinding {
  /** IANA name: X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024, MLKEM512, MLKEM768, MLKEM1024. */
  name: string;
  /** IANA code point. */
  id: number;
  kind: 'hybrid' | 'ml-kem';
  /** Offered alone with a share: taken (accepted), refused (rejected), or the probe could not tell (error). */
  status: JobStatus;
  detail?: string;
}

/**
 * How far an endpoint is in post-quantum key exchange:
 * - `ready`: a browser's offer (X25519MLKEM768 and X25519 shares) gets a post-quantum group;
 * - `partial`: some post-quantum group is accepted, but a browser's offer gets a classical one;
 * - `classical`: no post-quantum group is accepted (or TLS 1.3 is not: they exist only there);
 * - `unknown`: the probes could not tell.
 */
export type PostQuantumReadiness = 'ready' | 'partial' | 'classical' | 'unknown';

export interface PostQuantumFindings {
  readiness: PostQuantumReadiness;
  /** Whether the groups were probed: only with TLS 1.3. */
  tested: boolean;
  groups: PostQuantumGroupFinding[];
  /** What a browser's offer (X25519MLKEM768 first, X25519, a share for each) got: a group name, undefined when the probe failed. */
  browserChoice: string | undefined;
  /** The server's own pick when the classical groups are listed first and every accepted post-quantum group follows, each with a share. */
  serverPick: string | undefined;
  /** True: the server prefers post-quantum over the client's order (it picked one though classical ones came first). */
  serverPrefersPostQuantum: boolean | undefined;
  /**
   * A client listing the first accepted post-quantum group first but sending a share for X25519 only:
   * `retry` the server asks for the post-quantum share with a HelloRetryRequest (a round trip more);
   * `classical` it takes X25519 at once. undefined when not probed or the probe failed.
   */
  withoutShare: { group: string; answer: 'retry' | 'classical' } | undefined;
}

export interface CertificateDetails {
  subject: string;
  commonName: string | undefined;
  issuer: string;
  dnsNames: string[];
  ipAddresses: string[];
  /** 'RSA' | 'ECDSA' | 'Ed25519' or node's name for other key types. */
  keyAlgorithm: string;
  keySize: number | undefined;
  /** OpenSSL curve name of an ECDSA key (prime256v1, secp384r1, secp521r1). */
  curve: string | undefined;
  /** Go's names: 'SHA256-RSA', 'ECDSA-SHA256', ... */
  signatureAlgorithm: string;
  notBefore: string;
  notAfter: string;
  serialNumber: string;
  fingerprintSHA256: string;
  isCA: boolean;
  selfSigned: boolean;
  /** OCSP responders the certificate names (AIA). */
  ocspUrls: string[];
  /** CRL distribution points it names. */
  crlUrls: string[];
  /** TLS Feature status_request (RFC 7633 "Must-Staple"): clients may refuse it without a stapled OCSP response. */
  mustStaple: boolean;
  /** Key and extended key usages, cert-manager's names ('server auth', 'client auth', ...). */
  usages: string[];
}

export type ValidityState = 'valid' | 'expired' | 'not-yet-valid';

export interface CertificateFindings {
  leaf: CertificateDetails;
  /** Everything served, leaf first. */
  served: CertificateDetails[];
  /** CA certificates served after the leaf, not counting a self-signed root. */
  intermediatesSent: number;
  rootSent: boolean;
  trust: {
    /** 'ca-bundle' when a CA file was given, else node's bundled Mozilla roots. */
    anchors: 'ca-bundle' | 'system';
    /** The served chain leads to an anchor (judged inside the leaf's validity window; expiry is reported apart). */
    chainsToAnchor: boolean;
    /** The chain leads to a public root (node's Mozilla bundle): the CA/Browser Forum's rules apply. */
    publiclyTrusted: boolean;
    reason?: string;
  };
  hostname: { name: string; matches: boolean };
  validity: { state: ValidityState; daysRemaining: number; lifetimeDays: number };
}

/**
 * The leaf's CRL (fetched only for private CAs, when asked):
 * `current` it lists nothing about the leaf and nextUpdate is ahead; `stale`
 * nextUpdate has passed; `revoked` the leaf is listed; `unavailable` it could
 * not be fetched or read; `not-tested` not fetched (public chain, no http
 * distribution point, or fetching off).
 */
export interface CrlFindings {
  status: 'current' | 'stale' | 'revoked' | 'unavailable' | 'not-tested';
  url?: string;
  thisUpdate?: string;
  nextUpdate?: string;
  /** Signed by the served issuer (undefined: the issuer was not served). */
  signatureValid?: boolean;
  detail?: string;
}

export interface ResumptionFindings {
  sessionIds: CheckResult;
  tickets: CheckResult;
  /** Median full and resumed handshake times, from the ticket probe when it worked, else the session-id one. */
  fullHandshakeMs: number | undefined;
  resumedHandshakeMs: number | undefined;
}

export interface VulnerabilityFinding {
  status: 'vulnerable' | 'not-vulnerable' | 'unknown' | 'not-tested';
  detail?: string;
}

export interface HstsFindings extends CheckResult {
  header?: string;
  maxAgeSeconds?: number;
  includeSubDomains?: boolean;
  preload?: boolean;
}

export interface ProbeFindings {
  schemaVersion: typeof FINDINGS_SCHEMA_VERSION;
  target: { host: string; port: number; serverName: string | undefined };
  scannedAt: string;
  durationMs: number;
  /** A TCP connection could be made. */
  reachable: boolean;
  /** Some protocol version was accepted. */
  tls: boolean;
  protocols: ProtocolFinding[];
  /** Accepted suites, per version (oldest first), ascending code point. */
  cipherSuites: SuiteFinding[];
  suiteErrors: SuiteProbeError[];
  serverPreference: ServerPreferenceFinding[];
  keyExchange: KeyExchangeFindings;
  postQuantum: PostQuantumFindings;
  forwardSecrecy: Coverage;
  aead: Coverage;
  certificate: CertificateFindings | undefined;
  /** Why there is no certificate finding. */
  certificateError?: string;
  ocspStapling: CheckResult;
  crl: CrlFindings;
  alpn: { h2: CheckResult; http11: CheckResult };
  resumption: ResumptionFindings;
  secureRenegotiation: CheckResult;
  /** RFC 7627, TLS 1.2 and older (built into TLS 1.3). */
  extendedMasterSecret: CheckResult;
  /** RFC 7507: yes = a fallback hello is refused with inappropriate_fallback. Reported, not graded (SSL Labs 2009r). */
  fallbackScsv: CheckResult;
  /** yes = the server completes a renegotiation the client starts (a DoS lever). */
  clientRenegotiation: CheckResult;
  vulnerabilities: { heartbleed: VulnerabilityFinding; ccsInjection: VulnerabilityFinding };
  hsts: HstsFindings;
  /** Checks that could not decide, for the report. */
  errors: { check: string; message: string }[];
}
