import type { KeyAlgorithm } from '../api/certificate.js';
import type { CertificateSummary } from '../pki/certificates.js';
import type { SecretCertificates } from './certificate-facts.js';

/** What the operator needs to know about an issued certificate, read from its Secret. */
export type IssuedFacts = Pick<
  CertificateSummary,
  'dnsNames' | 'ipAddresses' | 'uris' | 'emailAddresses' | 'notBefore' | 'notAfter' | 'serialNumber' | 'fingerprintSHA256' | 'isCA'
> & {
  commonName?: string | undefined;
  keyAlgorithm: KeyAlgorithm | 'unknown';
  /** 0 for Ed25519 (the API spells it size-less) and unknown key types. */
  keySize: number;
  /** keyIdentifier of the authorityKeyIdentifier extension, hex: with the serial, names the certificate to an ACME CA (ARI). */
  authorityKeyId?: string | undefined;
};

/**
 * A kubernetes.io/tls Secret reduced to what decisions need. The informer
 * keeps this summary instead of the raw Secret, so 10,000 Secrets cost little
 * memory and no key material sits in the cache.
 */
export type TlsSecretState =
  | { state: 'absent' }
  | { state: 'incomplete'; missing: string[]; annotations: Record<string, string> }
  | { state: 'invalid'; error: string; annotations: Record<string, string> }
  | { state: 'mismatched'; annotations: Record<string, string> }
  | { state: 'valid'; facts: IssuedFacts; annotations: Record<string, string> };

export type ValidSecret = Extract<TlsSecretState, { state: 'valid' }>;

/** Annotations certkeeper writes on the Secrets it owns. */
export const SecretAnnotation = {
  certificateName: 'certkeeper.dev/certificate-name',
  revision: 'certkeeper.dev/revision',
  specHash: 'certkeeper.dev/spec-hash',
  policy: 'certkeeper.dev/policy',
  issuerKind: 'certkeeper.dev/issuer-kind',
  serialNumber: 'certkeeper.dev/serial-number',
  /** Which issuer wrote it, e.g. "acme:https://acme.example/directory": ARI's `replaces` only names certificates of the same CA. */
  issuer: 'certkeeper.dev/issuer',
  /** When the Secret was written (RFC 3339, ms): `certkeeper renew` requests are compared with it. */
  issuedAt: 'certkeeper.dev/issued-at',
} as const;

export const SecretLabel = {
  managedBy: 'app.kubernetes.io/managed-by',
  certificateName: 'certkeeper.dev/certificate-name',
} as const;

/** What the Secret informer keeps per kubernetes.io/tls Secret: no key material, no raw data. */
export interface TlsSecretSummary {
  namespace: string;
  name: string;
  resourceVersion: string;
  /** Only certkeeper.dev/* annotations: the rest can be large and is never read. */
  annotations: Record<string, string>;
  labels: Record<string, string>;
  state: TlsSecretState;
  /** For the inventory: tls.crt's leaf (also when the key is missing or wrong) and ca.crt's certificates; public facts only. */
  certificates: SecretCertificates;
  /** Other controllers' annotations that say who manages this Secret (see inventory/facts.ts). */
  managedBy: Record<string, string>;
  /** "Kind/name" of the Secret's controlling owner reference. */
  owner?: string | undefined;
}
