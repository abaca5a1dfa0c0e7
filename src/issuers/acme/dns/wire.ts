// DNS messages on the wire (RFC 1035 4.1), just what RFC 2136 updates, TSIG
// (RFC 8945) and the DNS-01 self-check need: names (compression read, never
// written), header, questions, resource records, and the RDATA of A, TXT
// and SOA. Written by hand: no DNS library is a dependency of certkeeper.

export const RRType = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, OPT: 41, TSIG: 250, ANY: 255 } as const;
export const RRClass = { IN: 1, NONE: 254, ANY: 255 } as const;
export const Opcode = { QUERY: 0, UPDATE: 5 } as const;
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
} as const;

const RCODE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Rcode).map(([k, v]) => [v, k]));
export const rcodeName = (rcode: number): string => RCODE_NAMES[rcode] ?? `RCODE${rcode}`;

export class DnsWireError extends Error {
  override readonly name = 'DnsWireError';
}

export interface Header {
  id: number;
  /** QR: a response. */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** RDATA as sent; names inside it are expanded for the types decoded below. */
  data: Uint8Array;
}

export interface Message {
  header: Header;
  /** Question section; the zone section of an UPDATE. */
  questions: Question[];
  /** Answer section; the prerequisite section of an UPDATE. */
  answers: ResourceRecord[];
  /** Authority section; the update section of an UPDATE. */
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

/** Lower-case, no trailing dot; "." and "" are the root. */
export function canonicalName(name: string): string {
  const trimmed = name.trim().toLowerCase();
  return trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
}

/** Uncompressed wire form of a name (RFC 1035 3.1). `lowerCase` for TSIG's canonical form. */
export function encodeName(name: string, lowerCase = false): Uint8Array {
  const text = lowerCase ? canonicalName(name) : name.endsWith('.') ? name.slice(0, -1) : name;
  const out: number[] = [];
  if (text !== '') {
    for (const label of text.split('.')) {
      const bytes = Buffer.from(label, 'utf8');
      if (bytes.length === 0) throw new DnsWireError(`empty label in DNS name "${name}"`);
      if (bytes.length > 63) throw new DnsWireError(`label "${label}" of DNS name "${name}" is longer than 63 octets`);
      out.push(bytes.length, ...bytes);
    }
  }
  out.push(0);
  if (out.length > 255) throw new DnsWireError(`DNS name "${name}" is longer than 255 octets`);
  return Uint8Array.from(out);
}

export class Writer {
  private readonly chunks: number[] = [];

  u8(v: number): this {
    this.chunks.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }

  u32(v: number): this {
    return this.u16(Math.floor(v / 0x10000)).u16(v % 0x10000);
  }

  /** 48-bit unsigned, TSIG's time signed. */
  u48(v: number): this {
    return this.u16(Math.floor(v / 0x1_0000_0000)).u32(v % 0x1_0000_0000);
  }

  bytes(b: Uint8Array): this {
    for (const x of b) this.chunks.push(x);
    return this;
  }

  name(name: string, lowerCase = false): this {
    return this.bytes(encodeName(name, lowerCase));
  }

  get length(): number {
    return this.chunks.length;
  }

  done(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export function encodeHeader(w: Writer, h: Header, counts: [number, number, number, number]): void {
  const flags =
    (h.response ? 0x8000 : 0) |
    ((h.opcode & 0xf) << 11) |
    (h.authoritative ? 0x0400 : 0) |
    (h.truncated ? 0x0200 : 0) |
    (h.recursionDesired ? 0x0100 : 0) |
    (h.recursionAvailable ? 0x0080 : 0) |
    (h.rcode & 0xf);
  w.u16(h.id).u16(flags);
  for (const c of counts) w.u16(c);
}

export function encodeRecord(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name).u16(rr.type).u16(rr.class).u32(rr.ttl).u16(rr.data.length).bytes(rr.data);
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer();
  encodeHeader(w, m.header, [m.questions.length, m.answers.length, m.authorities.length, m.additionals.length]);
  for (const q of m.questions) w.name(q.name).u16(q.type).u16(q.class);
  for (const rr of [...m.answers, ...m.authorities, ...m.additionals]) encodeRecord(w, rr);
  return w.done();
}

/** TXT RDATA: each string as a length-prefixed character-string of at most 255 octets. */
export function encodeTxt(strings: readonly string[]): Uint8Array {
  const w = new Writer();
  for (const s of strings) {
    const bytes = Buffer.from(s, 'utf8');
    if (bytes.length > 255) throw new DnsWireError('a TXT character-string is longer than 255 octets');
    w.u8(bytes.length).bytes(bytes);
  }
  return w.done();
}

export class Reader {
  offset = 0;

  constructor(readonly buf: Uint8Array) {}

  private need(n: number): void {
    if (this.offset + n > this.buf.length) throw new DnsWireError(`DNS message truncated at offset ${this.offset} (needs ${n} more octets)`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.offset++] ?? 0;
  }

  u16(): number {
    return this.u8() * 256 + this.u8();
  }

  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }

  u48(): number {
    return this.u16() * 0x1_0000_0000 + this.u32();
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A name, following compression pointers (RFC 1035 4.1.4) without looping. */
  name(): string {
    const labels: string[] = [];
    let pos = this.offset;
    let jumped = false;
    let hops = 0;
    for (;;) {
      if (pos >= this.buf.length) throw new DnsWireError('DNS name runs past the end of the message');
      const len = this.buf[pos] ?? 0;
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new DnsWireError('DNS compression pointer truncated');
        if (++hops > 64) throw new DnsWireError('DNS compression pointers loop');
        const target = ((len & 0x3f) << 8) | (this.buf[pos + 1] ?? 0);
        if (!jumped) this.offset = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if ((len & 0xc0) !== 0) throw new DnsWireError(`unsupported DNS label type 0x${len.toString(16)}`);
      if (len === 0) {
        if (!jumped) this.offset = pos + 1;
        break;
      }
      if (pos + 1 + len > this.buf.length) throw new DnsWireError('DNS label runs past the end of the message');
      labels.push(Buffer.from(this.buf.subarray(pos + 1, pos + 1 + len)).toString('utf8'));
      pos += 1 + len;
    }
    return labels.join('.');
  }
}

function decodeHeader(r: Reader): { header: Header; counts: number[] } {
  const id = r.u16();
  const flags = r.u16();
  const counts = [r.u16(), r.u16(), r.u16(), r.u16()];
  return {
    header: {
      id,
      response: (flags & 0x8000) !== 0,
      opcode: (flags >>> 11) & 0xf,
      authoritative: (flags & 0x0400) !== 0,
      truncated: (flags & 0x0200) !== 0,
      recursionDesired: (flags & 0x0100) !== 0,
      recursionAvailable: (flags & 0x0080) !== 0,
      rcode: flags & 0xf,
    },
    counts,
  };
}

/** Expands the names in RDATA of the types that carry them, so records stand alone. */
function decodeRdata(r: Reader, type: number, length: number): Uint8Array {
  const end = r.offset + length;
  if (type === RRType.SOA) {
    const w = new Writer().name(r.name()).name(r.name());
    for (let i = 0; i < 5; i++) w.u32(r.u32());
    if (r.offset !== end) throw new DnsWireError('SOA RDATA length does not match its contents');
    return w.done();
  }
  if (type === RRType.NS || type === RRType.CNAME) {
    const out = new Writer().name(r.name()).done();
    if (r.offset !== end) throw new DnsWireError('RDATA length does not match its name');
    return out;
  }
  return r.bytes(length);
}

function decodeRecord(r: Reader): ResourceRecord {
  const name = r.name();
  const type = r.u16();
  const klass = r.u16();
  const ttl = r.u32();
  const length = r.u16();
  return { name, type, class: klass, ttl, data: decodeRdata(r, type, length) };
}

export function decodeMessage(buf: Uint8Array): Message {
  const r = new Reader(buf);
  const { header, counts } = decodeHeader(r);
  const [qd = 0, an = 0, ns = 0, ar = 0] = counts;
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) questions.push({ name: r.name(), type: r.u16(), class: r.u16() });
  const section = (n: number) => Array.from({ length: n }, () => decodeRecord(r));
  return { header, questions, answers: section(an), authorities: section(ns), additionals: section(ar) };
}

/** The character-strings of a TXT RDATA, each decoded as UTF-8. */
export function decodeTxt(data: Uint8Array): string[] {
  const r = new Reader(data);
  const out: string[] = [];
  while (r.offset < data.length) out.push(Buffer.from(r.bytes(r.u8())).toString('utf8'));
  return out;
}

export function decodeA(data: Uint8Array): string {
  if (data.length !== 4) throw new DnsWireError('A RDATA is not 4 octets');
  return Array.from(data).join('.');
}

/** The owner names of the primary server and zone serial of an SOA record. */
export function decodeSoa(data: Uint8Array): { mname: string; rname: string; serial: number } {
  const r = new Reader(data);
  return { mname: r.name(), rname: r.name(), serial: r.u32() };
}
