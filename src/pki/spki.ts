import { createPublicKey, type KeyObject } from 'node:crypto';
import { TAG_SEQUENCE, concatBytes, encodeTlv } from './der.js';

// SubjectPublicKeyInfo DER built by hand for the key types certkeeper
// issues. OpenSSL 3's SPKI encoder costs ~0.1 ms a call, and a key's SPKI is
// wanted several times per issuance (signing, key identifier, matching).

/**
 * The DER SubjectPublicKeyInfo of a key as a certificate would carry it,
 * built from the key's JWK (a cheap export) rather than OpenSSL's SPKI
 * encoder (~0.1 ms); undefined for key types not built here.
 */
export function spkiFromKeyObject(keyObject: KeyObject): Buffer | undefined {
  const der = buildSpki(keyObject);
  return der === undefined ? undefined : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
}

function buildSpki(keyObject: KeyObject): Uint8Array | undefined {
  // The public half only: no private material is exported into JS strings.
  const jwk = (keyObject.type === 'public' ? keyObject : createPublicKey(keyObject)).export({ format: 'jwk' });
  const bytes = (text: string | undefined): Buffer => Buffer.from(text ?? '', 'base64url');
  if (jwk.kty === 'EC') {
    const curve = CURVE_OID_DER[jwk.crv ?? ''];
    return curve === undefined ? undefined : ecSpki(curve, Buffer.concat([Uint8Array.of(4), bytes(jwk.x), bytes(jwk.y)]));
  }
  if (jwk.kty === 'RSA') return rsaSpki(encodeTlv(0x02, positiveInteger(bytes(jwk.n))), encodeTlv(0x02, positiveInteger(bytes(jwk.e))));
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    return encodeTlv(TAG_SEQUENCE, concatBytes([Buffer.from('300506032b6570', 'hex'), bitString(bytes(jwk.x))]));
  }
  return undefined;
}

const CURVE_OID_DER: Readonly<Record<string, Uint8Array>> = {
  'P-256': Buffer.from('06082a8648ce3d030107', 'hex'),
  'P-384': Buffer.from('06052b81040022', 'hex'),
  'P-521': Buffer.from('06052b81040023', 'hex'),
};
const EC_PUBLIC_KEY_OID_DER = Buffer.from('06072a8648ce3d0201', 'hex');
const RSA_ALGORITHM_DER = Buffer.from('300d06092a864886f70d0101010500', 'hex');

function bitString(content: Uint8Array): Uint8Array {
  return encodeTlv(0x03, concatBytes([Uint8Array.of(0), content]));
}

function positiveInteger(magnitude: Uint8Array): Uint8Array {
  let m = magnitude;
  while (m.length > 1 && m[0] === 0) m = m.subarray(1);
  return (m[0] ?? 0) > 0x7f ? concatBytes([Uint8Array.of(0), m]) : m;
}

export function ecSpki(curveOidDer: Uint8Array, point: Uint8Array): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, concatBytes([encodeTlv(TAG_SEQUENCE, concatBytes([EC_PUBLIC_KEY_OID_DER, curveOidDer])), bitString(point)]));
}

export function rsaSpki(modulusTlv: Uint8Array, exponentTlv: Uint8Array): Uint8Array {
  return encodeTlv(TAG_SEQUENCE, concatBytes([RSA_ALGORITHM_DER, bitString(encodeTlv(TAG_SEQUENCE, concatBytes([modulusTlv, exponentTlv])))]));
}

