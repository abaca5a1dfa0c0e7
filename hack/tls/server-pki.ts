import { execFile } from 'node:child_process';
import { X509Certificate, generateKeyPair, type KeyObject } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodePrivateKeyPem, generatePrivateKey, type PrivateKey } from '../../src/pki/keys.js';
import { selfSignCertificate, signCertificateWithCa, type CertificateAuthority } from '../../src/pki/sign.js';
import type { KeyAlgorithm } from '../../src/pki/spec.js';

// The PKI of the live TLS servers, made at test time against the real clock
// (the servers are probed now): an ECDSA root, an ECDSA and an RSA
// intermediate under it, and leaf certificates with the flaws the tests need.

const HOUR_MS = 60 * 60 * 1000;
export const DAY_MS = 24 * HOUR_MS;

export interface TlsCa extends CertificateAuthority {
  pem: string;
}

export interface TlsTestPki {
  root: TlsCa;
  ecdsaIntermediate: TlsCa;
  rsaIntermediate: TlsCa;
  /** The trust anchor to verify against: the root alone. */
  caPem: string;
}

export type LeafKey = 'ECDSA-256' | 'RSA-2048' | 'RSA-1024';

export interface ServerCertificateRequest {
  dnsNames: readonly string[];
  key: LeafKey;
  issuer: TlsCa;
  /** Default: an hour ago. */
  notBefore?: Date;
  /** Default 90 days (Mozilla's recommended lifespan). */
  durationMs?: number;
  /** Default true: serve the intermediate after the leaf. */
  sendIntermediate?: boolean;
}

export interface ServerCertificate {
  /** What the server sends: leaf, then the intermediate unless left out. */
  chainPem: string;
  leafPem: string;
  keyPem: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);

async function ca(commonName: string, algorithm: KeyAlgorithm, parent: TlsCa | undefined, now: Date): Promise<TlsCa> {
  const privateKey = await generatePrivateKey({ algorithm, size: algorithm === 'RSA' ? 2048 : 256 });
  // Valid from a year back, so a leaf that expired last month still chains to valid CAs.
  const spec = { commonName, subject: { organizations: ['certkeeper probe tests'] }, isCA: true, durationMs: 2 * 365 * DAY_MS };
  const notBefore = new Date(now.getTime() - 365 * DAY_MS);
  const signed = parent
    ? await signCertificateWithCa({ spec, subjectKey: privateKey, ca: parent, now: notBefore })
    : await selfSignCertificate({ spec, privateKey, now: notBefore });
  return { certificate: signed.certificate, privateKey, pem: signed.pem };
}

export async function createTlsTestPki(now = new Date()): Promise<TlsTestPki> {
  const root = await ca('certkeeper probe test root', 'ECDSA', undefined, now);
  const [ecdsaIntermediate, rsaIntermediate] = await Promise.all([
    ca('certkeeper probe ECDSA intermediate', 'ECDSA', root, now),
    ca('certkeeper probe RSA intermediate', 'RSA', root, now),
  ]);
  return { root, ecdsaIntermediate, rsaIntermediate, caPem: root.pem };
}

/** RSA 1024 is below what src/pki generates, so its key comes from node:crypto directly. */
async function leafKey(key: LeafKey): Promise<{ subjectKey: PrivateKey | KeyObject; keyPem: string }> {
  switch (key) {
    case 'ECDSA-256': {
      const privateKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
      return { subjectKey: privateKey, keyPem: encodePrivateKeyPem(privateKey, 'PKCS8') };
    }
    case 'RSA-2048': {
      const privateKey = await generatePrivateKey({ algorithm: 'RSA', size: 2048 });
      return { subjectKey: privateKey, keyPem: encodePrivateKeyPem(privateKey, 'PKCS8') };
    }
    case 'RSA-1024': {
      const { privateKey, publicKey } = await generateKeyPairAsync('rsa', { modulusLength: 1024, publicExponent: 0x10001 });
      return { subjectKey: publicKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    }
  }
}

export async function issueServerCertificate(request: ServerCertificateRequest): Promise<ServerCertificate> {
  const { subjectKey, keyPem } = await leafKey(request.key);
  const [commonName] = request.dnsNames;
  const signed = await signCertificateWithCa({
    spec: { commonName, dnsNames: request.dnsNames, durationMs: request.durationMs ?? 90 * DAY_MS, usages: request.key === 'ECDSA-256' ? ['digital signature', 'server auth'] : ['digital signature', 'key encipherment', 'server auth'] },
    subjectKey,
    ca: request.issuer,
    now: request.notBefore ?? new Date(Date.now() - HOUR_MS),
  });
  const chainPem = request.sendIntermediate === false ? signed.pem : signed.pem + request.issuer.pem;
  return { chainPem, leafPem: signed.pem, keyPem };
}

const execFileAsync = promisify(execFile);

/** YYMMDDHHMMSSZ, the time format of an `openssl ca` index file. */
function indexTime(date: Date): string {
  return date.toISOString().replace(/^\d\d(\d\d)-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d).*$/, '$1$2$3$4$5$6Z');
}

/**
 * A DER OCSP response saying "good" for `leafPem`, signed by its issuer and
 * valid for a day — what a server staples. Made with the openssl CLI acting
 * as the issuer's responder (`openssl ocsp -index`), no network involved.
 */
export async function goodOcspResponse(leafPem: string, issuer: TlsCa): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-ocsp-'));
  try {
    const leaf = new X509Certificate(leafPem);
    const files = { leaf: join(dir, 'leaf.pem'), issuer: join(dir, 'issuer.pem'), key: join(dir, 'issuer.key'), index: join(dir, 'index.txt'), request: join(dir, 'request.der'), response: join(dir, 'response.der') };
    await writeFile(files.leaf, leafPem);
    await writeFile(files.issuer, issuer.pem);
    await writeFile(files.key, encodePrivateKeyPem(issuer.privateKey, 'PKCS8'), { mode: 0o600 });
    await writeFile(files.index, `V\t${indexTime(new Date(leaf.validTo))}\t\t${leaf.serialNumber.toUpperCase()}\tunknown\t/CN=${leaf.subject.replace(/^.*CN=/s, '')}\n`);
    await execFileAsync('openssl', ['ocsp', '-issuer', files.issuer, '-cert', files.leaf, '-no_nonce', '-reqout', files.request]);
    await execFileAsync('openssl', ['ocsp', '-index', files.index, '-rsigner', files.issuer, '-rkey', files.key, '-CA', files.issuer, '-reqin', files.request, '-respout', files.response, '-ndays', '1']);
    return await readFile(files.response);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
