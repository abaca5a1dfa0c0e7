import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';
import { PkiError, describeCause } from './errors.js';
import { TAG_OID, TAG_SEQUENCE, concatBytes, decodeOid, encodeOid, encodeTlv, readChildren, readTlv } from './der.js';
import { describeKey, subjectPublicKeyInfo, type PrivateKey } from './keys.js';
import { signatureParameters } from './sign.js';
import { templatePartsDer } from './template-der.js';
import { OID_SUBJECT_ALT_NAME, formatName, readSubjectAltNames, type SubjectAltNames } from './names.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { usagesOfExtensions } from './usages.js';
import type { CertificateTemplateSpec, KeyAlgorithm, UsageName } from './spec.js';

// PKCS#10 requests, for issuers that sign elsewhere (ACME). The request
// carries the same subject, SANs and usages a certificate for the spec would,
// so a CA that honours requested extensions produces the same certificate.

export interface ParsedCsr extends SubjectAltNames {
  subject: string;
  commonName: string | undefined;
  usages: UsageName[];
  isCA: boolean;
  keyAlgorithm: KeyAlgorithm;
  keySize: number;
  publicKey: KeyObject;
  /** The request, DER (what ACME's finalize wants, base64url-encoded). */
  der: Buffer;
}

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_SET = 0x31;
const EXTENSION_REQUEST_DER = encodeTlv(TAG_OID, encodeOid(OID_EXTENSION_REQUEST));
const VERSION_1 = encodeTlv(TAG_INTEGER, Uint8Array.of(0));

/** The OID of an Extension element. */
function extensionOid(extension: Uint8Array): string {
  const [id] = readChildren(readTlv(extension, 0).value);
  return id === undefined ? '' : decodeOid(id.value);
}

/**
 * A signed CSR for the spec, PEM. basicConstraints is only requested for a CA:
 * ACME servers issue leaf certificates and some refuse requests that carry it.
 *
 * Built with the DER helpers and signed with node:crypto's sign() on the key's
 * KeyObject, as certificates are (sign.ts): the library's generator built it
 * through asn1js and signed through WebCrypto after exporting and importing the
 * key again, 5–8 ms per request. The subject and extensions are
 * templatePartsDer's, byte for byte the library's (a unit test compares the
 * signed part of both).
 */
// eslint-disable-next-line @typescript-eslint/require-await -- signing is synchronous; the API stays async so a throw still arrives as a rejection
export async function createCsr(spec: CertificateTemplateSpec, key: PrivateKey): Promise<string> {
  const { subject, extensions } = templatePartsDer(spec, key.algorithm);
  const requested = spec.isCA === true ? extensions : extensions.filter((e) => extensionOid(e) !== OID_BASIC_CONSTRAINTS);
  try {
    const { algorithmDer, hash } = signatureParameters(key);
    // CertificationRequestInfo: version, subject, subjectPKInfo, attributes [0] { extensionRequest }.
    const attributes =
      requested.length === 0 ? [] : [encodeTlv(TAG_SEQUENCE, concatBytes([EXTENSION_REQUEST_DER, encodeTlv(TAG_SET, encodeTlv(TAG_SEQUENCE, concatBytes(requested)))]))];
    const info = encodeTlv(TAG_SEQUENCE, concatBytes([VERSION_1, subject, subjectPublicKeyInfo(key), encodeTlv(0xa0, concatBytes(attributes))]));
    const signature = sign(hash, info, key.keyObject);
    const der = encodeTlv(TAG_SEQUENCE, concatBytes([info, algorithmDer, encodeTlv(TAG_BIT_STRING, concatBytes([Uint8Array.of(0), signature]))]));
    return encodePem('CERTIFICATE REQUEST', der);
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('InvalidCSR', `creating a CSR with a ${key.algorithm} ${key.size} key failed: ${describeCause(cause)}`, {
      cause,
    });
  }
}

/**
 * Parses a PEM CSR and checks its self-signature (proof the requester holds
 * the key). Throws PkiError(InvalidCSR) when it is malformed or the signature
 * does not verify, UnsupportedKey for key types certkeeper does not issue.
 */
export async function parseCsr(pem: string, source = 'CSR'): Promise<ParsedCsr> {
  const blocks = decodePemBlocks(pem, source);
  const [block, ...extra] = blocks;
  if (block === undefined || extra.length > 0) {
    throw new PkiError('InvalidCSR', `${source}: contains ${blocks.length} PEM blocks, expected exactly one CERTIFICATE REQUEST`);
  }
  if (block.type !== 'CERTIFICATE REQUEST' && block.type !== 'NEW CERTIFICATE REQUEST') {
    throw new PkiError('InvalidCSR', `${source}: PEM block is "${block.type}", expected CERTIFICATE REQUEST`);
  }
  let csr: x509.Pkcs10CertificateRequest;
  let publicKey: KeyObject;
  let names: SubjectAltNames;
  try {
    csr = new x509.Pkcs10CertificateRequest(Uint8Array.from(block.der));
    publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    names = readSubjectAltNames(csr.extensions.find((e) => e.type === OID_SUBJECT_ALT_NAME)?.value);
  } catch (cause) {
    throw new PkiError('InvalidCSR', `${source}: not a valid PKCS#10 request: ${describeCause(cause)}`, { cause });
  }
  const { algorithm, size } = describeKey(publicKey);
  let signatureValid: boolean;
  try {
    signatureValid = await csr.verify();
  } catch (cause) {
    throw new PkiError('InvalidCSR', `${source}: its signature could not be checked: ${describeCause(cause)}`, { cause });
  }
  if (!signatureValid) throw new PkiError('InvalidCSR', `${source}: its signature does not verify with its own public key`);
  return {
    subject: formatName(csr.subjectName),
    commonName: csr.subjectName.getField('CN')[0],
    ...names,
    usages: usagesOfExtensions(csr.extensions),
    isCA: csr.extensions.some((e) => e instanceof x509.BasicConstraintsExtension && e.ca),
    keyAlgorithm: algorithm,
    keySize: size,
    publicKey,
    der: block.der,
  };
}
