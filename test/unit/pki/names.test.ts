import { describe, expect, it } from 'vitest';
import { decodeOid, encodeTlv, readTlv } from '../../../src/pki/der.js';
import { PkiError } from '../../../src/pki/errors.js';
import { formatIpAddress, ipAddressBytes, normalizeIpAddress, readSubjectAltNames } from '../../../src/pki/names.js';

describe('IP addresses', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1', 4],
    ['0.0.0.0', '0.0.0.0', 4],
    ['::', '::', 16],
    ['::1', '::1', 16],
    ['2001:DB8::1', '2001:db8::1', 16],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 16],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1', 16],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1', 16],
    ['fe80::', 'fe80::', 16],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1', 16],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201', 16],
  ])('%s -> %s (%i bytes)', (input, canonical, length) => {
    expect(ipAddressBytes(input)).toHaveLength(length);
    expect(normalizeIpAddress(input)).toBe(canonical);
    expect(normalizeIpAddress(canonical)).toBe(canonical);
  });

  it.each(['10.0.0', '10.0.0.256', 'example.com', '1::2::3', 'fe80::1%eth0', ''])('rejects %j', (input) => {
    expect(() => ipAddressBytes(input)).toThrow(PkiError);
  });

  it('renders odd-length address bytes without throwing', () => {
    expect(formatIpAddress(Uint8Array.from([1, 2, 3]))).toBe('<3-byte address 010203>');
  });
});

describe('DER helpers', () => {
  it.each([0, 1, 127, 128, 255, 256, 70_000])('encodes and reads back a %i-byte value', (length) => {
    const value = new Uint8Array(length).fill(7);
    const tlv = readTlv(encodeTlv(0x04, value), 0);
    expect(tlv.tag).toBe(0x04);
    expect(tlv.value).toEqual(value);
  });

  it.each([
    [[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b], '1.2.840.113549.1.1.11'],
    [[0x2b, 0x65, 0x70], '1.3.101.112'],
    [[0x55, 0x1d, 0x25, 0x00], '2.5.29.37.0'],
    [[0x88, 0x37, 0x01], '2.999.1'],
  ])('decodes OID %j as %s', (bytes, dotted) => {
    expect(decodeOid(Uint8Array.from(bytes))).toBe(dotted);
  });

  it.each([
    ['truncated header', [0x30]],
    ['overrunning length', [0x30, 0x05, 0x00]],
    ['indefinite length', [0x30, 0x80, 0x00, 0x00]],
  ])('rejects %s', (_label, bytes) => {
    expect(() => readTlv(Uint8Array.from(bytes), 0)).toThrow(RangeError);
  });
});

describe('readSubjectAltNames', () => {
  it('reads DNS, IP, URI and email names and skips kinds it does not model', () => {
    const otherName = encodeTlv(0xa0, Uint8Array.from([0x06, 0x01, 0x2a, 0xa0, 0x03, 0x0c, 0x01, 0x78]));
    const directoryName = encodeTlv(0xa4, Uint8Array.from([0x30, 0x00]));
    const names = [
      encodeTlv(0x82, Buffer.from('a.example')),
      otherName,
      encodeTlv(0x87, Uint8Array.from([192, 0, 2, 1])),
      directoryName,
      encodeTlv(0x86, Buffer.from('spiffe://td/x')),
      encodeTlv(0x81, Buffer.from('a@example.com')),
    ];
    const value = encodeTlv(0x30, Buffer.concat(names));
    expect(readSubjectAltNames(Uint8Array.from(value).buffer)).toEqual({
      dnsNames: ['a.example'],
      ipAddresses: ['192.0.2.1'],
      uris: ['spiffe://td/x'],
      emailAddresses: ['a@example.com'],
    });
  });

  it('an absent extension means no names', () => {
    expect(readSubjectAltNames(undefined)).toEqual({ dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] });
  });
});
