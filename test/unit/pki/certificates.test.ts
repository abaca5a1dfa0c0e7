import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  encodeCertificateChainPem,
  keyMatchesCertificate,
  parseCertificateChainPem,
  summarizeCertificate,
  verifyChain,
} from '../../../src/pki/certificates.js';
import { PkiError } from '../../../src/pki/errors.js';
import { encodePrivateKeyPem, parsePrivateKeyPem } from '../../../src/pki/keys.js';
import { encodePem } from '../../../src/pki/pem.js';
import { selfSignCertificate, signCertificateWithCa } from '../../../src/pki/sign.js';
import type { CertificateTemplateSpec } from '../../../src/pki/spec.js';
import { DAY_MS, TEST_NOW, makeTestCa, mutations, testKey, type TestCa } from '../../support/pki.js';

const LEAF_SPEC: CertificateTemplateSpec = { commonName: 'web.example', dnsNames: ['web.example'], durationMs: 30 * DAY_MS };

async function leafOf(ca: TestCa, spec: CertificateTemplateSpec = LEAF_SPEC, now = TEST_NOW): Promise<string> {
  const signed = await signCertificateWithCa({ spec, subjectKey: await testKey({ algorithm: 'ECDSA' }, 1), ca, now });
  return signed.pem;
}

function parseError(pem: string): PkiError {
  try {
    parseCertificateChainPem(pem, 'tls.crt of Secret ns/web');
  } catch (error) {
    if (error instanceof PkiError) return error;
    throw error;
  }
  throw new Error('expected parseCertificateChainPem to throw');
}

describe('parseCertificateChainPem', () => {
  it('parses a bundle in order, ignoring text between blocks', async () => {
    const root = await makeTestCa();
    const intermediate = await makeTestCa({ parent: root, slot: 101 });
    const bundle = `# intermediate\n${intermediate['tls.crt'].replace('-----END CERTIFICATE-----\n', '-----END CERTIFICATE-----\n# root\n')}`;
    const parsed = parseCertificateChainPem(bundle);
    expect(parsed.map((c) => summarizeCertificate(c).commonName)).toEqual([
      'certkeeper test intermediate CA',
      'certkeeper test root CA',
    ]);
    expect(encodeCertificateChainPem(parsed)).toBe(intermediate['tls.crt']);
  });

  it.each([
    ['empty input', '', 'InvalidPEM', /no PEM block found/],
    ['plain text', 'hello', 'InvalidPEM', /no PEM block found/],
    ['DER pasted as base64', 'MIIBszCCAVmgAwIBAgIQ', 'InvalidPEM', /no PEM block found/],
    ['an unterminated block', '-----BEGIN CERTIFICATE-----\nMIIB\n', 'InvalidPEM', /PEM block 1 \(CERTIFICATE\) has no matching/],
    ['a mismatched footer', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END X509 CRL-----\n', 'InvalidPEM', /no matching/],
    ['broken base64', '-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n', 'InvalidPEM', /does not contain valid base64/],
    ['an empty block', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', 'InvalidPEM', /does not contain valid base64/],
    ['bytes that are not a certificate', encodePem('CERTIFICATE', Buffer.from('definitely not DER')), 'InvalidCertificate', /PEM block 1 is not a valid X.509 certificate/],
  ])('rejects %s', (_label, pem, reason, message) => {
    const error = parseError(pem);
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^tls\.crt of Secret ns\/web: /);
  });

  it('names the block that is a key, without its content', async () => {
    const ca = await makeTestCa();
    const error = parseError(ca['tls.crt'] + ca['tls.key']);
    expect(error).toMatchObject({ reason: 'InvalidCertificate', message: 'tls.crt of Secret ns/web: PEM block 2 is "PRIVATE KEY", expected CERTIFICATE' });
  });

  it('fuzz: mutated certificates parse and summarise, or fail with a PkiError; verifyChain never throws', async () => {
    const der = Buffer.from(parseCertificateChainPem((await makeTestCa())['tls.crt'])[0]?.rawData ?? new ArrayBuffer(0));
    let round = 0;
    for (const mutated of mutations(der, 300)) {
      round++;
      const pem = encodePem('CERTIFICATE', mutated);
      try {
        const [cert] = parseCertificateChainPem(pem);
        if (cert !== undefined) summarizeCertificate(cert);
      } catch (error) {
        expect(error, `round ${round}`).toBeInstanceOf(PkiError);
      }
      expect(() => verifyChain({ chainPem: pem, caPem: pem, at: TEST_NOW }), `round ${round}`).not.toThrow();
    }
  });
});

describe('summarizeCertificate', () => {
  it('agrees with node/OpenSSL on serial, fingerprint, validity, names and CA flag', async () => {
    const ca = await makeTestCa({ algorithm: 'RSA' });
    const pem = await leafOf(ca, { ...LEAF_SPEC, ipAddresses: ['192.0.2.1', '2001:db8::10'], emailAddresses: ['ops@example.com'] });
    const nodeCert = new NodeX509Certificate(pem);
    const summary = summarizeCertificate(parseCertificateChainPem(pem)[0] ?? ca.certificate);
    expect(summary.serialNumber).toBe(nodeCert.serialNumber.toLowerCase());
    expect(summary.fingerprintSHA256).toBe(nodeCert.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(summary.notBefore).toEqual(new Date(nodeCert.validFrom));
    expect(summary.notAfter).toEqual(new Date(nodeCert.validTo));
    expect(summary.notAfter.getTime() - summary.notBefore.getTime()).toBe(30 * DAY_MS);
    expect(summary).toMatchObject({
      subject: 'CN=web.example',
      commonName: 'web.example',
      issuer: 'O=certkeeper tests, CN=certkeeper test root CA',
      dnsNames: ['web.example'],
      ipAddresses: ['192.0.2.1', '2001:db8::10'],
      emailAddresses: ['ops@example.com'],
      uris: [],
      isCA: false,
      keyAlgorithm: 'ECDSA',
      keySize: 256,
      signatureAlgorithm: 'SHA256-RSA',
      usages: ['digital signature', 'server auth'],
    });
    expect(nodeCert.ca).toBe(false);
    expect(summarizeCertificate(ca.certificate)).toMatchObject({ isCA: true, keyAlgorithm: 'RSA', keySize: 2048 });
  });
});

describe('keyMatchesCertificate', () => {
  it.each([
    ['its own key (handle)', 'own', 'handle', true],
    ['its own key (PKCS1 PEM)', 'own', 'PKCS1', true],
    ['its own key (PKCS8 PEM)', 'own', 'PKCS8', true],
    ['another key of the same type', 'other', 'handle', false],
    ['a key of another type', 'otherType', 'PKCS8', false],
  ] as const)('%s -> %s', async (_label, which, form, expected) => {
    const own = await testKey({ algorithm: 'ECDSA' }, 1);
    const key = which === 'own' ? own : which === 'other' ? await testKey({ algorithm: 'ECDSA' }, 2) : await testKey({ algorithm: 'Ed25519' });
    const ca = await makeTestCa();
    const chain = (await leafOf(ca)) + ca['tls.crt'];
    const keyInput = form === 'handle' ? key : encodePrivateKeyPem(key, form);
    expect(keyMatchesCertificate(keyInput, chain)).toBe(expected);
    expect(keyMatchesCertificate(keyInput, parseCertificateChainPem(chain)[0] ?? ca.certificate)).toBe(expected);
  });

  it('matches a CA key to its certificate, and reparsed keys too', async () => {
    const ca = await makeTestCa({ algorithm: 'Ed25519' });
    expect(keyMatchesCertificate(parsePrivateKeyPem(ca['tls.key']), ca['tls.crt'])).toBe(true);
  });
});

describe('verifyChain', () => {
  it('accepts leaf -> intermediate -> root against the root, and leaf -> intermediate against the root', async () => {
    const root = await makeTestCa({ algorithm: 'RSA' });
    const intermediate = await makeTestCa({ parent: root, algorithm: 'Ed25519', slot: 101 });
    const leaf = await leafOf(intermediate);
    const intermediateOnly = parseCertificateChainPem(intermediate['tls.crt'])[0] ?? root.certificate;
    expect(verifyChain({ chainPem: leaf + intermediate['tls.crt'], caPem: root['ca.crt'], at: TEST_NOW })).toEqual({ valid: true });
    expect(verifyChain({ chainPem: leaf + encodeCertificateChainPem([intermediateOnly]), caPem: root['ca.crt'], at: TEST_NOW })).toEqual({ valid: true });
    // An intermediate may itself be the trust anchor.
    expect(verifyChain({ chainPem: leaf, caPem: encodeCertificateChainPem([intermediateOnly]), at: TEST_NOW })).toEqual({ valid: true });
    // caPem may hold several anchors.
    const other = await makeTestCa({ algorithm: 'ECDSA', slot: 102, commonName: 'other' });
    expect(verifyChain({ chainPem: leaf + intermediate['tls.crt'], caPem: other['ca.crt'] + root['ca.crt'], at: TEST_NOW })).toEqual({ valid: true });
  });

  it.each([
    ['a CA that did not sign it', 'otherCa', TEST_NOW, /does not chain to any certificate in caPem .*was not issued by/],
    ['an expired leaf', 'leaf', new Date(TEST_NOW.getTime() + 31 * DAY_MS), /chain certificate 1 \(CN=web.example\) expired at 2026-01-31T00:00:00.000Z/],
    ['a leaf not yet valid', 'leaf', new Date(TEST_NOW.getTime() - 1000), /chain certificate 1 \(CN=web.example\) is not valid before 2026-01-01T00:00:00.000Z/],
    ['an expired CA', 'leaf', new Date(TEST_NOW.getTime() + 400 * DAY_MS), /expired/],
    ['chain in the wrong order', 'reversed', TEST_NOW, /chain certificate 1 \(O=certkeeper tests, CN=certkeeper test root CA\) was not issued by chain certificate 2 \(CN=web.example\)/],
    ['garbage chain', 'garbage', TEST_NOW, /^chain: no PEM block found/],
    ['empty caPem', 'noCa', TEST_NOW, /^CA: no PEM block found/],
  ] as const)('rejects %s', async (_label, variant, at, reason) => {
    const ca = await makeTestCa();
    const otherCa = await makeTestCa({ slot: 102, commonName: 'other CA' });
    const leaf = await leafOf(ca);
    const inputs = {
      otherCa: { chainPem: leaf, caPem: otherCa['ca.crt'] },
      leaf: { chainPem: leaf + ca['tls.crt'], caPem: ca['ca.crt'] },
      reversed: { chainPem: ca['tls.crt'] + leaf, caPem: ca['ca.crt'] },
      garbage: { chainPem: 'garbage', caPem: ca['ca.crt'] },
      noCa: { chainPem: leaf, caPem: '' },
    }[variant];
    const result = verifyChain({ ...inputs, at });
    expect(result.valid).toBe(false);
    expect(result.valid ? '' : result.reason).toMatch(reason);
  });

  it('rejects a certificate signed by a key whose certificate is not a CA', async () => {
    const notCa = await makeTestCa({ isCA: false, usages: ['digital signature', 'cert sign'], slot: 103 });
    const leaf = await leafOf(notCa);
    const result = verifyChain({ chainPem: leaf, caPem: notCa['tls.crt'], at: TEST_NOW });
    expect(result).toMatchObject({ valid: false, reason: expect.stringMatching(/is not a CA/) as unknown });
  });

  it('rejects a certificate whose signature was tampered with', async () => {
    const ca = await makeTestCa();
    const der = Buffer.from(parseCertificateChainPem(await leafOf(ca))[0]?.rawData ?? new ArrayBuffer(0));
    der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff;
    const result = verifyChain({ chainPem: encodePem('CERTIFICATE', der), caPem: ca['ca.crt'], at: TEST_NOW });
    expect(result.valid).toBe(false);
  });

  it('a self-signed leaf is valid against itself only', async () => {
    const key = await testKey({ algorithm: 'Ed25519' });
    const signed = await selfSignCertificate({ spec: LEAF_SPEC, privateKey: key, now: TEST_NOW });
    const ca = await makeTestCa();
    expect(verifyChain({ chainPem: signed.pem, caPem: signed.pem, at: TEST_NOW })).toEqual({ valid: true });
    expect(verifyChain({ chainPem: signed.pem, caPem: ca['ca.crt'], at: TEST_NOW }).valid).toBe(false);
  });
});
