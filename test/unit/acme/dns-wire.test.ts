import { describe, expect, it } from 'vitest';
import { buildQuery, buildUpdate, updateRecord } from '../../../src/issuers/acme/dns/update.js';
import {
  DnsWireError,
  RRClass,
  RRType,
  Writer,
  canonicalName,
  decodeA,
  decodeMessage,
  decodeSoa,
  decodeTxt,
  encodeHeader,
  encodeName,
  encodeTxt,
  rcodeName,
} from '../../../src/issuers/acme/dns/wire.js';
import { parseServerAddress } from '../../../src/issuers/acme/dns/transport.js';
import { seededRandom } from '../../support/pki.js';

// Byte-level checks of the hand-written DNS encoder (RFC 1035 4.1, RFC 2136
// 2.x). Expected bytes are spelled out field by field.

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (...parts: string[]) => parts.join('').replace(/\s+/g, '');

describe('names', () => {
  it.each<[string, string]>([
    ['', '00'],
    ['.', '00'],
    ['com', '03636f6d00'],
    ['example.com', '076578616d706c6503636f6d00'],
    ['example.com.', '076578616d706c6503636f6d00'],
    ['_acme-challenge.a.test', '0f5f61636d652d6368616c6c656e67650161047465737400'],
  ])('encodes %j', (name, expected) => {
    expect(hex(encodeName(name))).toBe(expected);
  });

  it('keeps case unless the canonical (TSIG) form is asked for', () => {
    expect(hex(encodeName('Ex.COM'))).toBe('02457803434f4d00');
    expect(hex(encodeName('Ex.COM', true))).toBe('02657803636f6d00');
    expect(canonicalName(' WWW.Example.Com. ')).toBe('www.example.com');
  });

  it('refuses empty labels, labels over 63 octets and names over 255', () => {
    expect(() => encodeName('a..b')).toThrow(DnsWireError);
    expect(() => encodeName(`${'a'.repeat(64)}.com`)).toThrow(/longer than 63/);
    expect(encodeName(`${'a'.repeat(63)}.com`).length).toBe(69);
    const long = Array.from({ length: 5 }, () => 'b'.repeat(63)).join('.');
    expect(() => encodeName(long)).toThrow(/longer than 255/);
  });
});

describe('integers and headers', () => {
  it('writes big-endian 8, 16, 32 and 48-bit fields', () => {
    const w = new Writer().u8(0x1ff).u16(0xabcd).u32(0x01020304).u48(0x0000_6b0c_6ba9).u48(0xffff_ffff_ffff);
    expect(hex(w.done())).toBe(bytes('ff', 'abcd', '01020304', '00006b0c6ba9', 'ffffffffffff'));
  });

  it.each<[string, Parameters<typeof encodeHeader>[1], string]>([
    ['a query asking for recursion', { id: 0x1234, response: false, opcode: 0, authoritative: false, truncated: false, recursionDesired: true, recursionAvailable: false, rcode: 0 }, '1234 0100'],
    ['an update', { id: 0xbeef, response: false, opcode: 5, authoritative: false, truncated: false, recursionDesired: false, recursionAvailable: false, rcode: 0 }, 'beef 2800'],
    ['an authoritative NXDOMAIN answer', { id: 1, response: true, opcode: 0, authoritative: true, truncated: false, recursionDesired: false, recursionAvailable: false, rcode: 3 }, '0001 8403'],
    ['a truncated answer with RA and REFUSED', { id: 2, response: true, opcode: 0, authoritative: false, truncated: true, recursionDesired: true, recursionAvailable: true, rcode: 5 }, '0002 8385'],
  ])('header of %s', (_name, header, expected) => {
    const w = new Writer();
    encodeHeader(w, header, [1, 2, 3, 4]);
    expect(hex(w.done())).toBe(bytes(expected, '0001 0002 0003 0004'));
  });
});

describe('TXT RDATA', () => {
  it('length-prefixes each character-string', () => {
    expect(hex(encodeTxt(['abc']))).toBe('03616263');
    expect(hex(encodeTxt(['', 'x']))).toBe('000178');
    expect(decodeTxt(encodeTxt(['one', 'two', '']))).toEqual(['one', 'two', '']);
    expect(encodeTxt(['a'.repeat(255)]).length).toBe(256);
    expect(() => encodeTxt(['a'.repeat(256)])).toThrow(/255/);
  });
});

describe('RFC 2136 UPDATE', () => {
  const zone = '076578616d706c6504746573 7400'; // example.test
  const zoneSection = bytes(zone, '0006', '0001'); // SOA IN
  const owner = bytes('0f5f61636d652d6368616c6c656e6765', '03777777', '076578616d706c65', '0474657374', '00'); // _acme-challenge.www.example.test

  it('adds a TXT record: class IN, the TTL, the value', () => {
    const msg = buildUpdate(0x0102, 'example.test', [{ op: 'add', name: '_acme-challenge.www.example.test', ttl: 60, txt: ['token'] }]);
    expect(hex(msg)).toBe(
      bytes('0102', '2800', '0001 0000 0001 0000', zoneSection, owner, '0010', '0001', '0000003c', '0006', '05746f6b656e'),
    );
  });

  it('deletes one TXT record with class NONE and TTL 0, leaving other values alone', () => {
    const msg = buildUpdate(0xffff, 'example.test.', [{ op: 'delete', name: '_acme-challenge.www.example.test', txt: ['token'] }]);
    expect(hex(msg)).toBe(bytes('ffff', '2800', '0001 0000 0001 0000', zoneSection, owner, '0010', '00fe', '00000000', '0006', '05746f6b656e'));
  });

  it('deletes a whole RRset with class ANY and empty RDATA', () => {
    expect(updateRecord({ op: 'deleteRRset', name: 'x.example.test', type: RRType.TXT })).toEqual({
      name: 'x.example.test',
      type: RRType.TXT,
      class: RRClass.ANY,
      ttl: 0,
      data: new Uint8Array(0),
    });
  });

  it('carries several operations in order, counted in the update section', () => {
    const msg = buildUpdate(7, 'example.test', [
      { op: 'delete', name: 'a.example.test', txt: ['old'] },
      { op: 'add', name: 'a.example.test', ttl: 120, txt: ['new'] },
    ]);
    const decoded = decodeMessage(msg);
    expect(decoded.header).toMatchObject({ id: 7, opcode: 5, response: false });
    expect(decoded.questions).toEqual([{ name: 'example.test', type: RRType.SOA, class: RRClass.IN }]);
    expect(decoded.authorities.map((r) => [r.name, r.class, r.ttl, decodeTxt(r.data)])).toEqual([
      ['a.example.test', RRClass.NONE, 0, ['old']],
      ['a.example.test', RRClass.IN, 120, ['new']],
    ]);
  });

  it('queries without recursion unless asked', () => {
    expect(hex(buildQuery(0xabcd, 'a.test', RRType.TXT))).toBe(bytes('abcd', '0000', '0001 0000 0000 0000', '0161', '0474657374', '00', '0010', '0001'));
    expect(hex(buildQuery(0xabcd, 'a.test', RRType.A, true)).slice(4, 8)).toBe('0100');
  });
});

describe('decoding answers', () => {
  // An authoritative answer for a.test TXT, with a compression pointer to the question name (offset 12).
  const answer = Buffer.from(
    bytes(
      '1234', '8400', '0001 0002 0001 0000',
      '0161 0474657374 00', '0010 0001',
      'c00c', '0010 0001', '0000003c', '0004', '03616263',
      'c00c', '0001 0001', '0000003c', '0004', '7f000001',
      // authority: SOA of "test" (pointer to offset 14), mname ns1.test, rname pointer to "test"
      'c00e', '0006 0001', '0000003c', '001c', '036e7331 c00e', 'c00e', '00000007 00000e10 00000258 00015180 0000003c',
    ),
    'hex',
  );

  it('follows compression pointers and expands names inside SOA RDATA', () => {
    const m = decodeMessage(answer);
    expect(m.header).toMatchObject({ id: 0x1234, response: true, authoritative: true, rcode: 0 });
    expect(m.answers.map((r) => r.name)).toEqual(['a.test', 'a.test']);
    expect(decodeTxt(m.answers[0]?.data ?? new Uint8Array())).toEqual(['abc']);
    expect(decodeA(m.answers[1]?.data ?? new Uint8Array())).toBe('127.0.0.1');
    const soa = m.authorities[0];
    expect(soa?.name).toBe('test');
    expect(decodeSoa(soa?.data ?? new Uint8Array())).toEqual({ mname: 'ns1.test', rname: 'test', serial: 7 });
  });

  it('refuses pointer loops, truncation and reserved label types with DnsWireError', () => {
    const loop = Buffer.from(bytes('0000 8000 0001 0000 0000 0000', 'c00c', '0001 0001'), 'hex');
    expect(() => decodeMessage(loop)).toThrow(/loop/);
    expect(() => decodeMessage(answer.subarray(0, 40))).toThrow(DnsWireError);
    const reserved = Buffer.from(bytes('0000 8000 0001 0000 0000 0000', '40', '0001 0001'), 'hex');
    expect(() => decodeMessage(reserved)).toThrow(/label type/);
    expect(() => decodeA(Uint8Array.from([1, 2, 3]))).toThrow(DnsWireError);
  });

  it('never fails with anything but DnsWireError on corrupted input (fuzz, 3,000 rounds)', () => {
    const random = seededRandom(2136);
    for (let round = 0; round < 3000; round++) {
      const input = Buffer.from(answer);
      const flips = 1 + Math.floor(random() * 6);
      for (let i = 0; i < flips; i++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? input.subarray(0, Math.floor(random() * input.length)) : input;
      try {
        decodeMessage(cut);
      } catch (err) {
        expect(err, `round ${round}: ${cut.toString('hex')}`).toBeInstanceOf(DnsWireError);
      }
    }
  });

  it('names rcodes', () => {
    expect([rcodeName(0), rcodeName(5), rcodeName(9), rcodeName(15)]).toEqual(['NOERROR', 'REFUSED', 'NOTAUTH', 'RCODE15']);
  });
});

describe('nameserver addresses', () => {
  it.each<[string, { host: string; port: number }]>([
    ['127.0.0.1:5353', { host: '127.0.0.1', port: 5353 }],
    ['ns1.example.com', { host: 'ns1.example.com', port: 53 }],
    ['[::1]:53', { host: '::1', port: 53 }],
    ['::1', { host: '::1', port: 53 }],
  ])('reads %j', (text, expected) => {
    expect(parseServerAddress(text)).toEqual(expected);
  });

  it('refuses what is not host:port', () => {
    expect(() => parseServerAddress(':53')).toThrow(DnsWireError);
    expect(() => parseServerAddress('a:99999')).toThrow(DnsWireError);
  });
});
