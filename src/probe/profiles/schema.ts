import { z } from 'zod';
import { PROTOCOL_VERSIONS } from '../protocols.js';
import { suiteByName } from '../suites.js';

// A TLS profile is data: what a compliant endpoint may accept and must
// offer. Mozilla's profiles are one source; a `custom` profile gives the
// fields explicitly. Every field is optional: an absent field is not checked.

const suiteName = z.string().refine((name) => suiteByName(name) !== undefined, { message: 'not a known cipher suite (IANA or OpenSSL name)' });

export const certificateTypeSchema = z.enum(['ecdsa', 'rsa', 'ed25519']);
export type CertificateType = z.infer<typeof certificateTypeSchema>;

export const profileRulesSchema = z
  .object({
    /** Versions that may be accepted. */
    tlsVersions: z.array(z.enum(PROTOCOL_VERSIONS)).min(1),
    /** Shorthand for custom profiles: this version and newer. */
    minVersion: z.enum(PROTOCOL_VERSIONS),
    /** TLS 1.2-and-older suites that may be accepted (IANA or OpenSSL names). */
    cipherSuites: z.array(suiteName),
    /** TLS 1.3 suites that may be accepted. */
    tls13CipherSuites: z.array(suiteName),
    certificateTypes: z.array(certificateTypeSchema).min(1),
    /** OpenSSL curve names an ECDSA certificate key may use. */
    certificateCurves: z.array(z.string()).min(1),
    /** Mozilla's names: sha256WithRSAEncryption, ecdsa-with-SHA256, ... */
    certificateSignatures: z.array(z.string()).min(1),
    /** Minimum RSA certificate key size. */
    rsaKeySize: z.number().int().positive(),
    /** Minimum finite-field DH group size. */
    dhParamSize: z.number().int().positive(),
    /** Minimum ECDH group size (nominal bits). */
    ecdhParamSize: z.number().int().positive(),
    /**
     * Elliptic-curve groups that may be accepted. Post-quantum groups are
     * judged against it only when it names one (guidelines older than
     * post-quantum TLS say nothing about them, which is not a ban).
     */
    tlsCurves: z.array(z.string()).min(1),
    /** 'required': a browser's offer must get a post-quantum group (readiness `ready`); 'recommended': only an advisory. */
    postQuantumKeyExchange: z.enum(['required', 'recommended']),
    /** TLSPolicy's spelling of postQuantumKeyExchange: 'required'. */
    requirePostQuantum: z.boolean(),
    /** true: the server must impose its own suite order (TLS 1.2 and older). */
    serverPreferredOrder: z.boolean(),
    maximumCertificateLifespanDays: z.number().positive(),
    /** 'required' makes a missing staple a violation; 'recommended' only an advisory. */
    ocspStapling: z.enum(['required', 'recommended']),
    /** TLSPolicy's spelling of ocspStapling: 'required'. */
    requireOCSPStapling: z.boolean(),
    hstsMinAgeSeconds: z.number().int().nonnegative(),
    requireForwardSecrecy: z.boolean(),
    requireAEAD: z.boolean(),
    /** The served leaf must stay valid at least this many days. */
    minDaysToExpiry: z.number().nonnegative(),
  })
  .partial()
  .strict();

export type ProfileRules = z.infer<typeof profileRulesSchema>;

export interface TlsProfile {
  /** modern | intermediate | old | custom. */
  name: string;
  /** Where the figures come from ("Mozilla server-side TLS 5.7", "custom"). */
  source: string;
  rules: ProfileRules;
}
