import { webcrypto } from 'node:crypto';
import { PkiError, describeCause } from '../../src/pki/errors.js';
import { subjectPublicKeyInfo, type PrivateKey } from '../../src/pki/keys.js';

// For tests only: reference certificates and CSRs built with @peculiar/x509,
// to compare with what src/pki builds natively. @peculiar/x509 signs through
// WebCrypto, so node KeyObjects are imported as CryptoKeys (Node 20 has no
// KeyObject#toCryptoKey); Node 20's WebCrypto implements Ed25519 too.

type SigningAlgorithm = { name: 'RSASSA-PKCS1-v1_5' } | { name: 'ECDSA'; hash: string } | { name: 'Ed25519' };

const ECDSA_BY_SIZE: Readonly<Record<number, { namedCurve: string; hash: string }>> = {
  256: { namedCurve: 'P-256', hash: 'SHA-256' },
  384: { namedCurve: 'P-384', hash: 'SHA-384' },
  521: { namedCurve: 'P-521', hash: 'SHA-512' },
};

function ecdsaParameters(key: PrivateKey): { namedCurve: string; hash: string } {
  const parameters = ECDSA_BY_SIZE[key.size];
  if (parameters === undefined) throw new PkiError('UnsupportedKey', `no ECDSA curve of ${key.size} bits`);
  return parameters;
}

/** WebCrypto import parameters; RSA keys are bound to SHA-256 at import. */
function importAlgorithm(key: PrivateKey): webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm {
  switch (key.algorithm) {
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    case 'ECDSA':
      return { name: 'ECDSA', namedCurve: ecdsaParameters(key).namedCurve };
    case 'Ed25519':
      return { name: 'Ed25519' };
  }
}

/**
 * The signature algorithm a key signs with: RSASSA-PKCS1-v1_5 with SHA-256,
 * ECDSA with the hash matching the curve (P-256/SHA-256, P-384/SHA-384,
 * P-521/SHA-512, as Go does), or pure Ed25519.
 */
export function signingAlgorithm(key: PrivateKey): SigningAlgorithm {
  switch (key.algorithm) {
    case 'RSA':
      return { name: 'RSASSA-PKCS1-v1_5' };
    case 'ECDSA':
      return { name: 'ECDSA', hash: ecdsaParameters(key).hash };
    case 'Ed25519':
      return { name: 'Ed25519' };
  }
}

export interface WebCryptoKeyPair {
  privateKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
}

/** Non-extractable WebCrypto handles for a private key and its public half. */
export async function toWebCryptoKeyPair(key: PrivateKey): Promise<WebCryptoKeyPair> {
  const algorithm = importAlgorithm(key);
  try {
    const pkcs8 = key.keyObject.export({ format: 'der', type: 'pkcs8' });
    const [privateKey, publicKey] = await Promise.all([
      webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']),
      webcrypto.subtle.importKey('spki', subjectPublicKeyInfo(key), algorithm, true, ['verify']),
    ]);
    return { privateKey, publicKey };
  } catch (cause) {
    throw new PkiError('UnsupportedKey', `cannot use ${key.algorithm} ${key.size} key for signing: ${describeCause(cause)}`, {
      cause,
    });
  }
}
