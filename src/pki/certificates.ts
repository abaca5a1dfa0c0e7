import { X509Certificate as NodeX509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';
import { PkiError, describeCause } from './errors.js';
import { TAG_OID, decodeOid, readChildren, readTlv } from './der.js';
import { describeKeyObject, parsePrivateKeyPem, subjectPublicKeyInfo, type PrivateKey } from './keys.js';
import { OID_SUBJECT_ALT_NAME, formatName, readSubjectAltNames } from './names.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { usagesOfExtensions } from './usages.js';
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

interface LoadedCertificate {
  node: NodeX509Certificate;
  parsed: x509.X509Certificate;
  label: string;
}

function load(pem: string, role: string): LoadedCertificate[] {
  return parseCertificateChainPem(pem, role).map((parsed, i) => ({
    parsed,
    node: new NodeX509Certificate(Buffer.from(parsed.rawData)),
    label: `${role} certificate ${i + 1} (${formatName(parsed.subjectName) || 'empty subject'})`,
  }));
}

function validityProblem(cert: LoadedCertificate, at: Date): string | undefined {
  if (at < cert.parsed.notBefore) return `${cert.label} is not valid before ${cert.parsed.notBefore.toISOString()}`;
  if (at > cert.parsed.notAfter) return `${cert.label} expired at ${cert.parsed.notAfter.toISOString()}`;
  return undefined;
}

/** Why `issuer` did not issue `child`, or undefined when it did (names, key identifiers, signature, CA flag). */
function issuanceProblem(child: LoadedCertificate, issuer: LoadedCertificate): string | undefined {
  if (!child.node.checkIssued(issuer.node)) {
    return `${child.label} was not issued by ${issuer.label} (issuer name, key identifier or key usage do not match)`;
  }
  if (!child.node.verify(issuer.node.publicKey)) {
    return `the signature on ${child.label} does not verify with the key of ${issuer.label}`;
  }
  if (!issuer.node.ca) return `${issuer.label} signed ${child.label} but is not a CA (basicConstraints CA is false)`;
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
    const chain = load(input.chainPem, 'chain');
    const anchors = load(input.caPem, 'CA');
    return verifyLoadedChain(chain, anchors, input.at ?? new Date());
  } catch (error) {
    return { valid: false, reason: describeCause(error) };
  }
}

function verifyLoadedChain(chain: LoadedCertificate[], anchors: LoadedCertificate[], at: Date): ChainVerification {
  for (const [i, cert] of chain.entries()) {
    const problem = validityProblem(cert, at) ?? (i > 0 ? issuanceProblem(chain[i - 1] as LoadedCertificate, cert) : undefined);
    if (problem !== undefined) return { valid: false, reason: problem };
  }
  const last = chain[chain.length - 1] as LoadedCertificate;
  if (anchors.some((anchor) => Buffer.from(anchor.parsed.rawData).equals(Buffer.from(last.parsed.rawData)))) {
    return { valid: true };
  }
  const problems: string[] = [];
  for (const anchor of anchors) {
    const problem = issuanceProblem(last, anchor) ?? validityProblem(anchor, at);
    if (problem === undefined) return { valid: true };
    problems.push(problem);
  }
  const issuer = formatName(last.parsed.issuerName) || 'empty name';
  return {
    valid: false,
    reason: `${last.label} does not chain to any certificate in caPem (its issuer is ${issuer}): ${problems.join('; ')}`,
  };
}
