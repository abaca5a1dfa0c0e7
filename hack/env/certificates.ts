import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

x509.cryptoProvider.set(webcrypto);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const RSA_KEY: webcrypto.RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const DAY_MS = 24 * 60 * 60 * 1000;

/** The SANs kube-apiserver's serving certificate must carry. */
export const APISERVER_SANS = {
  dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
  ip: ['127.0.0.1', '10.0.0.1'],
} as const;

/** Paths of every PEM file the environment's PKI consists of. */
export interface PkiPaths {
  dir: string;
  /** Signs the apiserver's and Pebble's serving certificates: trust this for either. */
  caCert: string;
  apiserverCert: string;
  apiserverKey: string;
  /** Signs client certificates the apiserver accepts (`--client-ca-file`). */
  clientCaCert: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
  pebbleCert: string;
  pebbleKey: string;
}

interface Issuer {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

async function ecKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

function pem(label: string, der: ArrayBuffer): string {
  return x509.PemConverter.encode(der, label) + '\n';
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

async function publicKeyPem(key: CryptoKey): Promise<string> {
  return pem('PUBLIC KEY', await webcrypto.subtle.exportKey('spki', key));
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // Backdated a little so a clock that lags by seconds still accepts it.
  return { notBefore: new Date(now - 60 * 60 * 1000), notAfter: new Date(now + days * DAY_MS) };
}

async function createCa(commonName: string): Promise<Issuer> {
  const keys = await ecKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    signingAlgorithm: EC_SIGNING,
    ...validity(30),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

interface LeafRequest {
  subject: string;
  usage: 'server' | 'client';
  dns?: readonly string[];
  ip?: readonly string[];
}

async function issueLeaf(issuer: Issuer, request: LeafRequest): Promise<Issuer> {
  const keys = await ecKeys();
  const names: x509.JsonGeneralName[] = [
    ...(request.dns ?? []).map((value): x509.JsonGeneralName => ({ type: 'dns', value })),
    ...(request.ip ?? []).map((value): x509.JsonGeneralName => ({ type: 'ip', value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      [request.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const cert = await x509.X509CertificateGenerator.create({
    subject: request.subject,
    issuer: issuer.cert.subject,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: EC_SIGNING,
    ...validity(7),
    extensions,
  });
  return { cert, keys };
}

async function writePair(certPath: string, keyPath: string, pair: Issuer): Promise<void> {
  await writeFile(certPath, pair.cert.toString('pem') + '\n', { mode: 0o644 });
  await writeFile(keyPath, await privateKeyPem(pair.keys.privateKey), { mode: 0o600 });
}

/** Where createPki(dir) puts each file. */
export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    apiserverCert: join(dir, 'apiserver.crt'),
    apiserverKey: join(dir, 'apiserver.key'),
    clientCaCert: join(dir, 'client-ca.crt'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
    pebbleCert: join(dir, 'pebble.crt'),
    pebbleKey: join(dir, 'pebble.key'),
  };
}

/**
 * Makes the environment's throwaway PKI under `<dir>`: fresh keys every
 * start, never committed, gone with the environment's directory.
 */
export async function createPki(dir: string): Promise<PkiPaths> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const [servingCa, clientCa] = await Promise.all([
    createCa('certkeeper-env-ca'),
    createCa('certkeeper-env-client-ca'),
  ]);
  const [apiserver, admin, pebble, serviceAccount] = await Promise.all([
    issueLeaf(servingCa, {
      subject: 'CN=kube-apiserver',
      usage: 'server',
      dns: APISERVER_SANS.dns,
      ip: APISERVER_SANS.ip,
    }),
    issueLeaf(clientCa, { subject: 'CN=certkeeper-admin, O=system:masters', usage: 'client' }),
    issueLeaf(servingCa, { subject: 'CN=pebble', usage: 'server', dns: ['localhost', 'pebble'], ip: ['127.0.0.1'] }),
    webcrypto.subtle.generateKey(RSA_KEY, true, ['sign', 'verify']),
  ]);

  const paths = pkiPaths(dir);
  await writeFile(paths.caCert, servingCa.cert.toString('pem') + '\n');
  await writeFile(paths.clientCaCert, clientCa.cert.toString('pem') + '\n');
  await writePair(paths.apiserverCert, paths.apiserverKey, apiserver);
  await writePair(paths.adminCert, paths.adminKey, admin);
  await writePair(paths.pebbleCert, paths.pebbleKey, pebble);
  await writeFile(paths.serviceAccountKey, await privateKeyPem(serviceAccount.privateKey), { mode: 0o600 });
  await writeFile(paths.serviceAccountPublicKey, await publicKeyPem(serviceAccount.publicKey));
  return paths;
}
