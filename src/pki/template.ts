import { x509 } from './x509.js';
import { PkiError } from './errors.js';
import { hasSubjectAltNames, isNameEmpty, subjectAltNameExtension, subjectName } from './names.js';
import { resolveUsages } from './usages.js';
import type { CertificateTemplateSpec, KeyAlgorithm } from './spec.js';

// What goes into a certificate (or CSR) for a spec, independent of who signs
// it. Extension order follows Go's crypto/x509 so certificates look like
// cert-manager's to anyone diffing `openssl x509 -text` output.

/** X.520 upper bound for commonName; cert-manager's webhook enforces the same. */
const MAX_COMMON_NAME_LENGTH = 64;

/** Rejects a spec no certificate can be built from; the message names the field. */
export function validateTemplateSpec(spec: CertificateTemplateSpec): void {
  if (!spec.commonName && !hasSubjectAltNames(spec)) {
    throw new PkiError(
      'InvalidTemplate',
      'at least one of commonName, dnsNames, ipAddresses, uris or emailAddresses must be set',
    );
  }
  if (spec.commonName !== undefined && spec.commonName.length > MAX_COMMON_NAME_LENGTH) {
    throw new PkiError(
      'InvalidTemplate',
      `commonName is ${spec.commonName.length} characters long, the maximum is ${MAX_COMMON_NAME_LENGTH}`,
    );
  }
  if (spec.durationMs !== undefined && !(Number.isSafeInteger(spec.durationMs) && spec.durationMs >= 1000)) {
    throw new PkiError('InvalidTemplate', `duration must be a whole number of milliseconds >= 1s, got ${spec.durationMs}`);
  }
}

export interface TemplateParts {
  subject: x509.Name;
  /** keyUsage, extKeyUsage, basicConstraints and subjectAltName, in Go's order. */
  extensions: x509.Extension[];
}

/**
 * Subject and the spec-driven extensions. The SAN extension is critical
 * exactly when the subject is empty (RFC 5280 4.2.1.6); keyUsage and
 * basicConstraints are always critical. `subjectKeyAlgorithm` decides whether
 * "key encipherment" applies (RSA only).
 */
export function templateParts(spec: CertificateTemplateSpec, subjectKeyAlgorithm: KeyAlgorithm): TemplateParts {
  validateTemplateSpec(spec);
  const subject = subjectName(spec);
  const usages = resolveUsages({ usages: spec.usages, isCA: spec.isCA, keyAlgorithm: subjectKeyAlgorithm });
  const extensions: x509.Extension[] = [];
  if (usages.keyUsageFlags !== 0) extensions.push(new x509.KeyUsagesExtension(usages.keyUsageFlags, true));
  if (usages.extendedKeyUsageOids.length > 0) {
    extensions.push(new x509.ExtendedKeyUsageExtension(usages.extendedKeyUsageOids, false));
  }
  extensions.push(new x509.BasicConstraintsExtension(spec.isCA ?? false, undefined, true));
  const san = subjectAltNameExtension(spec, isNameEmpty(subject));
  if (san !== undefined) extensions.push(san);
  return { subject, extensions };
}

/** Hex key identifier (RFC 5280 method 1: SHA-1 of the subjectPublicKey bits) of a DER SubjectPublicKeyInfo. */
export async function keyIdentifier(spki: Uint8Array): Promise<string> {
  const publicKey = new x509.PublicKey(Uint8Array.from(spki));
  return Buffer.from(await publicKey.getKeyIdentifier()).toString('hex');
}

/**
 * The key identifier to put in authorityKeyIdentifier for certificates a CA
 * signs: the CA's own subjectKeyIdentifier when it has one (so chain builders
 * match it byte for byte), else computed from its public key.
 */
export async function authorityKeyIdentifierOf(caCertificate: x509.X509Certificate): Promise<string> {
  const ski = caCertificate.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski !== null) return ski.keyId;
  return Buffer.from(await caCertificate.publicKey.getKeyIdentifier()).toString('hex');
}
