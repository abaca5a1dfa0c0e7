import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCaIssuer } from '../../../src/issuers/ca/ca-issuer.js';
import type { CaSecretData } from '../../../src/issuers/ca/ca-key-pair.js';
import { IssuerError, type IssueRequest } from '../../../src/issuers/types.js';
import { keyMatchesCertificate, parseCertificateChainPem, summarizeCertificate, verifyChain } from '../../../src/pki/certificates.js';
import { encodePrivateKeyPem, subjectPublicKeyInfo } from '../../../src/pki/keys.js';
import { signingAlgorithm, toWebCryptoKeyPair } from '../../support/webcrypto-keys.js';
import { x509 } from '../../../src/pki/x509.js';
import type { KeyAlgorithm } from '../../../src/pki/spec.js';
import { DAY_MS, TEST_NOW, chainPem, makeTestCa, testKey, type TestCa } from '../../support/pki.js';

const ALGORITHMS: readonly KeyAlgorithm[] = ['RSA', 'ECDSA', 'Ed25519'];

async function request(algorithm: KeyAlgorithm = 'ECDSA', now = TEST_NOW): Promise<IssueRequest> {
  return {
    spec: { commonName: 'web.example', dnsNames: ['web.example'], durationMs: 30 * DAY_MS },
    privateKey: await testKey({ algorithm }, 1),
    now,
  };
}

function secretOf(ca: TestCa, change: Partial<Record<keyof CaSecretData, string | undefined>> = {}): CaSecretData {
  return { 'tls.crt': ca['tls.crt'], 'tls.key': ca['tls.key'], ...change };
}

function issuerError(fn: () => unknown): IssuerError {
  try {
    fn();
  } catch (error) {
    if (error instanceof IssuerError) return error;
    throw error;
  }
  throw new Error('expected an IssuerError');
}

describe('CA issuer issues verifiable chains', () => {
  const pairs = ALGORITHMS.flatMap((caAlgorithm) => ALGORITHMS.map((leafAlgorithm) => ({ caAlgorithm, leafAlgorithm })));

  it.each(pairs)('$leafAlgorithm leaf from a $caAlgorithm CA', async ({ caAlgorithm, leafAlgorithm }) => {
    const ca = await makeTestCa({ algorithm: caAlgorithm });
    const issuer = createCaIssuer({ secretData: secretOf(ca), now: TEST_NOW });
    const req = await request(leafAlgorithm);
    const issued = await issuer.issue(req);

    const [leaf, ...rest] = parseCertificateChainPem(issued.certificatePem);
    expect(rest.map((c) => c.rawData)).toEqual([ca.certificate.rawData]);
    expect(issued.caPem).toBe(ca['tls.crt']);
    expect(verifyChain({ chainPem: issued.certificatePem, caPem: issued.caPem, at: TEST_NOW })).toEqual({ valid: true });
    expect(keyMatchesCertificate(req.privateKey, issued.certificatePem)).toBe(true);

    const leafNode = new NodeX509Certificate(issued.certificatePem);
    const caNode = new NodeX509Certificate(issued.caPem);
    expect(leafNode.checkIssued(caNode)).toBe(true);
    expect(leafNode.verify(caNode.publicKey)).toBe(true);
    expect(leaf && summarizeCertificate(leaf)).toMatchObject({ commonName: 'web.example', keyAlgorithm: leafAlgorithm, isCA: false });
  });

  it('with an intermediate: tls.crt = leaf + the CA Secret tls.crt, ca.crt = the Secret ca.crt', async () => {
    const root = await makeTestCa({ algorithm: 'RSA' });
    const intermediate = await makeTestCa({ algorithm: 'ECDSA', parent: root, slot: 101 });
    const issued = await createCaIssuer({ secretData: secretOf(intermediate, { 'ca.crt': intermediate['ca.crt'] }), now: TEST_NOW }).issue(await request());
    const chain = parseCertificateChainPem(issued.certificatePem);
    expect(chain.slice(1).map((c) => summarizeCertificate(c).commonName)).toEqual(['certkeeper test intermediate CA', 'certkeeper test root CA']);
    expect(issued.caPem).toBe(root['ca.crt']);
    expect(verifyChain({ chainPem: issued.certificatePem, caPem: issued.caPem, at: TEST_NOW })).toEqual({ valid: true });
  });

  it('without ca.crt, ca.crt defaults to the last certificate of tls.crt', async () => {
    const root = await makeTestCa();
    const intermediate = await makeTestCa({ parent: root, slot: 101 });
    const issued = await createCaIssuer({ secretData: secretOf(intermediate), now: TEST_NOW }).issue(await request());
    expect(issued.caPem).toBe(chainPem(root.certificate));
  });

  it('an intermediate-only tls.crt with the root in ca.crt', async () => {
    const root = await makeTestCa();
    const intermediate = await makeTestCa({ parent: root, slot: 101 });
    const secretData = { 'tls.crt': chainPem(intermediate.certificate), 'tls.key': intermediate['tls.key'], 'ca.crt': root['ca.crt'] };
    const issued = await createCaIssuer({ secretData, now: TEST_NOW }).issue(await request());
    expect(parseCertificateChainPem(issued.certificatePem)).toHaveLength(2);
    expect(verifyChain({ chainPem: issued.certificatePem, caPem: issued.caPem, at: TEST_NOW })).toEqual({ valid: true });
  });

  it('exposes caNotAfter (earliest in tls.crt) and does not cap leaf lifetimes itself', async () => {
    const root = await makeTestCa({ durationMs: 400 * DAY_MS });
    const intermediate = await makeTestCa({ parent: root, durationMs: 20 * DAY_MS, slot: 101 });
    const issuer = createCaIssuer({ secretData: secretOf(intermediate), now: TEST_NOW });
    expect(issuer.caNotAfter).toEqual(intermediate.certificate.notAfter);
    const issued = await issuer.issue(await request());
    const [leaf] = parseCertificateChainPem(issued.certificatePem);
    expect(leaf && leaf.notAfter > issuer.caNotAfter).toBe(true);
  });

  it('refuses to issue once the CA has expired', async () => {
    const ca = await makeTestCa({ durationMs: 10 * DAY_MS });
    const issuer = createCaIssuer({ secretData: secretOf(ca), secretName: 'certkeeper/ca', now: TEST_NOW });
    await expect(issuer.issue(await request('ECDSA', new Date(TEST_NOW.getTime() + 20 * DAY_MS)))).rejects.toMatchObject({
      reason: 'CAExpired',
      message: expect.stringMatching(/in tls\.crt of Secret certkeeper\/ca expired at/) as unknown,
    });
  });
});

describe('CA Secret validation names the problem', () => {
  type Case = [label: string, build: () => Promise<CaSecretData>, reason: string, message: RegExp];
  const cases: Case[] = [
    ['missing tls.crt', async () => ({ 'tls.key': (await makeTestCa())['tls.key'] }), 'CASecretIncomplete', /^Secret certkeeper\/ca has no tls\.crt$/],
    ['missing tls.key', async () => ({ 'tls.crt': (await makeTestCa())['tls.crt'], 'tls.key': ' ' }), 'CASecretIncomplete', /has no tls\.key$/],
    ['garbage tls.crt', async () => secretOf(await makeTestCa(), { 'tls.crt': 'garbage' }), 'CASecretInvalid', /^tls\.crt of Secret certkeeper\/ca: no PEM block found/],
    ['garbage tls.key', async () => secretOf(await makeTestCa(), { 'tls.key': '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), 'CASecretInvalid', /^tls\.key of Secret certkeeper\/ca: PRIVATE KEY block could not be decoded/],
    ['garbage ca.crt', async () => secretOf(await makeTestCa(), { 'ca.crt': 'nope' }), 'CASecretInvalid', /^ca\.crt of Secret certkeeper\/ca: no PEM block found/],
    ['a key of another CA', async () => secretOf(await makeTestCa(), { 'tls.key': (await makeTestCa({ slot: 102 }))['tls.key'] }), 'CAKeyMismatch', /tls\.key of Secret certkeeper\/ca does not belong to the certificate "O=certkeeper tests, CN=certkeeper test root CA"/],
    ['a non-CA certificate', async () => secretOf(await makeTestCa({ isCA: false, slot: 103 })), 'CANotACA', /is not a CA \(basicConstraints CA is not true\)/],
    ['a CA without cert sign', caWithoutCertSign, 'CANotACA', /"CN=no cert sign" in tls\.crt of Secret certkeeper\/ca may not sign certificates \(keyUsage lacks cert sign\)/],
    ['an expired CA', async () => secretOf(await makeTestCa({ notBefore: new Date(TEST_NOW.getTime() - 40 * DAY_MS), durationMs: 30 * DAY_MS })), 'CAExpired', /expired at 2025-12-2/],
    ['a CA not valid yet', async () => secretOf(await makeTestCa({ notBefore: new Date(TEST_NOW.getTime() + DAY_MS) })), 'CANotYetValid', /is not valid before 2026-01-02/],
    ['a ca.crt that tls.crt does not chain to', async () => secretOf(await makeTestCa(), { 'ca.crt': (await makeTestCa({ slot: 102, commonName: 'unrelated' }))['ca.crt'] }), 'CAChainInvalid', /tls\.crt of Secret certkeeper\/ca does not verify against its ca\.crt: .*does not chain/],
  ];

  it.each(cases)('%s', async (_label, build, reason, message) => {
    const secretData = await build();
    const error = issuerError(() => createCaIssuer({ secretData, secretName: 'certkeeper/ca', now: TEST_NOW }));
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    const keyBody = (secretData['tls.key'] ?? '').split('\n').filter((line) => line.length > 40);
    for (const line of keyBody) expect(error.message).not.toContain(line.slice(8, 40));
  });
});

/**
 * A CA certificate whose keyUsage lacks cert sign. The spec cannot express
 * one (isCA always adds cert sign), so it is built with the library directly.
 */
async function caWithoutCertSign(): Promise<CaSecretData> {
  const privateKey = await testKey({ algorithm: 'ECDSA' }, 104);
  const name = new x509.Name('CN=no cert sign');
  const cert = await x509.X509CertificateGenerator.create({
    subject: name,
    issuer: name,
    notBefore: new Date(TEST_NOW.getTime() - DAY_MS),
    notAfter: new Date(TEST_NOW.getTime() + DAY_MS),
    publicKey: Uint8Array.from(subjectPublicKeyInfo(privateKey)),
    signingKey: (await toWebCryptoKeyPair(privateKey)).privateKey,
    signingAlgorithm: signingAlgorithm(privateKey),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.cRLSign, true)],
  });
  return { 'tls.crt': chainPem(cert), 'tls.key': encodePrivateKeyPem(privateKey, 'PKCS8') };
}
