import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  describeKey,
  encodePrivateKeyPem,
  generatePrivateKey,
  parsePrivateKeyPem,
  privateKeyFromKeyObject,
  privateKeyMatchesSpec,
  publicKeyFingerprint,
  resolvePrivateKeySpec,
  subjectPublicKeyInfo,
} from '../../../src/pki/keys.js';
import { PkiError } from '../../../src/pki/errors.js';
import { decodePemBlocks, encodePem } from '../../../src/pki/pem.js';
import type { PrivateKeyEncoding, PrivateKeySpec } from '../../../src/pki/spec.js';
import { KEY_CASES, mutations, preloadTestKeys, testKey } from '../../support/pki.js';

const ENCODINGS: readonly PrivateKeyEncoding[] = ['PKCS1', 'PKCS8'];

function pemLabel(pem: string): string | undefined {
  return /^-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1];
}

function pkiErrorOf(fn: () => unknown): PkiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PkiError) return error;
    throw error;
  }
  throw new Error('expected a PkiError, nothing was thrown');
}

const EXPECTED_LABEL: Record<string, Record<PrivateKeyEncoding, string>> = {
  RSA: { PKCS1: 'RSA PRIVATE KEY', PKCS8: 'PRIVATE KEY' },
  ECDSA: { PKCS1: 'EC PRIVATE KEY', PKCS8: 'PRIVATE KEY' },
  Ed25519: { PKCS1: 'PRIVATE KEY', PKCS8: 'PRIVATE KEY' },
};

const EXTRA_KEY_CASES = [{ label: 'RSA 3072', spec: { algorithm: 'RSA', size: 3072 } as PrivateKeySpec }];

beforeAll(() => preloadTestKeys([...KEY_CASES, ...EXTRA_KEY_CASES]), 60_000);

describe('private key encoding round trip', () => {
  const cases = [...KEY_CASES, ...EXTRA_KEY_CASES].flatMap((keyCase) =>
    ENCODINGS.map((encoding) => ({ ...keyCase, encoding })),
  );

  it.each(cases)('$label as $encoding', async ({ spec, encoding }) => {
    const key = await testKey(spec);
    const expected = resolvePrivateKeySpec(spec);
    expect(describeKey(key)).toEqual(expected);
    expect({ algorithm: key.algorithm, size: key.size }).toEqual(expected);

    const pem = encodePrivateKeyPem(key, encoding);
    expect(pemLabel(pem)).toBe(EXPECTED_LABEL[spec.algorithm]?.[encoding]);

    const parsed = parsePrivateKeyPem(pem);
    expect(describeKey(parsed)).toEqual(expected);
    expect(publicKeyFingerprint(parsed)).toBe(publicKeyFingerprint(key));
    expect(encodePrivateKeyPem(parsed, encoding)).toBe(pem);
  });
});

describe('resolvePrivateKeySpec', () => {
  it.each([
    [{ algorithm: 'RSA' }, { algorithm: 'RSA', size: 2048 }],
    [{ algorithm: 'RSA', size: 8192 }, { algorithm: 'RSA', size: 8192 }],
    [{ algorithm: 'ECDSA' }, { algorithm: 'ECDSA', size: 256 }],
    [{ algorithm: 'ECDSA', size: 521 }, { algorithm: 'ECDSA', size: 521 }],
    [{ algorithm: 'Ed25519', size: 4096 }, { algorithm: 'Ed25519', size: 256 }],
  ] as [PrivateKeySpec, unknown][])('%o -> %o', (spec, expected) => {
    expect(resolvePrivateKeySpec(spec)).toEqual(expected);
  });

  it.each([
    [{ algorithm: 'RSA', size: 1024 }, /RSA key size 1024 is not allowed/],
    [{ algorithm: 'RSA', size: 2047 }, /RSA key size 2047/],
    [{ algorithm: 'ECDSA', size: 224 }, /ECDSA key size 224 is not allowed \(allowed: 256, 384, 521\)/],
  ] as [PrivateKeySpec, RegExp][])('rejects %o', async (spec, message) => {
    const error = pkiErrorOf(() => resolvePrivateKeySpec(spec));
    expect(error.reason).toBe('InvalidKeySpec');
    expect(error.message).toMatch(message);
    await expect(generatePrivateKey(spec)).rejects.toThrow(message);
  });
});

describe('generatePrivateKey', () => {
  it('runs off the event loop', async () => {
    let ticks = 0;
    let spinning = true;
    const spin = (): void => {
      ticks++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    await generatePrivateKey({ algorithm: 'RSA', size: 2048 });
    spinning = false;
    expect(ticks).toBeGreaterThan(0);
  });

  it('makes a different key each time', async () => {
    const [a, b] = await Promise.all([generatePrivateKey({ algorithm: 'Ed25519' }), generatePrivateKey({ algorithm: 'Ed25519' })]);
    expect(publicKeyFingerprint(a)).not.toBe(publicKeyFingerprint(b));
  });
});

describe('privateKeyMatchesSpec', () => {
  it.each([
    ['RSA 2048', { algorithm: 'RSA', size: 2048 }, { algorithm: 'RSA' }, true],
    ['RSA 2048', { algorithm: 'RSA', size: 2048 }, { algorithm: 'RSA', size: 2048 }, true],
    ['RSA 2048', { algorithm: 'RSA', size: 2048 }, { algorithm: 'RSA', size: 3072 }, false],
    ['RSA 2048', { algorithm: 'RSA', size: 2048 }, { algorithm: 'ECDSA' }, false],
    ['P-256', { algorithm: 'ECDSA', size: 256 }, { algorithm: 'ECDSA' }, true],
    ['P-256', { algorithm: 'ECDSA', size: 256 }, { algorithm: 'ECDSA', size: 384 }, false],
    ['P-384', { algorithm: 'ECDSA', size: 384 }, { algorithm: 'ECDSA', size: 384 }, true],
    ['Ed25519', { algorithm: 'Ed25519' }, { algorithm: 'Ed25519', size: 4096 }, true],
    ['Ed25519', { algorithm: 'Ed25519' }, { algorithm: 'ECDSA' }, false],
  ] as [string, PrivateKeySpec, PrivateKeySpec, boolean][])('%s against %o is %s', async (_label, keySpec, wanted, expected) => {
    expect(privateKeyMatchesSpec(await testKey(keySpec), wanted)).toBe(expected);
  });
});

describe('fingerprints and public keys', () => {
  it('publicKeyFingerprint is SHA-256 of the SPKI, the same for the private and public half', async () => {
    const key = await testKey({ algorithm: 'ECDSA', size: 256 });
    const fingerprint = publicKeyFingerprint(key);
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(publicKeyFingerprint(createPublicKey(key.keyObject))).toBe(fingerprint);
    expect(subjectPublicKeyInfo(key).equals(createPublicKey(key.keyObject).export({ format: 'der', type: 'spki' }))).toBe(true);
  });

  it('a key handle leaks no material when logged or serialised', async () => {
    const key = await testKey({ algorithm: 'ECDSA', size: 256 });
    const body = encodePrivateKeyPem(key, 'PKCS8').split('\n')[1] ?? '';
    expect(JSON.stringify(key)).not.toContain(body.slice(0, 20));
    expect(JSON.stringify(key)).toContain('"algorithm":"ECDSA"');
  });
});

describe('parsePrivateKeyPem rejects what it cannot use, naming the problem', () => {
  const ed448 = generateKeyPairSync('ed448').privateKey;
  const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  const encrypted = rsa.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();
  const legacyEncrypted = rsa.export({ format: 'pem', type: 'pkcs1', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();
  const rsaPem = rsa.export({ format: 'pem', type: 'pkcs8' }).toString();
  const truncated = rsaPem.replace(/\n[A-Za-z0-9+/=]+\n-----END/, '\n-----END');
  const wrongLabel = rsaPem.replace(/PRIVATE KEY/g, 'EC PRIVATE KEY');

  it.each([
    ['empty input', '', 'InvalidPEM', /no PEM block found/],
    ['text', 'not a key', 'InvalidPEM', /no PEM block found/],
    ['unterminated block', '-----BEGIN PRIVATE KEY-----\nAAAA\n', 'InvalidPEM', /no matching "-----END PRIVATE KEY-----"/],
    ['bad base64', '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n', 'InvalidPEM', /does not contain valid base64/],
    ['a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'InvalidPrivateKey', /is "CERTIFICATE", expected/],
    ['PKCS8 encrypted key', encrypted, 'InvalidPrivateKey', /encrypted/],
    ['legacy encrypted key', legacyEncrypted, 'InvalidPEM', /encryption headers/],
    ['two keys', rsaPem + rsaPem, 'InvalidPrivateKey', /2 PEM blocks, expected exactly one/],
    ['truncated key', truncated, 'InvalidPrivateKey', /PRIVATE KEY block could not be decoded/],
    ['PKCS8 labelled as SEC1', wrongLabel, 'InvalidPrivateKey', /EC PRIVATE KEY block could not be decoded/],
    ['Ed448', ed448.export({ format: 'pem', type: 'pkcs8' }).toString(), 'UnsupportedKey', /unsupported key type ed448/],
    ['secp256k1', secp256k1.export({ format: 'pem', type: 'sec1' }).toString(), 'UnsupportedKey', /ec secp256k1/],
  ])('%s', (_label, pem, reason, message) => {
    const error = pkiErrorOf(() => parsePrivateKeyPem(pem, 'tls.key of Secret ns/web'));
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    if (reason !== 'UnsupportedKey') expect(error.message).toMatch(/^tls\.key of Secret ns\/web: /);
    const body = pem.split('\n').find((line) => line.length > 40);
    if (body !== undefined) expect(error.message).not.toContain(body.slice(0, 24));
  });

  it('accepts an EC PARAMETERS block before the key, as openssl ecparam -genkey writes it', async () => {
    const key = await testKey({ algorithm: 'ECDSA', size: 256 });
    const prime256v1 = Uint8Array.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
    const pem = encodePem('EC PARAMETERS', prime256v1) + encodePrivateKeyPem(key, 'PKCS1');
    expect(publicKeyFingerprint(parsePrivateKeyPem(pem))).toBe(publicKeyFingerprint(key));
  });

  it('privateKeyFromKeyObject refuses a public key', async () => {
    const key = await testKey({ algorithm: 'Ed25519' });
    expect(pkiErrorOf(() => privateKeyFromKeyObject(createPublicKey(key.keyObject)))).toMatchObject({
      reason: 'InvalidPrivateKey',
      message: 'expected a private key, got a public key',
    });
  });

  it.each([
    ['RSA PKCS1', { algorithm: 'RSA' }, 'PKCS1'],
    ['ECDSA SEC1', { algorithm: 'ECDSA' }, 'PKCS1'],
    ['Ed25519 PKCS8', { algorithm: 'Ed25519' }, 'PKCS8'],
  ] as [string, PrivateKeySpec, PrivateKeyEncoding][])('fuzz: mutated %s keys parse or fail with a PkiError', async (_label, spec, encoding) => {
    const pem = encodePrivateKeyPem(await testKey(spec), encoding);
    const [block] = decodePemBlocks(pem, 'test');
    let round = 0;
    for (const mutated of mutations(block?.der ?? Buffer.alloc(0), 200)) {
      round++;
      try {
        parsePrivateKeyPem(encodePem(block?.type ?? 'PRIVATE KEY', mutated));
      } catch (error) {
        expect(error, `round ${round}`).toBeInstanceOf(PkiError);
      }
    }
  });
});
