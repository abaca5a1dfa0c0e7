import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { createCsr, parseCsr } from '../../../src/pki/csr.js';
import { readTlv } from '../../../src/pki/der.js';
import type { PrivateKey } from '../../../src/pki/keys.js';
import { templateParts } from '../../../src/pki/template.js';
import { signingAlgorithm, toWebCryptoKeyPair } from '../../support/webcrypto-keys.js';
import { x509 } from '../../../src/pki/x509.js';
import { PkiError } from '../../../src/pki/errors.js';
import { publicKeyFingerprint } from '../../../src/pki/keys.js';
import { decodePemBlocks, encodePem } from '../../../src/pki/pem.js';
import type { CertificateTemplateSpec } from '../../../src/pki/spec.js';
import { FAST_KEY_CASES, mutations, testKey } from '../../support/pki.js';

const SPEC: CertificateTemplateSpec = {
  commonName: 'web.example',
  dnsNames: ['web.example', 'www.web.example'],
  ipAddresses: ['192.0.2.7'],
  uris: ['spiffe://td/ns/web'],
  emailAddresses: ['ops@example.com'],
  subject: { organizations: ['Example'] },
  usages: ['digital signature', 'client auth', 'server auth'],
};

function der(pem: string): Buffer {
  return decodePemBlocks(pem, 'test')[0]?.der ?? Buffer.alloc(0);
}

describe('createCsr / parseCsr', () => {
  it.each(FAST_KEY_CASES)('round-trips names, usages and key for $label', async ({ spec }) => {
    const key = await testKey(spec);
    const pem = await createCsr(SPEC, key);
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const csr = await parseCsr(pem);
    expect(csr).toMatchObject({
      subject: 'O=Example, CN=web.example',
      commonName: 'web.example',
      dnsNames: SPEC.dnsNames,
      ipAddresses: SPEC.ipAddresses,
      uris: SPEC.uris,
      emailAddresses: SPEC.emailAddresses,
      usages: ['digital signature', 'client auth', 'server auth'],
      isCA: false,
      keyAlgorithm: key.algorithm,
      keySize: key.size,
    });
    expect(publicKeyFingerprint(csr.publicKey)).toBe(publicKeyFingerprint(key));
    expect(csr.der.equals(der(pem))).toBe(true);
  });

  it('requests basicConstraints only for a CA', async () => {
    const key = await testKey({ algorithm: 'ECDSA' });
    expect((await parseCsr(await createCsr({ ...SPEC, isCA: true }, key))).isCA).toBe(true);
    expect((await parseCsr(await createCsr(SPEC, key))).isCA).toBe(false);
  });

  it('a CSR with only SANs has an empty subject', async () => {
    const csr = await parseCsr(await createCsr({ dnsNames: ['a.example'] }, await testKey({ algorithm: 'Ed25519' })));
    expect(csr).toMatchObject({ subject: '', commonName: undefined, dnsNames: ['a.example'] });
  });

  it('refuses a spec without any identity', async () => {
    await expect(createCsr({}, await testKey({ algorithm: 'Ed25519' }))).rejects.toMatchObject({ reason: 'InvalidTemplate' });
  });
});

/** The CSR as @peculiar/x509's generator makes it (what createCsr used before it built the DER itself). */
async function libraryCsr(spec: CertificateTemplateSpec, key: PrivateKey): Promise<Buffer> {
  const { subject, extensions } = templateParts(spec, key.algorithm);
  const requested = spec.isCA === true ? extensions : extensions.filter((e) => !(e instanceof x509.BasicConstraintsExtension));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: subject, extensions: requested, signingAlgorithm: signingAlgorithm(key), keys: await toWebCryptoKeyPair(key) });
  return Buffer.from(csr.rawData);
}

/** The signed part (CertificationRequestInfo) and the signature algorithm of a CSR's DER, as they are. */
function signedParts(csrDer: Buffer): { info: Buffer; algorithm: Buffer } {
  const outer = readTlv(csrDer, 0);
  const start = outer.end - outer.value.length;
  const info = readTlv(csrDer, start);
  const algorithm = readTlv(csrDer, info.end);
  return { info: csrDer.subarray(start, info.end), algorithm: csrDer.subarray(info.end, algorithm.end) };
}

describe('createCsr builds the DER itself, as the library would, signed natively', () => {
  const specs: [string, CertificateTemplateSpec][] = [
    ['CN, O and SANs of every kind', SPEC],
    ['a CA', { ...SPEC, isCA: true }],
    ['SANs only (critical SAN, empty subject)', { dnsNames: ['a.example', '*.a.example'] }],
    ['an IPv6 address and default usages', { commonName: 'v6.example', ipAddresses: ['2001:db8::1'] }],
  ];
  it.each(FAST_KEY_CASES)('the signed part is byte for byte the library\'s for $label', async ({ spec: keySpec }) => {
    const key = await testKey(keySpec);
    for (const [label, spec] of specs) {
      const ours = signedParts(der(await createCsr(spec, key)));
      const theirs = signedParts(await libraryCsr(spec, key));
      expect(ours.info.toString('hex'), label).toBe(theirs.info.toString('hex'));
      expect(ours.algorithm.toString('hex'), label).toBe(theirs.algorithm.toString('hex'));
    }
  });

  it.each(FAST_KEY_CASES.filter((c) => c.label !== 'Ed25519'))('openssl req -verify accepts it and reads the names for $label', async ({ spec: keySpec }) => {
    const pem = await createCsr(SPEC, await testKey(keySpec));
    // Missing openssl fails the test (no skip): spawnSync then reports an error and no status.
    const run = (input: string) => spawnSync('openssl', ['req', '-verify', '-noout', '-text'], { input, encoding: 'utf8' });
    const good = run(pem);
    expect(good.error).toBeUndefined();
    expect(good.status).toBe(0);
    expect(good.stderr + good.stdout).toContain('self-signature verify OK');
    expect(good.stdout).toMatch(/Subject: O ?= ?Example, CN ?= ?web\.example/);
    for (const name of ['DNS:web.example,', 'DNS:www.web.example', 'IP Address:192.0.2.7', 'URI:spiffe://td/ns/web', 'email:ops@example.com']) expect(good.stdout).toContain(name);
    expect(good.stdout).toContain('TLS Web Client Authentication, TLS Web Server Authentication');
    expect(good.stdout).not.toContain('Basic Constraints');
    const tampered = Buffer.from(der(pem));
    tampered[tampered.indexOf(Buffer.from('web.example'))] = 'x'.charCodeAt(0);
    const bad = run(encodePem('CERTIFICATE REQUEST', tampered));
    // OpenSSL 3.0 exits 0 either way; what it says differs.
    expect(bad.stderr + bad.stdout).toContain('self-signature verify failure');
  });
});

describe('parseCsr rejects', () => {
  it.each([
    ['garbage', 'garbage', /no PEM block found/],
    ['a certificate block', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', /PEM block is "CERTIFICATE", expected CERTIFICATE REQUEST/],
    ['not DER', encodePem('CERTIFICATE REQUEST', Buffer.from('nope')), /not a valid PKCS#10 request/],
  ])('%s', async (_label, pem, message) => {
    const error: unknown = await parseCsr(pem, 'order 42 CSR').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PkiError);
    expect((error as PkiError).message).toMatch(message);
    expect((error as PkiError).message).toMatch(/^order 42 CSR: /);
  });

  it('a CSR whose signature does not verify', async () => {
    const pem = await createCsr(SPEC, await testKey({ algorithm: 'ECDSA' }));
    const tampered = Buffer.from(der(pem));
    // The first dNSName's first letter sits inside the signed part; change it.
    const at = tampered.indexOf(Buffer.from('web.example'));
    tampered[at] = 'x'.charCodeAt(0);
    await expect(parseCsr(encodePem('CERTIFICATE REQUEST', tampered))).rejects.toMatchObject({
      reason: 'InvalidCSR',
      message: 'CSR: its signature does not verify with its own public key',
    });
  });

  it('fuzz: mutated CSRs parse or fail with a PkiError', async () => {
    const pem = await createCsr(SPEC, await testKey({ algorithm: 'ECDSA' }));
    let round = 0;
    for (const mutated of mutations(der(pem), 200)) {
      round++;
      const error: unknown = await parseCsr(encodePem('CERTIFICATE REQUEST', mutated)).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error !== undefined) expect(error, `round ${round}`).toBeInstanceOf(PkiError);
    }
  });
});
