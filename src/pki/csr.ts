import { createPublicKey, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';
import { PkiError, describeCause } from './errors.js';
import { describeKey, type PrivateKey } from './keys.js';
import { OID_SUBJECT_ALT_NAME, formatName, readSubjectAltNames, type SubjectAltNames } from './names.js';
import { decodePemBlocks, encodePem } from './pem.js';
import { templateParts } from './template.js';
import { usagesOfExtensions } from './usages.js';
import { signingAlgorithm, toWebCryptoKeyPair } from './webcrypto-keys.js';
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

/**
 * A signed CSR for the spec, PEM. basicConstraints is only requested for a CA:
 * ACME servers issue leaf certificates and some refuse requests that carry it.
 */
export async function createCsr(spec: CertificateTemplateSpec, key: PrivateKey): Promise<string> {
  const { subject, extensions } = templateParts(spec, key.algorithm);
  const requested = spec.isCA ? extensions : extensions.filter((e) => !(e instanceof x509.BasicConstraintsExtension));
  const keys = await toWebCryptoKeyPair(key);
  try {
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: subject,
      extensions: requested,
      signingAlgorithm: signingAlgorithm(key),
      keys,
    });
    return encodePem('CERTIFICATE REQUEST', new Uint8Array(csr.rawData));
  } catch (cause) {
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
