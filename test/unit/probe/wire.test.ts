import { describe, expect, it } from 'vitest';
import { encodeAlert } from '../../../src/probe/wire/alerts.js';
import { decodeClientHello, encodeClientHello, probeClientHello, type ClientHello } from '../../../src/probe/wire/client-hello.js';
import { renegotiationInfoExtension, serverNameExtension } from '../../../src/probe/wire/extensions.js';
import { splitRecords } from '../../../src/probe/wire/records.js';
import { decodeServerResponse, encodeServerHello, supportsSecureRenegotiation, type ServerHello } from '../../../src/probe/wire/server-hello.js';
import { mutations, seededRandom } from '../../support/pki.js';

const RANDOM = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function serverHello(overrides: Partial<ServerHello> = {}): ServerHello {
  return {
    version: 0x0303,
    random: Buffer.alloc(32, 0xaa),
    sessionId: Buffer.alloc(0),
    cipherSuite: 0xc02f,
    compressionMethod: 0,
    extensions: [renegotiationInfoExtension()],
    ...overrides,
  };
}

describe('ClientHello encoding', () => {
  it('encodes an SSL 3.0 probe byte for byte: no extensions, record version 3.0', () => {
    const hello = probeClientHello({ version: 0x0300, cipherSuites: [0x000a, 0x0005], serverName: 'ignored.test', random: RANDOM });
    expect(encodeClientHello(hello)).toEqual(
      Buffer.concat([hex('16 0300 002f  01 00002b  0300'), RANDOM, hex('00  0004 000a 0005  01 00')]),
    );
  });

  it('encodes SNI and renegotiation_info byte for byte', () => {
    const hello: ClientHello = {
      recordVersion: 0x0301,
      version: 0x0303,
      random: RANDOM,
      sessionId: Buffer.alloc(0),
      cipherSuites: [0xc02f],
      compressionMethods: [0],
      extensions: [serverNameExtension('a.test') ?? renegotiationInfoExtension(), renegotiationInfoExtension()],
    };
    expect(encodeClientHello(hello)).toEqual(
      Buffer.concat([
        hex('16 0301 0043  01 00003f  0303'),
        RANDOM,
        hex('00  0002 c02f  01 00  0014'),
        hex('0000 000b 0009 00 0006'),
        Buffer.from('a.test'),
        hex('ff01 0001 00'),
      ]),
    );
  });

  it('leaves SNI out for an IP address (RFC 6066 §3)', () => {
    expect(serverNameExtension('127.0.0.1')).toBeUndefined();
    expect(serverNameExtension('::1')).toBeUndefined();
    const hello = probeClientHello({ version: 0x0303, cipherSuites: [0x2f], serverName: '10.0.0.1', random: RANDOM });
    expect(hello.extensions?.map((e) => e.type)).not.toContain(0);
  });

  it('sends signature_algorithms only from TLS 1.2 on', () => {
    const types = (version: number) => probeClientHello({ version, cipherSuites: [0x2f], serverName: 'x.test', random: RANDOM }).extensions?.map((e) => e.type);
    expect(types(0x0303)).toContain(13);
    expect(types(0x0301)).not.toContain(13);
    expect(types(0x0302)).toEqual([0, 10, 11, 23, 35, 0xff01]);
  });

  it('pads hellos that would be 256–511 bytes long to 512 (RFC 7685)', () => {
    for (let count = 1; count <= 160; count++) {
      const suites = Array.from({ length: count }, (_, i) => 0x0100 + i);
      const length = encodeClientHello(probeClientHello({ version: 0x0303, cipherSuites: suites, serverName: 'pad.test', random: RANDOM })).length - 9;
      expect(length < 256 || length >= 512, `${count} suites → ${length} bytes`).toBe(true);
    }
  });

  it('refuses what cannot be encoded', () => {
    const base = probeClientHello({ version: 0x0303, cipherSuites: [0x2f], random: RANDOM });
    expect(() => encodeClientHello({ ...base, random: Buffer.alloc(31) })).toThrow(/32 bytes/);
    expect(() => encodeClientHello({ ...base, cipherSuites: [] })).toThrow(/at least one/);
    expect(() => encodeClientHello({ ...base, sessionId: Buffer.alloc(33) })).toThrow(/session id/);
  });

  it('decodes what it encodes, for every version and a range of suite lists', () => {
    for (const version of [0x0300, 0x0301, 0x0302, 0x0303]) {
      for (const suites of [[0x0005], [0xc02f, 0xc030, 0x009c], Array.from({ length: 120 }, (_, i) => i + 1)]) {
        const hello = probeClientHello({ version, cipherSuites: suites, serverName: 'round.trip.test', random: RANDOM });
        expect(decodeClientHello(encodeClientHello(hello))).toEqual({ kind: 'client-hello', hello });
      }
    }
  });
});

describe('ServerHello decoding', () => {
  it('encodes a ServerHello byte for byte', () => {
    expect(encodeServerHello(serverHello(), 0x0303)).toEqual(
      Buffer.concat([hex('16 0303 0031  02 00002d  0303'), Buffer.alloc(32, 0xaa), hex('00  c02f  00  0005 ff01 0001 00')]),
    );
  });

  it('round-trips, with and without extensions and a session id', () => {
    for (const hello of [serverHello(), serverHello({ extensions: undefined }), serverHello({ sessionId: Buffer.alloc(32, 7), version: 0x0300, cipherSuite: 0x0005 })]) {
      expect(decodeServerResponse(encodeServerHello(hello, 0x0301))).toEqual({ kind: 'server-hello', recordVersion: 0x0301, hello });
    }
  });

  it('reads a ServerHello split over two records, and one followed by more messages', () => {
    const record = encodeServerHello(serverHello(), 0x0303);
    const message = record.subarray(5);
    const split = Buffer.concat([hex('16 0303 0010'), message.subarray(0, 16), Buffer.from([0x16, 0x03, 0x03, 0x00, message.length - 16]), message.subarray(16)]);
    expect(decodeServerResponse(split)).toMatchObject({ kind: 'server-hello', hello: { cipherSuite: 0xc02f } });
    const certificate = hex('0b 000003 000000');
    const both = Buffer.concat([hex('16 0303'), Buffer.from([0, message.length + certificate.length]), message, certificate]);
    expect(decodeServerResponse(both)).toMatchObject({ kind: 'server-hello', hello: { cipherSuite: 0xc02f } });
  });

  it('reads an alert', () => {
    expect(decodeServerResponse(encodeAlert(2, 40, 0x0303))).toEqual({ kind: 'alert', level: 2, description: 40, name: 'handshake_failure' });
    expect(decodeServerResponse(hex('15 0300 0002 02 46'))).toMatchObject({ kind: 'alert', name: 'protocol_version' });
    expect(decodeServerResponse(hex('15 0303 0002 02 fe'))).toMatchObject({ kind: 'alert', name: 'alert 254' });
  });

  it('asks for more bytes on every strict prefix of a ServerHello', () => {
    const record = encodeServerHello(serverHello(), 0x0303);
    for (let length = 0; length < record.length; length++) {
      expect(decodeServerResponse(record.subarray(0, length)), `prefix of ${length}`).toEqual({ kind: 'incomplete' });
    }
  });

  it('calls non-TLS answers malformed, with what they looked like', () => {
    expect(decodeServerResponse(Buffer.from('HTTP/1.1 400 Bad Request\r\n'))).toEqual({ kind: 'malformed', reason: 'not a TLS record: starts with 0x48 ("HTTP/1.1")' });
    expect(decodeServerResponse(hex('16 0303 ffff'))).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/exceeds/) as unknown });
    expect(decodeServerResponse(hex('16 0203 0001 00'))).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/not SSL 3.0\/TLS/) as unknown });
    expect(decodeServerResponse(hex('16 0303 0004 0e 000000'))).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/expected ServerHello, got handshake type 14/) as unknown });
    expect(decodeServerResponse(hex('17 0303 0001 00'))).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/content type 23/) as unknown });
    expect(decodeServerResponse(hex('15 0303 0001 02'))).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/alert record of 1/) as unknown });
  });

  it('rejects inconsistent lengths inside the ServerHello', () => {
    const good = encodeServerHello(serverHello(), 0x0303);
    const sessionIdTooLong = Buffer.from(good);
    sessionIdTooLong[5 + 4 + 34] = 40;
    expect(decodeServerResponse(sessionIdTooLong).kind).toBe('malformed');
    const trailing = Buffer.concat([hex('16 0303 0032  02 00002e'), good.subarray(9), hex('00')]);
    expect(decodeServerResponse(trailing)).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/after the ServerHello extensions/) as unknown });
  });

  it('tells whether renegotiation_info came back', () => {
    expect(supportsSecureRenegotiation(serverHello())).toBe(true);
    expect(supportsSecureRenegotiation(serverHello({ extensions: undefined }))).toBe(false);
    expect(supportsSecureRenegotiation(serverHello({ extensions: [] }))).toBe(false);
  });

  it('never throws on corrupted or random input', () => {
    const kinds = new Set(['server-hello', 'alert', 'incomplete', 'malformed']);
    const valid = Buffer.concat([encodeServerHello(serverHello({ sessionId: Buffer.alloc(16, 3) }), 0x0303), hex('16 0303 0004 0e 000000')]);
    for (const mutated of mutations(valid, 3000, 7)) expect(kinds.has(decodeServerResponse(mutated).kind)).toBe(true);
    const next = seededRandom(99);
    for (let round = 0; round < 2000; round++) {
      const bytes = Buffer.from(Array.from({ length: Math.floor(next() * 120) }, () => Math.floor(next() * 256)));
      if (round % 2 === 0 && bytes.length > 3) [bytes[0], bytes[1], bytes[2]] = [0x16, 0x03, 0x03];
      expect(kinds.has(decodeServerResponse(bytes).kind)).toBe(true);
      expect(['client-hello', 'incomplete', 'malformed']).toContain(decodeClientHello(bytes).kind);
    }
    const hello = encodeClientHello(probeClientHello({ version: 0x0303, cipherSuites: [0xc02f, 0x2f], serverName: 'fuzz.test', random: RANDOM }));
    for (const mutated of mutations(hello, 3000, 11)) expect(['client-hello', 'incomplete', 'malformed']).toContain(decodeClientHello(mutated).kind);
  });

  it('splits records and keeps a partial one for later', () => {
    const alert = encodeAlert(2, 40, 0x0303);
    expect(splitRecords(Buffer.concat([alert, alert.subarray(0, 3)]))).toMatchObject({ kind: 'records', records: [{ type: 21 }], partial: 3 });
  });
});
