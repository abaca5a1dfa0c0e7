// Key exchange groups: the size OpenSSL reports is not always the nominal
// one (X25519 reports 253 bits), and judges need both the nominal size and
// an RSA-equivalent strength (NIST SP 800-57 Part 1, Table 2).

const NOMINAL_BITS: Readonly<Record<string, number>> = { X25519: 256, X448: 448 };

/** Nominal size of a group: 256 for X25519, 448 for X448, else the reported bits. */
export function nominalGroupBits(name: string, reportedBits: number): number {
  return NOMINAL_BITS[name] ?? reportedBits;
}

/** The RSA/DH modulus size of equal strength to an elliptic-curve group of `bits`. */
export function rsaEquivalentOfEcBits(bits: number): number {
  if (bits >= 512) return 15360;
  if (bits >= 384) return 7680;
  if (bits >= 256) return 3072;
  if (bits >= 224) return 2048;
  if (bits >= 160) return 1024;
  return 512;
}
