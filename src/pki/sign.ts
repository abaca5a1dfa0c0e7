import { randomBytes, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';
import { PkiError, describeCause } from './errors.js';
import { describeKey, subjectPublicKeyInfo, type PrivateKey } from './keys.js';
import { encodePem } from './pem.js';
import { DEFAULT_DURATION_MS, type CertificateTemplateSpec } from './spec.js';
import { authorityKeyIdentifierOf, keyIdentifier, templateParts } from './template.js';
import { signingAlgorithm, toWebCryptoKeyPair } from './webcrypto-keys.js';

// Signing X.509 v3 certificates, self-signed or by a CA key pair.
//
// Lifetime policy is the caller's: notAfter is always now + duration, even
// past the CA's own notAfter (such a certificate fails verification once the
// CA expires). Callers that want to cap or refuse read the CA's notAfter —
// CaIssuer exposes it as `caNotAfter` — and decide before calling.

export interface SignedCertificate {
  certificate: x509.X509Certificate;
  /** The certificate alone, PEM. */
  pem: string;
}

/** A CA key pair. That the key belongs to the certificate is the caller's check (loadCaKeyPair does it). */
export interface CertificateAuthority {
  certificate: x509.X509Certificate;
  privateKey: PrivateKey;
}

export interface SelfSignRequest {
  spec: CertificateTemplateSpec;
  /** The certificate's own key: its public half is certified, and it signs. */
  privateKey: PrivateKey;
  now: Date;
}

export interface CaSignRequest {
  spec: CertificateTemplateSpec;
  /** The key being certified: a private key handle or any public/private KeyObject. */
  subjectKey: PrivateKey | KeyObject;
  ca: CertificateAuthority;
  now: Date;
}

/** 16 random bytes as hex: a positive serial of up to 128 bits (DER adds a 0x00 when the top bit is set). */
export function randomSerialNumber(): string {
  return randomBytes(16).toString('hex');
}

/** A certificate for `privateKey`, signed by itself. It has no authorityKeyIdentifier, as Go omits it for self-signed certificates. */
export async function selfSignCertificate(request: SelfSignRequest): Promise<SignedCertificate> {
  const { spec, privateKey, now } = request;
  const { subject, extensions } = templateParts(spec, privateKey.algorithm);
  return signTbs({
    subject,
    issuer: subject,
    extensions,
    subjectSpki: subjectPublicKeyInfo(privateKey),
    authorityKeyId: undefined,
    signer: privateKey,
    now,
    durationMs: spec.durationMs,
  });
}

/** A certificate for `subjectKey`, issued by `ca`: issuer = the CA's subject, authorityKeyIdentifier = the CA's key id. */
export async function signCertificateWithCa(request: CaSignRequest): Promise<SignedCertificate> {
  const { spec, subjectKey, ca, now } = request;
  const subjectAlgorithm = describeKey(subjectKey).algorithm;
  const { subject, extensions } = templateParts(spec, subjectAlgorithm);
  return signTbs({
    subject,
    issuer: ca.certificate.subjectName,
    extensions,
    subjectSpki: subjectPublicKeyInfo(subjectKey),
    authorityKeyId: await authorityKeyIdentifierOf(ca.certificate),
    signer: ca.privateKey,
    now,
    durationMs: spec.durationMs,
  });
}

interface TbsInput {
  subject: x509.Name;
  issuer: x509.Name;
  extensions: x509.Extension[];
  subjectSpki: Buffer;
  authorityKeyId: string | undefined;
  signer: PrivateKey;
  now: Date;
  durationMs: number | undefined;
}

async function signTbs(input: TbsInput): Promise<SignedCertificate> {
  const notBefore = new Date(input.now.getTime());
  const notAfter = new Date(notBefore.getTime() + (input.durationMs ?? DEFAULT_DURATION_MS));
  const extensions = [...input.extensions, new x509.SubjectKeyIdentifierExtension(await keyIdentifier(input.subjectSpki))];
  if (input.authorityKeyId !== undefined) {
    extensions.push(new x509.AuthorityKeyIdentifierExtension(input.authorityKeyId, false));
  }
  const signingKey = (await toWebCryptoKeyPair(input.signer)).privateKey;
  let certificate: x509.X509Certificate;
  try {
    certificate = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerialNumber(),
      subject: input.subject,
      issuer: input.issuer,
      notBefore,
      notAfter,
      publicKey: Uint8Array.from(input.subjectSpki),
      signingKey,
      signingAlgorithm: signingAlgorithm(input.signer),
      extensions,
    });
  } catch (cause) {
    throw new PkiError(
      'InvalidTemplate',
      `signing with a ${input.signer.algorithm} ${input.signer.size} key failed: ${describeCause(cause)}`,
      { cause },
    );
  }
  return { certificate, pem: encodePem('CERTIFICATE', new Uint8Array(certificate.rawData)) };
}
