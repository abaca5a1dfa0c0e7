import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { PkiError, describeCause } from './errors.js';
import { decodePemBlocks } from './pem.js';
import { spkiFromKeyObject } from './spki.js';
import type { KeyAlgorithm, PrivateKeyEncoding, PrivateKeySpec } from './spec.js';

// Private keys as node KeyObjects. A KeyObject never prints or serialises its
// material (inspect shows only its type, JSON gives {}), so a PrivateKey that
// ends up in a log line or an error's context leaks nothing.

export interface PrivateKey {
  readonly algorithm: KeyAlgorithm;
  /** RSA modulus bits, ECDSA curve bits, 256 for Ed25519. */
  readonly size: number;
  readonly keyObject: KeyObject;
}

export interface KeyDescription {
  algorithm: KeyAlgorithm;
  size: number;
}

export const RSA_KEY_SIZES: readonly number[] = [2048, 3072, 4096, 8192];
export const ECDSA_KEY_SIZES: readonly number[] = [256, 384, 521];
export const DEFAULT_RSA_KEY_SIZE = 2048;
export const DEFAULT_ECDSA_KEY_SIZE = 256;
const ED25519_SIZE = 256;

const CURVE_BY_SIZE: Readonly<Record<number, string>> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };
// asymmetricKeyDetails.namedCurve reports OpenSSL's names.
const SIZE_BY_CURVE: Readonly<Record<string, number>> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** The spec with its default size applied; throws InvalidKeySpec on a size the algorithm does not allow. */
export function resolvePrivateKeySpec(spec: PrivateKeySpec): KeyDescription {
  switch (spec.algorithm) {
    case 'RSA': {
      const size = spec.size ?? DEFAULT_RSA_KEY_SIZE;
      if (!RSA_KEY_SIZES.includes(size)) {
        throw new PkiError('InvalidKeySpec', `RSA key size ${size} is not allowed (allowed: ${RSA_KEY_SIZES.join(', ')})`);
      }
      return { algorithm: 'RSA', size };
    }
    case 'ECDSA': {
      const size = spec.size ?? DEFAULT_ECDSA_KEY_SIZE;
      if (!ECDSA_KEY_SIZES.includes(size)) {
        throw new PkiError('InvalidKeySpec', `ECDSA key size ${size} is not allowed (allowed: ${ECDSA_KEY_SIZES.join(', ')})`);
      }
      return { algorithm: 'ECDSA', size };
    }
    case 'Ed25519':
      // cert-manager ignores size for Ed25519; so do we.
      return { algorithm: 'Ed25519', size: ED25519_SIZE };
    default:
      throw new PkiError('InvalidKeySpec', `unknown private key algorithm ${JSON.stringify(spec.algorithm)}`);
  }
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * A fresh private key. Generation runs on libuv's thread pool, so even RSA
 * 4096/8192 (hundreds of ms to seconds) does not block the event loop.
 */
export async function generatePrivateKey(spec: PrivateKeySpec): Promise<PrivateKey> {
  const { algorithm, size } = resolvePrivateKeySpec(spec);
  let pair: { privateKey: KeyObject };
  switch (algorithm) {
    case 'RSA':
      pair = await generateKeyPairAsync('rsa', { modulusLength: size, publicExponent: 0x10001 });
      break;
    case 'ECDSA':
      pair = await generateKeyPairAsync('ec', { namedCurve: CURVE_BY_SIZE[size] ?? 'P-256' });
      break;
    case 'Ed25519':
      pair = await generateKeyPairAsync('ed25519');
      break;
  }
  return { algorithm, size, keyObject: pair.privateKey };
}

/** Algorithm and size of any supported key, public or private. Throws UnsupportedKey otherwise. */
export function describeKey(key: PrivateKey | KeyObject): KeyDescription {
  const keyObject = 'keyObject' in key ? key.keyObject : key;
  const description = describeKeyObject(keyObject);
  if (description === undefined) {
    const details = keyObject.asymmetricKeyDetails?.namedCurve;
    const what = [keyObject.asymmetricKeyType ?? keyObject.type, details].filter(Boolean).join(' ');
    throw new PkiError('UnsupportedKey', `unsupported key type ${what} (supported: RSA, ECDSA P-256/P-384/P-521, Ed25519)`);
  }
  return description;
}

/** Like describeKey, but undefined for key types certkeeper does not issue (DSA, Ed448, secp256k1, RSA-PSS...). */
export function describeKeyObject(keyObject: KeyObject): KeyDescription | undefined {
  switch (keyObject.asymmetricKeyType) {
    case 'rsa': {
      const bits = keyObject.asymmetricKeyDetails?.modulusLength;
      return bits === undefined ? undefined : { algorithm: 'RSA', size: bits };
    }
    case 'ec': {
      const size = SIZE_BY_CURVE[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
      return size === undefined ? undefined : { algorithm: 'ECDSA', size };
    }
    case 'ed25519':
      return { algorithm: 'Ed25519', size: ED25519_SIZE };
    default:
      return undefined;
  }
}

/** Wraps a node private KeyObject, checking that certkeeper supports its type. */
export function privateKeyFromKeyObject(keyObject: KeyObject): PrivateKey {
  if (keyObject.type !== 'private') {
    throw new PkiError('InvalidPrivateKey', `expected a private key, got a ${keyObject.type} key`);
  }
  const { algorithm, size } = describeKey(keyObject);
  return { algorithm, size, keyObject };
}

/**
 * PEM as cert-manager writes it: PKCS1 means "RSA PRIVATE KEY" for RSA and
 * SEC1 "EC PRIVATE KEY" for ECDSA; PKCS8 means "PRIVATE KEY". Ed25519 has no
 * PKCS1/SEC1 form and is always PKCS8.
 */
export function encodePrivateKeyPem(key: PrivateKey, encoding: PrivateKeyEncoding): string {
  if (encoding === 'PKCS8' || key.algorithm === 'Ed25519') {
    return key.keyObject.export({ format: 'pem', type: 'pkcs8' }).toString();
  }
  const type = key.algorithm === 'RSA' ? 'pkcs1' : 'sec1';
  return key.keyObject.export({ format: 'pem', type }).toString();
}

const DER_TYPE_BY_PEM_LABEL: Readonly<Record<string, 'pkcs1' | 'sec1' | 'pkcs8'>> = {
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
  'PRIVATE KEY': 'pkcs8',
};

/**
 * Parses the one private key in `pem` (PKCS1, SEC1 or PKCS8). An "EC
 * PARAMETERS" block, which `openssl ecparam -genkey` writes before the key, is
 * skipped. `source` names the input in errors, e.g. "tls.key of Secret ns/ca".
 */
export function parsePrivateKeyPem(pem: string, source = 'private key'): PrivateKey {
  const keyBlocks = decodePemBlocks(pem, source).filter((b) => b.type !== 'EC PARAMETERS');
  const [block, ...extra] = keyBlocks;
  if (block === undefined) throw new PkiError('InvalidPrivateKey', `${source}: contains EC parameters but no private key`);
  if (extra.length > 0) {
    throw new PkiError('InvalidPrivateKey', `${source}: contains ${keyBlocks.length} PEM blocks, expected exactly one private key`);
  }
  if (block.type === 'ENCRYPTED PRIVATE KEY') {
    throw new PkiError('InvalidPrivateKey', `${source}: the private key is encrypted; certkeeper needs an unencrypted key`);
  }
  const derType = DER_TYPE_BY_PEM_LABEL[block.type];
  if (derType === undefined) {
    throw new PkiError(
      'InvalidPrivateKey',
      `${source}: PEM block is "${block.type}", expected RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY`,
    );
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: block.der, format: 'der', type: derType });
  } catch (cause) {
    // OpenSSL's decoder messages name the failing routine, not the input bytes.
    throw new PkiError('InvalidPrivateKey', `${source}: ${block.type} block could not be decoded: ${describeCause(cause)}`, {
      cause,
    });
  }
  return privateKeyFromKeyObject(keyObject);
}

/** DER SubjectPublicKeyInfo of a key; for a private key, of its public half. */
export function subjectPublicKeyInfo(key: PrivateKey | KeyObject): Buffer {
  const keyObject = 'keyObject' in key ? key.keyObject : key;
  const built = spkiFromKeyObject(keyObject);
  if (built !== undefined) return built;
  const publicKey = keyObject.type === 'public' ? keyObject : createPublicKey(keyObject);
  return publicKey.export({ format: 'der', type: 'spki' });
}

/** SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex: a stable identity for a key pair. */
export function publicKeyFingerprint(key: PrivateKey | KeyObject): string {
  return createHash('sha256').update(subjectPublicKeyInfo(key)).digest('hex');
}

/**
 * Whether an existing key is what the spec asks for (algorithm, and size with
 * defaults applied), so rotationPolicy: Never can keep it. Ed25519 has no size.
 */
export function privateKeyMatchesSpec(key: PrivateKey, spec: PrivateKeySpec): boolean {
  const wanted = resolvePrivateKeySpec(spec);
  return key.algorithm === wanted.algorithm && key.size === wanted.size;
}
