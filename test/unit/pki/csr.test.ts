import { describe, expect, it } from 'vitest';
import { createCsr, parseCsr } from '../../../src/pki/csr.js';
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
