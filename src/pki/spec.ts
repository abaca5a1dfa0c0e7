// The PKI layer's own view of what a certificate should contain. Field names
// follow cert-manager's Certificate v1 so the API types map onto these one to
// one; the only renamed field is `durationMs` (the API's `duration` is a Go
// duration string, parsed by the API layer).

export type KeyAlgorithm = 'RSA' | 'ECDSA' | 'Ed25519';
export type PrivateKeyEncoding = 'PKCS1' | 'PKCS8';

export interface PrivateKeySpec {
  algorithm: KeyAlgorithm;
  /** RSA modulus bits or ECDSA curve bits; ignored for Ed25519. Defaults: RSA 2048, ECDSA 256. */
  size?: number;
}

/** cert-manager's usage strings: key usages first, then extended key usages. */
export const KEY_USAGE_NAMES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
] as const;

export const EXTENDED_KEY_USAGE_NAMES = [
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
] as const;

export type KeyUsageName = (typeof KEY_USAGE_NAMES)[number];
export type ExtendedKeyUsageName = (typeof EXTENDED_KEY_USAGE_NAMES)[number];
export type UsageName = KeyUsageName | ExtendedKeyUsageName;

export interface X509SubjectSpec {
  organizations?: readonly string[];
  countries?: readonly string[];
  organizationalUnits?: readonly string[];
  localities?: readonly string[];
  provinces?: readonly string[];
  streetAddresses?: readonly string[];
  postalCodes?: readonly string[];
  serialNumber?: string;
}

export interface CertificateTemplateSpec {
  commonName?: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  uris?: readonly string[];
  emailAddresses?: readonly string[];
  subject?: X509SubjectSpec;
  /** Lifetime in milliseconds; DEFAULT_DURATION_MS when absent. */
  durationMs?: number;
  /** Empty or absent means the default usages (see resolveUsages). */
  usages?: readonly UsageName[];
  isCA?: boolean;
  /** For a CA certificate: how far it may delegate and what it may sign for (RFC 5280 4.2.1.9/4.2.1.10). */
  caConstraints?: CaConstraints;
}

export interface CaConstraints {
  /** basicConstraints pathLenConstraint: 0 = may sign leaves only, no further CAs. */
  pathLength?: number;
  /** nameConstraints permitted dNSName subtrees ("team.example.com" permits it and every name below). */
  permittedDNSDomains?: readonly string[];
  /** nameConstraints permitted iPAddress ranges, as CIDRs. */
  permittedIPRanges?: readonly string[];
  /** nameConstraints permitted rfc822Name domains ("team.example.com" permits mailboxes at it and below). */
  permittedEmailDomains?: readonly string[];
}

/** cert-manager's default certificate lifetime: 90 days. */
export const DEFAULT_DURATION_MS = 90 * 24 * 60 * 60 * 1000;
