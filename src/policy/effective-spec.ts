import { createHash } from 'node:crypto';
import type { CertificateSpec, KeyAlgorithm } from '../api/certificate.js';
import type { UsageName } from '../pki/spec.js';
import { parseDuration } from '../api/duration.js';
import type { TLSPolicy } from '../api/tlspolicy.js';
import { normalizeIpAddress } from '../pki/names.js';
import { resolveUsages } from '../pki/usages.js';

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
}

export function defaultKeySize(algorithm: KeyAlgorithm): number {
  if (algorithm === 'RSA') return 2048;
  if (algorithm === 'ECDSA') return 256;
  return 0;
}


export function effectiveSpec(spec: CertificateSpec, policy: TLSPolicy | undefined): EffectiveSpec {
  const guard = policy?.spec.certificates;
  const algorithm = spec.privateKey?.algorithm ?? 'RSA';
  const renewBeforeText = spec.renewBefore ?? (spec.renewBeforePercentage === undefined ? guard?.renewBefore : undefined);
  const durationText = spec.duration ?? guard?.defaultDuration;
  return {
    secretName: spec.secretName,
    commonName: spec.commonName,
    dnsNames: [...(spec.dnsNames ?? [])],
    ipAddresses: canonicalIps(spec.ipAddresses ?? []),
    uris: [...(spec.uris ?? [])],
    emailAddresses: [...(spec.emailAddresses ?? [])],
    subject: spec.subject ?? {},
    durationMs: durationText === undefined ? DEFAULT_DURATION_MS : parseDuration(durationText),
    renewBeforeMs: renewBeforeText === undefined ? undefined : parseDuration(renewBeforeText),
    renewBeforePercentage: spec.renewBeforePercentage,
    renewBeforeFromPolicy: spec.renewBefore === undefined && renewBeforeText !== undefined,
    key: {
      algorithm,
      size: algorithm === 'Ed25519' ? 0 : (spec.privateKey?.size ?? defaultKeySize(algorithm)),
      encoding: algorithm === 'Ed25519' ? 'PKCS8' : (spec.privateKey?.encoding ?? 'PKCS1'),
      rotationPolicy: spec.privateKey?.rotationPolicy ?? 'Always',
    },
    // The usages the certificate will really carry (defaults, CA and key-type rules applied by the PKI layer).
    usages: resolveUsages({ usages: spec.usages, isCA: spec.isCA, keyAlgorithm: algorithm }).names,
    isCA: spec.isCA ?? false,
  };
}

/**
 * A digest of everything that shapes the issued certificate. Stored on the
 * Secret, so a spec change (names, key, usages, duration) is seen as such even
 * for properties that cannot be read back from the certificate itself.
 */
export function issuanceSpecHash(spec: EffectiveSpec, issuerIdentity: string): string {
  const sorted = (xs: readonly string[]) => [...xs].sort();
  const canonical = JSON.stringify({
    cn: spec.commonName ?? null,
    dns: sorted(spec.dnsNames),
    ip: sorted(spec.ipAddresses),
    uri: sorted(spec.uris),
    email: sorted(spec.emailAddresses),
    subject: Object.fromEntries(Object.entries(spec.subject).sort(([a], [b]) => a.localeCompare(b))),
    duration: spec.durationMs,
    key: [spec.key.algorithm, spec.key.size, spec.key.encoding],
    usages: sorted(spec.usages),
    isCA: spec.isCA,
    issuer: issuerIdentity,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** IP addresses compare in canonical form ("::1" and "0:0::1" are one address), as the certificate reports them. */
function canonicalIps(ips: readonly string[]): string[] {
  return ips.map((ip) => {
    try {
      return normalizeIpAddress(ip);
    } catch {
      return ip;
    }
  });
}
