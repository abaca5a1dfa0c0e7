import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { x509 } from './x509.js';
import { PkiError, describeCause } from './errors.js';
import { describeKey, subjectPublicKeyInfo, type PrivateKey } from './keys.js';
import { encodePem } from './pem.js';
import { DEFAULT_DURATION_MS, type CertificateTemplateSpec } from './spec.js';
import { TAG_OID, TAG_SEQUENCE, concatBytes, encodeTlv } from './der.js';
import { authorityKeyIdentifierBytes, caSubjectDer, keyIdentifierBytes } from './template.js';
import { templatePartsDer } from './template-der.js';

// Signing X.509 v3 certificates, self-signed or by a CA key pair.
//
// Lifetime policy is the caller's: notAfter is always now + duration, even
// past the CA's own notAfter (such a certificate fails verification once the
// CA expires). Callers that want to cap or refuse read the CA's notAfter —
// CaIssuer exposes it as `caNotAfter` — and decide before calling.

export interface SignedCertificate {
  readonly certificate: x509.X509Certificate;
  /** The certificate alone, DER. */
  readonly der: Uint8Array;
  /** The certificate alone, PEM. */
  readonly pem: string;
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
// eslint-disable-next-line @typescript-eslint/require-await -- signing is synchronous now; the API stays async so a throw still arrives as a rejection
export async function selfSignCertificate(request: SelfSignRequest): Promise<SignedCertificate> {
  const { spec, privateKey, now } = request;
  const { subject, extensions } = templatePartsDer(spec, privateKey.algorithm);
  return signTbs({
    subject,
    issuerDer: subject,
    extensions,
    subjectSpki: subjectPublicKeyInfo(privateKey),
    authorityKeyId: undefined,
    signer: privateKey,
    now,
    durationMs: spec.durationMs,
  });
}

/** A certificate for `subjectKey`, issued by `ca`: issuer = the CA's subject, authorityKeyIdentifier = the CA's key id. */
// eslint-disable-next-line @typescript-eslint/require-await -- signing is synchronous now; the API stays async so a throw still arrives as a rejection
export async function signCertificateWithCa(request: CaSignRequest): Promise<SignedCertificate> {
  const { spec, subjectKey, ca, now } = request;
  const subjectAlgorithm = describeKey(subjectKey).algorithm;
  const { subject, extensions } = templatePartsDer(spec, subjectAlgorithm);
  return signTbs({
    subject,
    issuerDer: caSubjectDer(ca.certificate),
    extensions,
    subjectSpki: subjectPublicKeyInfo(subjectKey),
    authorityKeyId: authorityKeyIdentifierBytes(ca.certificate),
    signer: ca.privateKey,
    now,
    durationMs: spec.durationMs,
  });
}

interface TbsInput {
  /** The subject Name element. */
  subject: Uint8Array;
  /** DER of the issuer Name: the CA certificate's subject bytes as they are, or the subject for self-signed. */
  issuerDer: Uint8Array;
  /** Extension elements (templatePartsDer). */
  extensions: Uint8Array[];
  subjectSpki: Buffer;
  authorityKeyId: Uint8Array | undefined;
  signer: PrivateKey;
  now: Date;
  durationMs: number | undefined;
}

// The TBSCertificate is built here with the DER helpers and signed with
// node:crypto's sign() on the signer's KeyObject: the library's generator
// re-parses every part with asn1js and signs through WebCrypto, which needs
// the key exported and imported again for each signature (~0.7 ms of OpenSSL
// decoders per certificate on top of the ASN.1 work). The parts that vary
// by spec (subject, extensions) come from templatePartsDer, byte for byte
// what the library would encode.

const OID_SUBJECT_KEY_IDENTIFIER = Uint8Array.from([0x55, 0x1d, 0x0e]);
const OID_AUTHORITY_KEY_IDENTIFIER = Uint8Array.from([0x55, 0x1d, 0x23]);
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_UTC_TIME = 0x17;
const TAG_GENERALIZED_TIME = 0x18;

/** AlgorithmIdentifier DER of the signature each key type makes (Go's choices: see signatureParameters). */
const SIGNATURE_ALGORITHM_DER: Readonly<Record<string, Uint8Array>> = {
  // sha256WithRSAEncryption, NULL parameters
  RSA: Buffer.from('300d06092a864886f70d01010b0500', 'hex'),
  'ECDSA-256': Buffer.from('300a06082a8648ce3d040302', 'hex'),
  'ECDSA-384': Buffer.from('300a06082a8648ce3d040303', 'hex'),
  'ECDSA-521': Buffer.from('300a06082a8648ce3d040304', 'hex'),
  Ed25519: Buffer.from('300506032b6570', 'hex'),
};

const HASH_BY_ECDSA_SIZE: Readonly<Record<number, string>> = { 256: 'sha256', 384: 'sha384', 521: 'sha512' };

/** The signature a key makes (AlgorithmIdentifier DER) and the hash node:crypto's sign() takes for it (null for Ed25519). */
export function signatureParameters(key: PrivateKey): { algorithmDer: Uint8Array; hash: string | null } {
  switch (key.algorithm) {
    case 'RSA':
      return { algorithmDer: SIGNATURE_ALGORITHM_DER.RSA as Uint8Array, hash: 'sha256' };
    case 'ECDSA': {
      const der = SIGNATURE_ALGORITHM_DER[`ECDSA-${key.size}`];
      const hash = HASH_BY_ECDSA_SIZE[key.size];
      if (der === undefined || hash === undefined) throw new PkiError('UnsupportedKey', `no ECDSA curve of ${key.size} bits`);
      return { algorithmDer: der, hash };
    }
    case 'Ed25519':
      return { algorithmDer: SIGNATURE_ALGORITHM_DER.Ed25519 as Uint8Array, hash: null };
  }
}

/** A positive INTEGER's content octets from hex: leading zeros dropped, 0x00 prepended when the top bit is set. */
function positiveIntegerOctets(hex: string): Uint8Array {
  let bytes = Buffer.from(hex, 'hex');
  let first = 0;
  while (first < bytes.length - 1 && bytes[first] === 0) first++;
  bytes = bytes.subarray(first);
  if (bytes.length === 0) return Uint8Array.of(0);
  return (bytes[0] as number) > 0x7f ? concatBytes([Uint8Array.of(0), bytes]) : bytes;
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime after; whole seconds. */
function encodeTime(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year <= 2049) return encodeTlv(TAG_UTC_TIME, Buffer.from(digits.slice(2), 'latin1'));
  return encodeTlv(TAG_GENERALIZED_TIME, Buffer.from(digits, 'latin1'));
}

function extensionDer(oid: Uint8Array, value: Uint8Array): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, concatBytes([encodeTlv(TAG_OID, oid), encodeTlv(TAG_OCTET_STRING, value)]));
}

function signTbs(input: TbsInput): SignedCertificate {
  const notBefore = new Date(Math.floor(input.now.getTime() / 1000) * 1000);
  const notAfter = new Date(input.now.getTime() + (input.durationMs ?? DEFAULT_DURATION_MS));
  const extensions = [...input.extensions];
  extensions.push(extensionDer(OID_SUBJECT_KEY_IDENTIFIER, encodeTlv(TAG_OCTET_STRING, keyIdentifierBytes(input.subjectSpki))));
  if (input.authorityKeyId !== undefined) {
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    extensions.push(extensionDer(OID_AUTHORITY_KEY_IDENTIFIER, encodeTlv(TAG_SEQUENCE, encodeTlv(0x80, input.authorityKeyId))));
  }
  try {
    const { algorithmDer, hash } = signatureParameters(input.signer);
    const tbs = encodeTlv(
      TAG_SEQUENCE,
      concatBytes([
        encodeTlv(0xa0, encodeTlv(TAG_INTEGER, Uint8Array.of(2))), // version v3
        encodeTlv(TAG_INTEGER, positiveIntegerOctets(randomSerialNumber())),
        algorithmDer,
        input.issuerDer,
        encodeTlv(TAG_SEQUENCE, concatBytes([encodeTime(notBefore), encodeTime(notAfter)])),
        input.subject,
        input.subjectSpki,
        encodeTlv(0xa3, encodeTlv(TAG_SEQUENCE, concatBytes(extensions))),
      ]),
    );
    // ECDSA signatures come out DER-encoded (r, s), as X.509 carries them.
    const signature = sign(hash, tbs, input.signer.keyObject);
    const der = encodeTlv(TAG_SEQUENCE, concatBytes([tbs, algorithmDer, encodeTlv(TAG_BIT_STRING, concatBytes([Uint8Array.of(0), signature]))]));
    return signedCertificate(der);
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError(
      'InvalidTemplate',
      `signing with a ${input.signer.algorithm} ${input.signer.size} key failed: ${describeCause(cause)}`,
      { cause },
    );
  }
}

/** The signed certificate; the library's object is parsed from the DER only when someone asks for it. */
function signedCertificate(der: Uint8Array): SignedCertificate {
  let parsed: x509.X509Certificate | undefined;
  return {
    der,
    pem: encodePem('CERTIFICATE', der),
    get certificate(): x509.X509Certificate {
      parsed ??= new x509.X509Certificate(der);
      return parsed;
    },
  };
}
