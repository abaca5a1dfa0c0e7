// A minimal DER reader/writer for the few structures where @peculiar/x509's
// string conversions lose information: IP addresses in SANs (it cannot parse
// IPv4-mapped IPv6 text and renders addresses its own way), SAN entries of
// kinds it refuses to parse (otherName, x400Address), and signature algorithm
// OIDs it has no WebCrypto name for. Only definite lengths exist in DER.

export interface Tlv {
  /** The identifier octet (class, constructed bit and tag number < 31). */
  tag: number;
  /** Content octets. */
  value: Uint8Array;
  /** Offset just past this element in the input. */
  end: number;
}

export function readTlv(bytes: Uint8Array, offset: number): Tlv {
  const tag = bytes[offset];
  const first = bytes[offset + 1];
  if (tag === undefined || first === undefined) throw new RangeError(`DER truncated at offset ${offset}`);
  if ((tag & 0x1f) === 0x1f) throw new RangeError(`DER high tag numbers are not supported (offset ${offset})`);
  let length = first;
  let start = offset + 2;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new RangeError(`DER length of ${count} octets at offset ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = bytes[start + i];
      if (b === undefined) throw new RangeError(`DER truncated length at offset ${offset}`);
      length = length * 256 + b;
    }
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new RangeError(`DER element at offset ${offset} overruns its container`);
  return { tag, value: bytes.subarray(start, end), end };
}

/** The elements of a constructed value's content octets, in order. */
export function readChildren(content: Uint8Array): Tlv[] {
  const children: Tlv[] = [];
  for (let offset = 0; offset < content.length; ) {
    const child = readTlv(content, offset);
    children.push(child);
    offset = child.end;
  }
  return children;
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const header: number[] = [tag];
  if (value.length < 0x80) {
    header.push(value.length);
  } else {
    const lengthOctets: number[] = [];
    for (let n = value.length; n > 0; n = Math.floor(n / 256)) lengthOctets.unshift(n % 256);
    header.push(0x80 | lengthOctets.length, ...lengthOctets);
  }
  const out = new Uint8Array(header.length + value.length);
  out.set(header, 0);
  out.set(value, header.length);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export const TAG_SEQUENCE = 0x30;
export const TAG_OID = 0x06;

/** Dotted form of an OBJECT IDENTIFIER's content octets. */
export function decodeOid(content: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  for (const b of content) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        arcs.push(first, value - first * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    }
  }
  return arcs.join('.');
}

/** Content octets of an OBJECT IDENTIFIER from its dotted form. */
export function encodeOid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const septets: number[] = [];
    let n = arc;
    do {
      septets.unshift(n % 128);
      n = Math.floor(n / 128);
    } while (n > 0);
    septets.forEach((septet, i) => out.push(i < septets.length - 1 ? septet | 0x80 : septet));
  }
  return Uint8Array.from(out);
}
