import { createHash } from 'node:crypto';
import { x509 } from './x509.js';
import { encodeTlv, readChildren, readTlv } from './der.js';
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

/** Key identifier (RFC 5280 method 1: SHA-1 of the subjectPublicKey bits) of a DER SubjectPublicKeyInfo. */
export function keyIdentifierBytes(spki: Uint8Array): Uint8Array {
  const [, bits] = readChildren(readTlv(spki, 0).value);
  if (bits?.tag !== 0x03 || bits.value.length === 0) throw new PkiError('InvalidTemplate', 'SubjectPublicKeyInfo has no subjectPublicKey BIT STRING');
  // The first content octet counts unused bits; the key identifier hashes the bits that follow.
  return createHash('sha1').update(bits.value.subarray(1)).digest();
}

interface CaSigningFacts {
  subjectDer: Uint8Array;
  authorityKeyId: Uint8Array;
}

// A CA certificate signs many leaves: what each signature needs of it is read once.
const caFacts = new WeakMap<x509.X509Certificate, CaSigningFacts>();

function signingFactsOf(ca: x509.X509Certificate): CaSigningFacts {
  let facts = caFacts.get(ca);
  if (facts === undefined) {
    const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
    facts = {
      subjectDer: certificateSubjectDer(new Uint8Array(ca.rawData)),
      authorityKeyId: ski !== null ? Buffer.from(ski.keyId, 'hex') : keyIdentifierBytes(new Uint8Array(ca.publicKey.rawData)),
    };
    caFacts.set(ca, facts);
  }
  return facts;
}

/** The subject Name of a DER certificate, byte for byte (so a leaf's issuer equals it exactly). */
function certificateSubjectDer(der: Uint8Array): Uint8Array {
  const [tbs] = readChildren(readTlv(der, 0).value);
  if (tbs === undefined) throw new PkiError('InvalidCertificate', 'certificate has no TBSCertificate');
  const fields = readChildren(tbs.value);
  // [0] version is optional: subject is the 5th field after it (serial, signature, issuer, validity, subject).
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[offset + 4];
  if (subject === undefined) throw new PkiError('InvalidCertificate', 'certificate has no subject');
  // DER lengths are minimal, so tag + content re-encode to the very bytes.
  return encodeTlv(subject.tag, subject.value);
}

/** The CA certificate's subject Name DER: the issuer of everything it signs. */
export function caSubjectDer(caCertificate: x509.X509Certificate): Uint8Array {
  return signingFactsOf(caCertificate).subjectDer;
}

/**
 * The key identifier to put in authorityKeyIdentifier for certificates a CA
 * signs: the CA's own subjectKeyIdentifier when it has one (so chain builders
 * match it byte for byte), else computed from its public key. Read once per
 * CA certificate.
 */
export function authorityKeyIdentifierBytes(caCertificate: x509.X509Certificate): Uint8Array {
  return signingFactsOf(caCertificate).authorityKeyId;
}

