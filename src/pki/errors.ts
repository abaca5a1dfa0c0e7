// One error type for everything the PKI layer refuses, with a stable reason a
// controller can put on a condition. Messages name the offending input by its
// role and position ("block 2 of tls.crt"), never by its content: the input
// may be a private key.

export type PkiErrorReason =
  | 'InvalidPEM'
  | 'InvalidCertificate'
  | 'InvalidPrivateKey'
  | 'UnsupportedKey'
  | 'InvalidKeySpec'
  | 'InvalidTemplate'
  | 'InvalidCSR';

export class PkiError extends Error {
  override readonly name = 'PkiError';

  constructor(
    readonly reason: PkiErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The message of a caught value, for wrapping library errors that carry no key material. */
export function describeCause(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
