import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  TSIG_ALGORITHMS,
  TsigError,
  decodeTsigRdata,
  encodeTsigRdata,
  signMessage,
  tsigKey,
  tsigVariables,
  verifyResponse,
  type TsigAlgorithm,
  type TsigKey,
} from '../../../src/issuers/acme/dns/tsig.js';
import { buildUpdate } from '../../../src/issuers/acme/dns/update.js';
import { DnsWireError, RRType, Writer, decodeMessage, encodeHeader } from '../../../src/issuers/acme/dns/wire.js';

// TSIG (RFC 8945) byte for byte. The reference messages were captured from
// BIND's own nsupdate (9.18) sending this update to a socket that only
// listened:
//   nsupdate -y <alg>:tsig-test.example.:<secret>
//   server 127.0.0.1 <port> / zone certkeeper.test /
//   update add _acme-challenge.www.certkeeper.test. 60 TXT "key-authz-digest" / send
// Rebuilding the same update with the same ID, time signed and fudge must
// give exactly nsupdate's bytes, MAC included.

const SECRET = 'Y2VydGtlZXBlci10ZXN0LXZlY3Rvci1zZWNyZXQtMDEyMzQ1Njc4OQ==';
const NSUPDATE: { algorithm: TsigAlgorithm; hex: string }[] = [
  {
    algorithm: 'HMACSHA256',
    hex: '71ac280000010000000100010a636572746b6565706572047465737400000600010f5f61636d652d6368616c6c656e6765037777770a636572746b6565706572047465737400001000010000003c0011106b65792d617574687a2d64696765737409747369672d74657374076578616d706c650000fa00ff00000000003d0b686d61632d7368613235360000006b0c6ba9012c0020f3ad31e3af9133b145f469c38c52343e203b4e4bdb172d403589640d46602c0771ac00000000',
  },
  {
    algorithm: 'HMACMD5',
    hex: '5ea2280000010000000100010a636572746b6565706572047465737400000600010f5f61636d652d6368616c6c656e6765037777770a636572746b6565706572047465737400001000010000003c0011106b65792d617574687a2d64696765737409747369672d74657374076578616d706c650000fa00ff00000000003a08686d61632d6d6435077369672d616c670372656703696e740000006b0c6baa012c0010de163889fdf6cc2556a0c4713f2dc6705ea200000000',
  },
  {
    algorithm: 'HMACSHA512',
    hex: '9d93280000010000000100010a636572746b6565706572047465737400000600010f5f61636d652d6368616c6c656e6765037777770a636572746b6565706572047465737400001000010000003c0011106b65792d617574687a2d64696765737409747369672d74657374076578616d706c650000fa00ff00000000005d0b686d61632d7368613531320000006b0c6baa012c0040cc1755eb76a9aac8fd9f86ba3ebfc05496ba5fca58c1ec392be1184ef7c88fcd67e0e598d78020e65c4da8921710877fa901feada0bf80fcfb8cb840fd667b909d9300000000',
  },
];

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('signing matches BIND nsupdate byte for byte', () => {
  it.each(NSUPDATE)('$algorithm', ({ algorithm, hex: reference }) => {
    const captured = decodeMessage(Buffer.from(reference, 'hex'));
    const tsig = captured.additionals[0];
    if (tsig === undefined) throw new Error('no TSIG in the reference');
    const t = decodeTsigRdata(tsig.data);
    const unsigned = buildUpdate(captured.header.id, 'certkeeper.test', [
      { op: 'add', name: '_acme-challenge.www.certkeeper.test', ttl: 60, txt: ['key-authz-digest'] },
    ]);
    const { signed, mac } = signMessage(unsigned, tsigKey('tsig-test.example.', algorithm, SECRET), t.timeSigned, t.fudge);
    expect(hex(signed)).toBe(reference);
    expect(hex(mac)).toBe(hex(t.mac));
    expect(t).toMatchObject({ algorithm: TSIG_ALGORITHMS[algorithm].name, fudge: 300, originalId: captured.header.id, error: 0 });
  });
});

const key = (algorithm: TsigAlgorithm = 'HMACSHA256'): TsigKey => tsigKey('Update-Key.Example.', algorithm, Buffer.from('0123456789abcdef0123456789abcdef').toString('base64'));

describe('the parts of a TSIG record', () => {
  it('TSIG variables: canonical key name, class ANY, TTL 0, algorithm, time, fudge, error, other data', () => {
    const vars = tsigVariables('Update-Key.Example.', { algorithm: 'HMAC-SHA256', timeSigned: 0x0102_0304_0506, fudge: 300, error: 0, otherData: new Uint8Array(0) });
    expect(hex(vars)).toBe(
      [
        '0a7570646174652d6b6579076578616d706c6500', // update-key.example. (lower case)
        '00ff', // class ANY
        '00000000', // TTL 0
        '0b686d61632d73686132353600', // hmac-sha256
        '010203040506', // time signed
        '012c', // fudge
        '0000', // error
        '0000', // other len
      ].join(''),
    );
  });

  it('RDATA round-trips, and trailing octets are refused', () => {
    const t = { algorithm: 'hmac-sha1', timeSigned: 1_700_000_000, fudge: 300, mac: Uint8Array.from([1, 2, 3]), originalId: 0xbeef, error: 18, otherData: Uint8Array.from([0, 0, 0x65, 0x53, 0xf1, 0x00]) };
    const encoded = encodeTsigRdata(t);
    expect(hex(encoded)).toBe('09686d61632d7368613100' + '00006553f100' + '012c' + '0003' + '010203' + 'beef' + '0012' + '0006' + '00006553f100');
    expect(decodeTsigRdata(encoded)).toEqual({ ...t, mac: Uint8Array.from([1, 2, 3]), otherData: t.otherData });
    expect(() => decodeTsigRdata(Uint8Array.from([...encoded, 0]))).toThrow(DnsWireError);
  });

  it.each<[TsigAlgorithm, number]>([
    ['HMACMD5', 16],
    ['HMACSHA1', 20],
    ['HMACSHA224', 28],
    ['HMACSHA256', 32],
    ['HMACSHA384', 48],
    ['HMACSHA512', 64],
  ])('%s: the MAC is HMAC(message before signing || variables), %i octets, ARCOUNT + 1', (algorithm, size) => {
    const unsigned = buildUpdate(0x4242, 'example.test', [{ op: 'add', name: 'x.example.test', ttl: 60, txt: ['v'] }]);
    const k = key(algorithm);
    const { signed, mac } = signMessage(unsigned, k, 1_800_000_000);
    const expected = createHmac(TSIG_ALGORITHMS[algorithm].hash, k.secret)
      .update(unsigned)
      .update(tsigVariables(k.name, { algorithm: TSIG_ALGORITHMS[algorithm].name, timeSigned: 1_800_000_000, fudge: 300, error: 0, otherData: new Uint8Array(0) }))
      .digest();
    expect(hex(mac)).toBe(expected.toString('hex'));
    expect(mac.length).toBe(size);
    expect(hex(signed.subarray(0, 10))).toBe(hex(unsigned.subarray(0, 10)));
    expect(hex(signed.subarray(10, 12))).toBe('0001');
    expect(hex(signed.subarray(12, unsigned.length))).toBe(hex(unsigned.subarray(12)));
    const rr = decodeMessage(signed).additionals[0];
    expect(rr).toMatchObject({ name: 'update-key.example', type: RRType.TSIG, class: 255, ttl: 0 });
  });

  it('reads secrets as base64 and refuses anything else', () => {
    expect(tsigKey('k', 'HMACSHA256', ' c2VjcmV0 \n').secret.toString()).toBe('secret');
    expect(() => tsigKey('k', 'HMACSHA256', 'not base64!')).toThrow(/not base64/);
  });
});

/** A server's signed answer to `request`, built the RFC 8945 5.3 way, independently of verifyResponse. */
function serverAnswer(requestMac: Uint8Array, k: TsigKey, opts: { time: number; error?: number; macOverride?: Uint8Array; keyName?: string; rcode?: number; id?: number } ) {
  const w = new Writer();
  encodeHeader(w, { id: opts.id ?? 0x4242, response: true, opcode: 5, authoritative: false, truncated: false, recursionDesired: false, recursionAvailable: false, rcode: opts.rcode ?? 0 }, [1, 0, 0, 0]);
  w.name('example.test').u16(RRType.SOA).u16(1);
  const body = w.done();
  const algorithm = TSIG_ALGORITHMS[k.algorithm].name;
  const vars = tsigVariables(opts.keyName ?? k.name, { algorithm, timeSigned: opts.time, fudge: 300, error: opts.error ?? 0, otherData: new Uint8Array(0) });
  const prefix = new Writer().u16(requestMac.length).done();
  const mac = opts.macOverride ?? new Uint8Array(createHmac(TSIG_ALGORITHMS[k.algorithm].hash, k.secret).update(prefix).update(requestMac).update(body).update(vars).digest());
  const rdata = encodeTsigRdata({ algorithm, timeSigned: opts.time, fudge: 300, mac, originalId: 0x4242, error: opts.error ?? 0, otherData: new Uint8Array(0) });
  const rr = new Writer().name(opts.keyName ?? k.name).u16(RRType.TSIG).u16(255).u32(0).u16(rdata.length).bytes(rdata).done();
  const out = Uint8Array.from([...body, ...rr]);
  out[11] = 1;
  return out;
}

describe('verifying the server answer', () => {
  const k = key();
  const requestMac = signMessage(buildUpdate(0x4242, 'example.test', []), k, 1_800_000_000).mac;

  it('accepts an answer MACed over the request MAC, the answer and the variables', () => {
    expect(verifyResponse(serverAnswer(requestMac, k, { time: 1_800_000_010 }), k, requestMac, 1_800_000_020)).toEqual({ ok: true });
  });

  it('uses the original ID, not the one in the header (a forwarder may rewrite it)', () => {
    const answer = serverAnswer(requestMac, k, { time: 1_800_000_010 });
    answer[0] = 0x99;
    expect(verifyResponse(answer, k, requestMac, 1_800_000_010)).toEqual({ ok: true });
  });

  it.each<[string, () => Uint8Array, number, RegExp]>([
    ['a changed byte', () => Object.assign(serverAnswer(requestMac, k, { time: 1_800_000_010 }), { 14: 0x41 }), 1_800_000_010, /does not verify/],
    ['another request MAC', () => serverAnswer(new Uint8Array(32), k, { time: 1_800_000_010 }), 1_800_000_010, /does not verify/],
    ['a time outside the fudge', () => serverAnswer(requestMac, k, { time: 1_800_000_000 }), 1_800_000_301, /outside the fudge/],
    ['another key', () => serverAnswer(requestMac, k, { time: 1_800_000_010, keyName: 'other.' }), 1_800_000_010, /signed with key "other"/],
    ['BADSIG from the server', () => serverAnswer(requestMac, k, { time: 1_800_000_010, error: TsigError.BADSIG, macOverride: new Uint8Array(0), rcode: 9 }), 1_800_000_010, /BADSIG/],
    ['BADKEY from the server', () => serverAnswer(requestMac, k, { time: 1_800_000_010, error: TsigError.BADKEY, macOverride: new Uint8Array(0), rcode: 9 }), 1_800_000_010, /BADKEY/],
    ['no signature at all', () => buildUpdate(0x4242, 'example.test', []), 1_800_000_010, /not signed/],
  ])('refuses %s', (_name, answer, now, reason) => {
    const result = verifyResponse(answer(), k, requestMac, now);
    expect(result.ok).toBe(false);
    expect(result.ok === false ? result.reason : '').toMatch(reason);
  });
});
