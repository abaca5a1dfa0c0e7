// Byte-level helpers of the TLS wire format (RFC 8446 §3): big-endian
// integers and vectors with 1-, 2- or 3-byte length prefixes. The reader
// never throws past this module: callers get a WireFormatError they turn
// into a "malformed" answer.

export class WireFormatError extends Error {
  override readonly name = 'WireFormatError';
}

export type LengthBytes = 1 | 2 | 3;

export function uint(value: number, bytes: LengthBytes): Buffer {
  const max = 2 ** (8 * bytes) - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${value} does not fit in ${bytes} byte(s)`);
  }
  const out = Buffer.alloc(bytes);
  out.writeUIntBE(value, 0, bytes);
  return out;
}

/** `body` prefixed by its length in `lengthBytes` bytes. */
export function vector(body: Uint8Array, lengthBytes: LengthBytes): Buffer {
  return Buffer.concat([uint(body.length, lengthBytes), body]);
}

export function uint16List(values: readonly number[]): Buffer {
  return Buffer.concat(values.map((v) => uint(v, 2)));
}

/** A cursor over received bytes; every read checks bounds. */
export class ByteReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  uint(bytes: LengthBytes, what: string): number {
    const raw = this.take(bytes, what);
    let value = 0;
    for (const b of raw) value = value * 256 + b;
    return value;
  }

  take(length: number, what: string): Buffer {
    if (length > this.remaining) {
      throw new WireFormatError(`${what}: needs ${length} byte(s) at offset ${this.offset}, only ${this.remaining} left`);
    }
    const out = Buffer.from(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return out;
  }

  vector(lengthBytes: LengthBytes, what: string): Buffer {
    return this.take(this.uint(lengthBytes, `${what} length`), what);
  }

  rest(): Buffer {
    return this.take(this.remaining, 'rest');
  }
}
