import { X509Certificate as NodeX509Certificate, createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import {
  NativeUnsupported,
  commonNameOf,
  fingerprintOf,
  formatDerName,
  readCertificateChainPem,
  readTime,
  serialHex,
  type ChainCertificate,
  type DerCertificate,
  type DerExtension,
} from './certificate-der.js';
import { x509 } from './x509.js';
import { PkiError, describeCause } from './errors.js';
import { TAG_OID, decodeOid, encodeTlv, readChildren, readTlv, type Tlv } from './der.js';
import { describeKeyObject, parsePrivateKeyPem, subjectPublicKeyInfo, type PrivateKey } from './keys.js';
import { OID_SUBJECT_ALT_NAME, formatName, readSubjectAltNames } from './names.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { usageNames, usagesOfExtensions } from './usages.js';
import { ecSpki, rsaSpki, spkiFromKeyObject } from './spki.js';
import type { UsageName } from './spec.js';

// Parsing, summarising and verifying certificates. Summaries are what the
// rest of certkeeper keeps (status fields, inventory), so they are plain data
// and never hold key material. Signature checks use node's OpenSSL-backed
// X509Certificate, which accepts every algorithm a foreign CA may use.

export interface CertificateSummary {
  /** RFC 4514-style, in encoding order ("C=DE, O=Example, CN=web"). */
  subject: string;
  commonName: string | undefined;
  issuer: string;
  dnsNames: string[];
  /** RFC 5952 text (see normalizeIpAddress). */
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  /** Lower-case hex of the serial's value octets (no DER sign byte), as `openssl x509 -serial` shows it. */
  serialNumber: string;
  /** SHA-256 of the DER certificate, lower-case hex, no colons. */
  fingerprintSHA256: string;
  isCA: boolean;
  /** 'RSA' | 'ECDSA' | 'Ed25519', or node's name for other key types (e.g. 'ed448', 'ec secp256k1'). */
  keyAlgorithm: string;
  /** RSA modulus bits or EC curve bits; undefined for unsupported key types. */
  keySize: number | undefined;
  /** cert-manager usage names; extKeyUsage OIDs without such a name are left out. */
  usages: UsageName[];
  /** Go's names: 'SHA256-RSA', 'ECDSA-SHA384', 'Ed25519', ...; the OID when unknown. */
  signatureAlgorithm: string;
}

export type ChainVerification = { valid: true } | { valid: false; reason: string };

const SIGNATURE_ALGORITHM_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'MD5-RSA',
  '1.2.840.113549.1.1.5': 'SHA1-RSA',
  '1.2.840.113549.1.1.11': 'SHA256-RSA',
  '1.2.840.113549.1.1.12': 'SHA384-RSA',
  '1.2.840.113549.1.1.13': 'SHA512-RSA',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.10045.4.1': 'ECDSA-SHA1',
  '1.2.840.10045.4.3.2': 'ECDSA-SHA256',
  '1.2.840.10045.4.3.3': 'ECDSA-SHA384',
  '1.2.840.10045.4.3.4': 'ECDSA-SHA512',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

/**
 * Every certificate in a PEM bundle, in order. `source` names the input in
 * errors ("tls.crt of Secret ns/web"). Throws PkiError naming the block that
 * is not a certificate or does not parse.
 */
export function parseCertificateChainPem(pem: string, source = 'certificate PEM'): x509.X509Certificate[] {
  return decodePemBlocks(pem, source).map((block) => {
    if (block.type !== 'CERTIFICATE') {
      throw new PkiError('InvalidCertificate', `${source}: PEM block ${block.position} is "${block.type}", expected CERTIFICATE`);
    }
    try {
      // OpenSSL must accept it too: it is what verifies chains and what TLS peers run.
      new NodeX509Certificate(block.der);
      return new x509.X509Certificate(Uint8Array.from(block.der));
    } catch (cause) {
      throw new PkiError(
        'InvalidCertificate',
        `${source}: PEM block ${block.position} is not a valid X.509 certificate: ${describeCause(cause)}`,
        { cause },
      );
    }
  });
}

/** The certificates as one PEM bundle, in the given order. */
export function encodeCertificateChainPem(certificates: readonly x509.X509Certificate[]): string {
  return certificates.map((c) => encodePem('CERTIFICATE', new Uint8Array(c.rawData))).join('');
}

function signatureAlgorithmName(der: Uint8Array): string {
  const [, algorithm] = readChildren(readTlv(der, 0).value);
  const oid = algorithm === undefined ? undefined : readChildren(algorithm.value)[0];
  if (oid?.tag !== TAG_OID) return 'unknown';
  const dotted = decodeOid(oid.value);
  return SIGNATURE_ALGORITHM_NAMES[dotted] ?? dotted;
}

function publicKeyObject(certificate: x509.X509Certificate): KeyObject {
  return createPublicKey({ key: Buffer.from(certificate.publicKey.rawData), format: 'der', type: 'spki' });
}

/**
 * The facts certkeeper keeps about a certificate. Throws PkiError
 * (InvalidCertificate) when an extension or the public key is malformed.
 */
export function summarizeCertificate(certificate: x509.X509Certificate): CertificateSummary {
  try {
    return summarize(certificate);
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('InvalidCertificate', `certificate "${certificate.subject}" cannot be read: ${describeCause(cause)}`, {
      cause,
    });
  }
}

function summarize(certificate: x509.X509Certificate): CertificateSummary {
  const der = new Uint8Array(certificate.rawData);
  const san = certificate.extensions.find((e) => e.type === OID_SUBJECT_ALT_NAME);
  const keyObject = publicKeyObject(certificate);
  const key = describeKeyObject(keyObject);
  const curve = keyObject.asymmetricKeyDetails?.namedCurve;
  return {
    subject: formatName(certificate.subjectName),
    commonName: certificate.subjectName.getField('CN')[0],
    issuer: formatName(certificate.issuerName),
    ...readSubjectAltNames(san?.value),
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    serialNumber: certificate.serialNumber.toLowerCase(),
    fingerprintSHA256: createHash('sha256').update(der).digest('hex'),
    isCA: certificate.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    keyAlgorithm: key?.algorithm ?? [keyObject.asymmetricKeyType ?? 'unknown', curve].filter(Boolean).join(' '),
    keySize: key?.size,
    usages: usagesOfExtensions(certificate.extensions),
    signatureAlgorithm: signatureAlgorithmName(der),
  };
}

// The native reading (certificate-der.ts) of what summarize() reads with the
// library. A certificate the native reader does not handle (NativeUnsupported)
// is read by the library instead, so both give the same summary.

const libraryObjects = new WeakMap<DerCertificate, x509.X509Certificate>();

function libraryCertificate(cert: DerCertificate): x509.X509Certificate {
  let parsed = libraryObjects.get(cert);
  if (parsed === undefined) {
    parsed = new x509.X509Certificate(Uint8Array.from(cert.der));
    libraryObjects.set(cert, parsed);
  }
  return parsed;
}

function nativeOr<T>(native: () => T, library: () => T): T {
  try {
    return native();
  } catch (error) {
    if (error instanceof NativeUnsupported) return library();
    throw error;
  }
}

function subjectText(cert: DerCertificate): string {
  return nativeOr(() => formatDerName(cert.subject), () => formatName(libraryCertificate(cert).subjectName));
}

function issuerText(cert: DerCertificate): string {
  return nativeOr(() => formatDerName(cert.issuer), () => formatName(libraryCertificate(cert).issuerName));
}

function timeOf(cert: DerCertificate, which: 'notBefore' | 'notAfter'): Date {
  return nativeOr(() => readTime(cert[which]), () => libraryCertificate(cert)[which]);
}

const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_RSA_ENCRYPTION = '1.2.840.113549.1.1.1';
const OID_ED25519 = '1.3.101.112';
const EC_SIZE_BY_CURVE_OID: Readonly<Record<string, number>> = { '1.2.840.10045.3.1.7': 256, '1.3.132.0.34': 384, '1.3.132.0.35': 521 };

/** Algorithm and size from the SubjectPublicKeyInfo, for the key types certkeeper issues; else undefined (OpenSSL names the rest). */
function describeSpki(spki: Uint8Array): { algorithm: string; size: number } | undefined {
  const [algorithm, bits] = readChildren(readTlv(spki, 0).value);
  if (algorithm === undefined || bits?.tag !== 0x03) return undefined;
  const [oid, parameters] = readChildren(algorithm.value);
  if (oid?.tag !== TAG_OID) return undefined;
  switch (decodeOid(oid.value)) {
    case OID_EC_PUBLIC_KEY: {
      const size = parameters?.tag === TAG_OID ? EC_SIZE_BY_CURVE_OID[decodeOid(parameters.value)] : undefined;
      return size === undefined ? undefined : { algorithm: 'ECDSA', size };
    }
    case OID_RSA_ENCRYPTION: {
      const [modulus] = readChildren(readTlv(bits.value, 1).value);
      if (modulus === undefined) return undefined;
      let n = modulus.value;
      while (n.length > 0 && n[0] === 0) n = n.subarray(1);
      const first = n[0];
      return first === undefined ? undefined : { algorithm: 'RSA', size: (n.length - 1) * 8 + (32 - Math.clz32(first)) };
    }
    case OID_ED25519:
      return { algorithm: 'Ed25519', size: 256 };
    default:
      return undefined;
  }
}

const OID_KEY_USAGE = '2.5.29.15';
const OID_EXTENDED_KEY_USAGE = '2.5.29.37';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const OID_AUTHORITY_KEY_IDENTIFIER = '2.5.29.35';

/** keyUsage bits as the library numbers them: named bit k is 2^k. */
function keyUsageFlags(extension: DerExtension | undefined): number {
  if (extension === undefined) return 0;
  const bits = readTlv(extension.value, 0);
  let flags = 0;
  bits.value.subarray(1).forEach((octet, i) => {
    for (let b = 0; b < 8; b++) if (octet & (0x80 >> b)) flags |= 2 ** (i * 8 + b);
  });
  return flags;
}

function extendedKeyUsageOids(extension: DerExtension | undefined): string[] {
  if (extension === undefined) return [];
  return readChildren(readTlv(extension.value, 0).value).map((oid) => decodeOid(oid.value));
}

/** cert-manager's usage names of a certificate's keyUsage and extKeyUsage, read from its DER. */
export function usagesOfDerCertificate(cert: DerCertificate): UsageName[] {
  return usageNames(keyUsageFlags(cert.extensions.get(OID_KEY_USAGE)), extendedKeyUsageOids(cert.extensions.get(OID_EXTENDED_KEY_USAGE)));
}

function basicConstraintsCa(extension: DerExtension | undefined): boolean {
  if (extension === undefined) return false;
  const [first] = readChildren(readTlv(extension.value, 0).value);
  return first?.tag === 0x01 && first.value[0] !== 0;
}

/** keyIdentifier of the authorityKeyIdentifier extension, lower-case hex; undefined when absent or empty. */
export function authorityKeyIdOf(cert: DerCertificate): string | undefined {
  const extension = cert.extensions.get(OID_AUTHORITY_KEY_IDENTIFIER);
  if (extension === undefined) return undefined;
  try {
    const keyId = readChildren(readTlv(extension.value, 0).value).find((part) => part.tag === 0x80);
    return keyId === undefined || keyId.value.length === 0 ? undefined : Buffer.from(keyId.value).toString('hex');
  } catch {
    return undefined;
  }
}

/** summarizeCertificate of a certificate read natively; the same summary, without the library's parse. */
export function summarizeDerCertificate(cert: DerCertificate): CertificateSummary {
  try {
    return nativeOr(() => summarizeNative(cert), () => summarize(libraryCertificate(cert)));
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('InvalidCertificate', `certificate "${subjectTextOrUnknown(cert)}" cannot be read: ${describeCause(cause)}`, { cause });
  }
}

function subjectTextOrUnknown(cert: DerCertificate): string {
  try {
    return subjectText(cert);
  } catch {
    return 'unreadable subject';
  }
}

function summarizeNative(cert: DerCertificate): CertificateSummary {
  const san = cert.extensions.get(OID_SUBJECT_ALT_NAME);
  let key: { algorithm: string; size: number | undefined } | undefined = describeSpki(cert.spki);
  if (key === undefined) {
    // Key types certkeeper does not issue: OpenSSL's names, as summarize() gives them.
    const keyObject = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
    const described = describeKeyObject(keyObject);
    key = described ?? { algorithm: [keyObject.asymmetricKeyType ?? 'unknown', keyObject.asymmetricKeyDetails?.namedCurve].filter(Boolean).join(' '), size: undefined };
  }
  return {
    subject: formatDerName(cert.subject),
    commonName: commonNameOf(cert.subject),
    issuer: formatDerName(cert.issuer),
    ...readSubjectAltNames(san?.value),
    notBefore: readTime(cert.notBefore),
    notAfter: readTime(cert.notAfter),
    serialNumber: serialHex(cert),
    fingerprintSHA256: fingerprintOf(cert),
    isCA: basicConstraintsCa(cert.extensions.get(OID_BASIC_CONSTRAINTS)),
    keyAlgorithm: key.algorithm,
    keySize: key.size,
    usages: usagesOfDerCertificate(cert),
    signatureAlgorithm: signatureAlgorithmName(cert.der),
  };
}

/**
 * The SubjectPublicKeyInfo a private key's own DER states (RSA's modulus and
 * exponent; the public point EC keys carry), without importing the key into
 * OpenSSL (~0.1-0.4 ms of decoders); undefined when the DER does not carry
 * it (Ed25519 PKCS8 v1, EC without its public point) or is not understood.
 */
function spkiStatedByPrivateKeyDer(type: string, der: Uint8Array): Uint8Array | undefined {
  try {
    const fields = readChildren(readTlv(der, 0).value);
    if (type === 'RSA PRIVATE KEY') return rsaFromPkcs1(fields);
    if (type === 'EC PRIVATE KEY') return ecFromSec1(fields, undefined);
    if (type !== 'PRIVATE KEY') return undefined;
    const [, algorithm, privateKey] = fields;
    if (algorithm === undefined || privateKey?.tag !== 0x04) return undefined;
    const [oid, parameters] = readChildren(algorithm.value);
    const inner = readChildren(readTlv(privateKey.value, 0).value);
    const algorithmOid = oid?.tag === TAG_OID ? decodeOid(oid.value) : undefined;
    if (algorithmOid === OID_RSA_ENCRYPTION) return rsaFromPkcs1(inner);
    if (algorithmOid === OID_EC_PUBLIC_KEY && parameters?.tag === TAG_OID) return ecFromSec1(inner, encodeTlv(TAG_OID, parameters.value));
    return undefined;
  } catch {
    return undefined;
  }
}

function rsaFromPkcs1(fields: Tlv[]): Uint8Array | undefined {
  const [version, modulus, exponent] = fields;
  if (version?.tag !== 0x02 || modulus?.tag !== 0x02 || exponent?.tag !== 0x02) return undefined;
  return rsaSpki(encodeTlv(0x02, modulus.value), encodeTlv(0x02, exponent.value));
}

function ecFromSec1(fields: Tlv[], outerCurve: Uint8Array | undefined): Uint8Array | undefined {
  const curveField = fields.find((f) => f.tag === 0xa0);
  const publicField = fields.find((f) => f.tag === 0xa1);
  const curve = curveField === undefined ? outerCurve : readTlv(curveField.value, 0);
  const curveDer = curve instanceof Uint8Array ? curve : curve?.tag === TAG_OID ? encodeTlv(TAG_OID, curve.value) : undefined;
  if (curveDer === undefined || publicField === undefined) return undefined;
  const bits = readTlv(publicField.value, 0);
  if (bits.tag !== 0x03 || bits.value[0] !== 0) return undefined;
  return ecSpki(curveDer, bits.value.subarray(1));
}

/** keyMatchesCertificate for a certificate read natively: SPKIs compared as built from the key's JWK, OpenSSL's re-encoding only when they differ. */
export function keyMatchesDerCertificate(key: PrivateKey, cert: DerCertificate): boolean {
  const built = spkiFromKeyObject(key.keyObject);
  if (built !== undefined && Buffer.from(built).equals(cert.spki)) return true;
  return subjectPublicKeyInfo(key).equals(createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' }).export({ format: 'der', type: 'spki' }));
}

/**
 * Whether the PEM private key belongs to the certificate, reading the public
 * half the key's DER states when it equals the certificate's byte for byte;
 * otherwise (a mismatch, an encoding not read here) the key is imported and
 * compared as keyMatchesCertificate does. Throws PkiError like parsePrivateKeyPem.
 */
export function privateKeyPemMatchesCertificate(keyPem: string, cert: DerCertificate, source = 'private key'): boolean {
  const blocks = decodePemBlocks(keyPem, source).filter((b) => b.type !== 'EC PARAMETERS');
  const [block] = blocks;
  if (blocks.length === 1 && block !== undefined) {
    const stated = spkiStatedByPrivateKeyDer(block.type, block.der);
    if (stated !== undefined && Buffer.from(stated).equals(cert.spki)) return true;
  }
  return keyMatchesDerCertificate(parsePrivateKeyPem(keyPem, source), cert);
}

/**
 * Whether the private key belongs to the certificate (the first one, when
 * given a PEM bundle): their SubjectPublicKeyInfos are equal once both are
 * re-encoded by OpenSSL, which irons out equivalent encodings. Throws
 * PkiError when a PEM input does not parse.
 */
export function keyMatchesCertificate(key: string | PrivateKey, certificate: string | x509.X509Certificate): boolean {
  const privateKey = typeof key === 'string' ? parsePrivateKeyPem(key) : key;
  const cert = typeof certificate === 'string' ? parseCertificateChainPem(certificate)[0] : certificate;
  if (cert === undefined) return false;
  const certificateSpki = publicKeyObject(cert).export({ format: 'der', type: 'spki' });
  return subjectPublicKeyInfo(privateKey).equals(certificateSpki);
}

function label(cert: DerCertificate, role: string, i: number): string {
  return `${role} certificate ${i + 1} (${subjectText(cert) || 'empty subject'})`;
}

function validityProblem(cert: ChainCertificate, name: string, at: Date): string | undefined {
  const notBefore = timeOf(cert, 'notBefore');
  const notAfter = timeOf(cert, 'notAfter');
  if (at < notBefore) return `${name} is not valid before ${notBefore.toISOString()}`;
  if (at > notAfter) return `${name} expired at ${notAfter.toISOString()}`;
  return undefined;
}

const HASH_BY_SIGNATURE_OID: Readonly<Record<string, string | null>> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null,
};
const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const KEY_CERT_SIGN = 32;

/**
 * Whether `issuer` plainly issued `child`, checked natively: the same names
 * byte for byte, key identifiers that agree, an issuer allowed to sign
 * certificates, and a signature that verifies (common algorithms only). True
 * spares OpenSSL's parse of the child (~0.15 ms); false decides nothing, and
 * OpenSSL's checkIssued and verify give the verdict and its reason.
 */
function plainlyIssued(child: ChainCertificate, issuer: ChainCertificate): boolean {
  try {
    if (!Buffer.from(child.issuer).equals(issuer.subject)) return false;
    const authorityKeyId = authorityKeyIdOf(child);
    if (authorityKeyId !== undefined) {
      const ski = issuer.extensions.get(OID_SUBJECT_KEY_IDENTIFIER);
      if (ski === undefined || Buffer.from(readTlv(ski.value, 0).value).toString('hex') !== authorityKeyId) return false;
    }
    const keyUsage = issuer.extensions.get(OID_KEY_USAGE);
    if (keyUsage !== undefined && (keyUsageFlags(keyUsage) & KEY_CERT_SIGN) === 0) return false;
    const hash = HASH_BY_SIGNATURE_OID[child.signatureAlgorithm];
    if (hash === undefined) return false;
    return verifySignature(hash, child.tbs, issuer.node.publicKey, child.signature);
  } catch {
    return false;
  }
}

/** Why `issuer` did not issue `child`, or undefined when it did (names, key identifiers, signature, CA flag). */
function issuanceProblem(child: ChainCertificate, childName: string, issuer: ChainCertificate, issuerName: string): string | undefined {
  if (plainlyIssued(child, issuer)) {
    return issuer.node.ca ? undefined : `${issuerName} signed ${childName} but is not a CA (basicConstraints CA is false)`;
  }
  if (!child.node.checkIssued(issuer.node)) {
    return `${childName} was not issued by ${issuerName} (issuer name, key identifier or key usage do not match)`;
  }
  if (!child.node.verify(issuer.node.publicKey)) {
    return `the signature on ${childName} does not verify with the key of ${issuerName}`;
  }
  if (!issuer.node.ca) return `${issuerName} signed ${childName} but is not a CA (basicConstraints CA is false)`;
  return undefined;
}

/**
 * Checks that `chainPem` (leaf first) is a valid path to a certificate in
 * `caPem` at time `at` (default: now): each certificate is issued and signed
 * by the next one, which must be a CA; the last one either is itself in
 * `caPem` or was issued by a valid CA certificate there. Never throws: a
 * malformed input is an invalid chain, with the reason saying what is wrong.
 */
export function verifyChain(input: { chainPem: string; caPem: string; at?: Date }): ChainVerification {
  try {
    return verifyParsedChain(readCertificateChainPem(input.chainPem, 'chain', { lazyLeaf: true }), readCertificateChainPem(input.caPem, 'CA', { anchors: true }), input.at ?? new Date());
  } catch (error) {
    return { valid: false, reason: describeCause(error) };
  }
}

/** verifyChain on certificates already read (readCertificateChainPem), so a caller that has them parses nothing twice. */
export function verifyParsedChain(chain: readonly ChainCertificate[], anchors: readonly ChainCertificate[], at: Date): ChainVerification {
  try {
    return verifyLoaded(chain, anchors, at);
  } catch (error) {
    return { valid: false, reason: describeCause(error) };
  }
}

function verifyLoaded(chain: readonly ChainCertificate[], anchors: readonly ChainCertificate[], at: Date): ChainVerification {
  const names = chain.map((c, i) => label(c, 'chain', i));
  for (const [i, cert] of chain.entries()) {
    const name = names[i] as string;
    const problem = validityProblem(cert, name, at) ?? (i > 0 ? issuanceProblem(chain[i - 1] as ChainCertificate, names[i - 1] as string, cert, name) : undefined);
    if (problem !== undefined) return { valid: false, reason: problem };
  }
  const last = chain[chain.length - 1];
  if (last === undefined) return { valid: false, reason: 'chain: no certificate' };
  const lastName = names[names.length - 1] as string;
  if (anchors.some((anchor) => Buffer.from(anchor.der).equals(last.der))) return { valid: true };
  const problems: string[] = [];
  for (const [i, anchor] of anchors.entries()) {
    const anchorName = label(anchor, 'CA', i);
    const problem = issuanceProblem(last, lastName, anchor, anchorName) ?? validityProblem(anchor, anchorName, at);
    if (problem === undefined) return { valid: true };
    problems.push(problem);
  }
  const issuer = issuerText(last) || 'empty name';
  return {
    valid: false,
    reason: `${lastName} does not chain to any certificate in caPem (its issuer is ${issuer}): ${problems.join('; ')}`,
  };
}
