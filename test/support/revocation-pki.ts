import { webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { x509 } from '../../src/pki/x509.js';
import { encodePem } from '../../src/pki/pem.js';

// Certificates with the revocation extensions src/pki does not issue (AIA
// OCSP, CRL distribution points, TLS Feature "Must-Staple", any EKU) and
// CRLs, made with @peculiar/x509 directly, for the revocation and EKU checks.

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const TLS_FEATURE_OID = '1.3.6.1.5.5.7.1.24';
/** DER of Features ::= SEQUENCE { INTEGER 5 } (status_request). */
const MUST_STAPLE = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]);
const EKU = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

export interface TestCa {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
}

export interface TestLeaf {
  certificate: x509.X509Certificate;
  keys: CryptoKeyPair;
  pem: string;
  keyPem: string;
}

function keys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

export async function testCa(name = 'revocation test CA', now = new Date()): Promise<TestCa> {
  const pair = await keys();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(now.getTime() - 86_400_000),
    notAfter: new Date(now.getTime() + 365 * 86_400_000),
    signingAlgorithm: ALGORITHM,
    keys: pair,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { certificate, keys: pair, pem: `${certificate.toString('pem')}\n` };
}

export interface LeafOptions {
  dnsName: string;
  serial: string;
  ocspUrl?: string;
  crlUrl?: string;
  mustStaple?: boolean;
  /** Default: serverAuth only. */
  clientAuth?: boolean;
  now?: Date;
}

export async function testLeaf(ca: TestCa, o: LeafOptions): Promise<TestLeaf> {
  const pair = await keys();
  const now = o.now ?? new Date();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(o.clientAuth === true ? [EKU.serverAuth, EKU.clientAuth] : [EKU.serverAuth]),
    new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: o.dnsName }]),
  ];
  if (o.ocspUrl !== undefined) extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: [new x509.GeneralName('url', o.ocspUrl)] }));
  if (o.crlUrl !== undefined) extensions.push(new x509.CRLDistributionPointsExtension([o.crlUrl]));
  if (o.mustStaple === true) extensions.push(new x509.Extension(TLS_FEATURE_OID, false, MUST_STAPLE));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: o.serial,
    subject: `CN=${o.dnsName}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(now.getTime() - 3_600_000),
    notAfter: new Date(now.getTime() + 30 * 86_400_000),
    signingAlgorithm: ALGORITHM,
    publicKey: pair.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  const keyPem = encodePem('PRIVATE KEY', pkcs8);
  return { certificate, keys: pair, pem: `${certificate.toString('pem')}\n`, keyPem };
}

export interface CrlOptions {
  revoked?: string[];
  thisUpdate: Date;
  nextUpdate: Date;
  /** Sign with another key than the CA's (a forged CRL). */
  signer?: CryptoKeyPair;
}

export async function testCrl(ca: TestCa, o: CrlOptions): Promise<Buffer> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subject,
    thisUpdate: o.thisUpdate,
    nextUpdate: o.nextUpdate,
    entries: (o.revoked ?? []).map((serialNumber) => ({ serialNumber, revocationDate: o.thisUpdate })),
    signingAlgorithm: ALGORITHM,
    signingKey: (o.signer ?? ca.keys).privateKey,
  });
  return Buffer.from(crl.rawData);
}
