import { x509 } from './x509.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints } from '@peculiar/asn1-x509';
import { PkiError } from './errors.js';
import { hasSubjectAltNames, isNameEmpty, subjectAltNameExtension, subjectName } from './names.js';
import { resolveUsages } from './usages.js';
import type { CaConstraints, CertificateTemplateSpec, KeyAlgorithm } from './spec.js';

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
  const constraints = spec.isCA === true ? spec.caConstraints : undefined;
  extensions.push(new x509.BasicConstraintsExtension(spec.isCA ?? false, constraints?.pathLength, true));
  const limits = constraints === undefined ? undefined : nameConstraintsExtension(constraints);
  if (limits !== undefined) extensions.push(limits);
  const san = subjectAltNameExtension(spec, isNameEmpty(subject));
  if (san !== undefined) extensions.push(san);
  return { subject, extensions };
}

const NAME_CONSTRAINTS_OID = '2.5.29.30';

/**
 * nameConstraints with permitted subtrees only (critical, as RFC 5280 asks
 * of a CA): a name of a type it lists must fall in one of its subtrees; a
 * type it does not list stays unconstrained, so a policy that restricts one
 * kind of name lists an empty-looking but present set for the others.
 */
function nameConstraintsExtension(c: CaConstraints): x509.Extension | undefined {
  const subtrees = [
    ...(c.permittedDNSDomains ?? []).map((dNSName) => new GeneralName({ dNSName })),
    ...(c.permittedIPRanges ?? []).map((iPAddress) => new GeneralName({ iPAddress })),
    ...(c.permittedEmailDomains ?? []).map((domain) => new GeneralName({ rfc822Name: `.${domain}` })),
  ].map((base) => new GeneralSubtree({ base }));
  if (subtrees.length === 0) return undefined;
  const der = AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) }));
  return new x509.Extension(NAME_CONSTRAINTS_OID, true, der);
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
