import type { CertificateSpec, KeyAlgorithm } from '../api/certificate.js';
import type { TLSPolicy } from '../api/tlspolicy.js';
import type { CaConstraints, UsageName } from '../pki/spec.js';

// The Certificate as it will be issued (its spec merged with the governing
// policy's defaults, see policy/effective-spec.ts) and the policy and issuer
// that govern it: what every decision after policy selection works on.

/** The kinds of issuer a TLSPolicy can name. */
export type IssuerKind = 'selfSigned' | 'ca' | 'acme';


export const DEFAULT_DURATION_MS = 90 * 24 * 3_600_000;

export interface EffectiveKey {
  algorithm: KeyAlgorithm;
  /** Bits: RSA modulus or EC curve size; 0 for Ed25519. */
  size: number;
  encoding: 'PKCS1' | 'PKCS8';
  rotationPolicy: 'Always' | 'Never';
}

/** The Certificate as it will be issued: spec merged with the policy's defaults. */
export interface EffectiveSpec {
  secretName: string;
  commonName?: string | undefined;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  subject: NonNullable<CertificateSpec['subject']>;
  durationMs: number;
  renewBeforeMs?: number | undefined;
  renewBeforePercentage?: number | undefined;
  /** Set when renewBefore came from the policy rather than the Certificate. */
  renewBeforeFromPolicy: boolean;
  key: EffectiveKey;
  usages: UsageName[];
  isCA: boolean;
  /** A CA the policy allows is bounded: pathLen 0 and name constraints from the policy (see policy/effective-spec.ts). */
  caConstraints?: CaConstraints | undefined;
}

export function defaultKeySize(algorithm: KeyAlgorithm): number {
  if (algorithm === 'RSA') return 2048;
  if (algorithm === 'ECDSA') return 256;
  return 0;
}

export interface Governed {
  policy: TLSPolicy;
  spec: EffectiveSpec;
  issuerKind: IssuerKind;
  /** Names the signer: a change of CA Secret or policy is a reason to re-issue. */
  issuerIdentity: string;
  /** Which of the policy's issuers: the entry's name in spec.issuers, or the kind for spec.issuer. */
  issuerName: string;
  /** The policy lists its issuers (spec.issuers): their health is shared and tracked, and they fail over. */
  issuerListed: boolean;
  specHash: string;
}
