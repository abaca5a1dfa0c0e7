import { createECDH, randomBytes } from 'node:crypto';

// Post-quantum key exchange groups of TLS 1.3 and the key shares a prober
// offers for them. The prober never completes such a handshake: it only reads
// which group the ServerHello (or HelloRetryRequest) names. A server picks its
// group from supported_groups and the key shares before it touches a share's
// contents, then encapsulates to (or multiplies) what we sent and answers with
// its own share. We never decapsulate, so no ML-KEM implementation is needed:
// a share only has to be well formed enough that the server's parser takes it.
//
// What "well formed" means, per group (sizes: FIPS 203 §8 Table 3,
// draft-ietf-tls-mlkem for the pure groups, draft-ietf-tls-ecdhe-mlkem for the
// hybrids):
// - an ML-KEM encapsulation key is k polynomials of 256 coefficients, 12 bits
//   each (ByteEncode12), then the 32-byte seed rho. FIPS 203 §7.2 makes the
//   receiver run the modulus check: every coefficient must be < q = 3329.
//   Random bytes fail it (a 12-bit value is >= q with probability 0.19, and
//   there are 512 to 1024 of them), and OpenSSL 3.5 rejects such a share with
//   an alert, so the coefficients are drawn below q and packed;
// - an elliptic-curve part is a point on the curve (the generator, as for
//   the classical groups) and an X25519 part the base point u = 9;
// - the hybrids concatenate: ML-KEM first for X25519MLKEM768, the curve first
//   for SecP256r1MLKEM768 and SecP384r1MLKEM1024.

export type PostQuantumKind = 'hybrid' | 'ml-kem';

export interface PostQuantumGroup {
  /** IANA TLS Supported Groups code point. */
  id: number;
  /** IANA (and OpenSSL) name. */
  name: string;
  kind: PostQuantumKind;
  /** ML-KEM parameter set: k = 2 (512), 3 (768), 4 (1024). */
  mlkemK: 2 | 3 | 4;
  /** The classical half of a hybrid, and where it sits in the share. */
  classical?: { curve: 'X25519' | 'prime256v1' | 'secp384r1'; first: boolean };
  /** Length of a client key share. */
  clientShareBytes: number;
  /** Length of the server's key share (ciphertext plus its classical share). */
  serverShareBytes: number;
}

const Q = 3329;
const MLKEM_EK_BYTES = { 2: 800, 3: 1184, 4: 1568 } as const;
const MLKEM_CT_BYTES = { 2: 768, 3: 1088, 4: 1568 } as const;
const CLASSICAL_BYTES = { X25519: 32, prime256v1: 65, secp384r1: 97 } as const;

function group(id: number, name: string, mlkemK: 2 | 3 | 4, classical?: PostQuantumGroup['classical']): PostQuantumGroup {
  const extra = classical === undefined ? 0 : CLASSICAL_BYTES[classical.curve];
  return {
    id,
    name,
    kind: classical === undefined ? 'ml-kem' : 'hybrid',
    mlkemK,
    ...(classical === undefined ? {} : { classical }),
    clientShareBytes: MLKEM_EK_BYTES[mlkemK] + extra,
    serverShareBytes: MLKEM_CT_BYTES[mlkemK] + extra,
  };
}

/** The groups probed, the hybrid browsers offer first. */
export const POST_QUANTUM_GROUPS: readonly PostQuantumGroup[] = [
  group(0x11ec, 'X25519MLKEM768', 3, { curve: 'X25519', first: false }),
  group(0x11eb, 'SecP256r1MLKEM768', 3, { curve: 'prime256v1', first: true }),
  group(0x11ed, 'SecP384r1MLKEM1024', 4, { curve: 'secp384r1', first: true }),
  group(0x0200, 'MLKEM512', 2),
  group(0x0201, 'MLKEM768', 3),
  group(0x0202, 'MLKEM1024', 4),
];

export const X25519MLKEM768 = 0x11ec;

export function postQuantumGroupById(id: number): PostQuantumGroup | undefined {
  return POST_QUANTUM_GROUPS.find((g) => g.id === id);
}

export function postQuantumGroupByName(name: string): PostQuantumGroup | undefined {
  return POST_QUANTUM_GROUPS.find((g) => g.name === name);
}

/** ByteEncode12 (FIPS 203 Algorithm 5): two 12-bit coefficients in three bytes, little-endian. */
export function byteEncode12(coefficients: readonly number[]): Buffer {
  if (coefficients.length % 2 !== 0) throw new RangeError('ByteEncode12 takes an even number of coefficients');
  const out = Buffer.alloc((coefficients.length / 2) * 3);
  for (let i = 0; i < coefficients.length; i += 2) {
    const a = coefficients[i] ?? 0;
    const b = coefficients[i + 1] ?? 0;
    if (a >= 4096 || b >= 4096 || a < 0 || b < 0) throw new RangeError('coefficient outside 12 bits');
    const at = (i / 2) * 3;
    out[at] = a & 0xff;
    out[at + 1] = (a >> 8) | ((b & 0x0f) << 4);
    out[at + 2] = b >> 4;
  }
  return out;
}

/** ByteDecode12 for the tests and the modulus check: the coefficients of an encoded vector. */
export function byteDecode12(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 2 < bytes.length; i += 3) {
    const b0 = bytes[i] ?? 0;
    const b1 = bytes[i + 1] ?? 0;
    const b2 = bytes[i + 2] ?? 0;
    out.push(b0 | ((b1 & 0x0f) << 8), (b1 >> 4) | (b2 << 4));
  }
  return out;
}

/** FIPS 203 §7.2 modulus check: ByteEncode12(ByteDecode12(t)) = t, i.e. every coefficient < q. */
export function passesModulusCheck(encapsulationKey: Uint8Array, k: 2 | 3 | 4): boolean {
  if (encapsulationKey.length !== MLKEM_EK_BYTES[k]) return false;
  return byteDecode12(encapsulationKey.subarray(0, 384 * k)).every((c) => c < Q);
}

/** Uniform in [0, q) by rejection from 16-bit draws. */
function coefficientsBelowQ(count: number, random: (n: number) => Buffer): number[] {
  const out: number[] = [];
  while (out.length < count) {
    const draw = random(2 * (count - out.length));
    for (let i = 0; i + 1 < draw.length && out.length < count; i += 2) {
      const v = draw.readUInt16LE(i) & 0x0fff;
      if (v < Q) out.push(v);
    }
  }
  return out;
}

/** A syntactically valid ML-KEM encapsulation key (not one we hold the decapsulation key of). */
export function mlkemEncapsulationKey(k: 2 | 3 | 4, random: (n: number) => Buffer = randomBytes): Buffer {
  return Buffer.concat([byteEncode12(coefficientsBelowQ(256 * k, random)), random(32)]);
}

const classicalShares = new Map<string, Buffer>();

/** The classical half: the curve's generator (uncompressed), or the X25519 base point u = 9. */
function classicalShare(curve: 'X25519' | 'prime256v1' | 'secp384r1'): Buffer {
  let share = classicalShares.get(curve);
  if (share === undefined) {
    if (curve === 'X25519') {
      share = Buffer.alloc(32);
      share[0] = 9;
    } else {
      const ecdh = createECDH(curve);
      ecdh.setPrivateKey(Buffer.from([1]));
      share = ecdh.getPublicKey();
    }
    classicalShares.set(curve, share);
  }
  return share;
}

/** A client key share of the right length and structure for `group`. */
export function postQuantumShare(group: PostQuantumGroup, random: (n: number) => Buffer = randomBytes): Buffer {
  const mlkem = mlkemEncapsulationKey(group.mlkemK, random);
  if (group.classical === undefined) return mlkem;
  const ecdh = classicalShare(group.classical.curve);
  return group.classical.first ? Buffer.concat([ecdh, mlkem]) : Buffer.concat([mlkem, ecdh]);
}
