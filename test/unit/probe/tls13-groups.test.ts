import { afterEach, describe, expect, it } from 'vitest';
import { classifyGroupExchange, nodeDefaultTls13Suites, offerTls13Group, TLS13_GROUPS } from '../../../src/probe/jobs/tls13-groups.js';
import type { RawExchange } from '../../../src/probe/jobs/raw-hello.js';
import { encodeAlert } from '../../../src/probe/wire/alerts.js';
import { decodeClientHello, encodeClientHello, tls13ProbeClientHello, type ClientHello } from '../../../src/probe/wire/client-hello.js';
import { EXTENSION, type Extension } from '../../../src/probe/wire/extensions.js';
import { encodeServerHello, isHelloRetryRequest, keyShareGroup, selectedVersion, type ServerHello } from '../../../src/probe/wire/server-hello.js';
import { startScriptedServer, type ScriptedServer } from '../../support/tls-scripted-server.js';

// TLS 1.3 key exchange groups by hand-built hello: what the hello carries,
// how the ServerHello (or HelloRetryRequest) is read, and the job against a
// scripted server.

const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');

function tls13ServerHello(cipherSuite: number, extensions: Extension[], random = Buffer.alloc(32, 3)): ServerHello {
  return { version: 0x0303, random, sessionId: Buffer.alloc(32, 9), cipherSuite, compressionMethod: 0, extensions };
}

const supportedVersion = (v: number): Extension => ({ type: EXTENSION.supportedVersions, data: Buffer.from([v >> 8, v & 0xff]) });
const keyShare = (group: number, key = Buffer.alloc(32, 5)): Extension => ({ type: EXTENSION.keyShare, data: Buffer.concat([Buffer.from([group >> 8, group & 0xff, key.length >> 8, key.length & 0xff]), key]) });
const answer = (hello: ServerHello): RawExchange => ({ kind: 'answer', response: { kind: 'server-hello', recordVersion: 0x0303, hello } });

describe('the TLS 1.3 probe hello', () => {
  it('offers only TLS 1.3, the given suites, one group and its share, behind a TLS 1.2 legacy version', () => {
    const share = TLS13_GROUPS.secp384r1?.share() ?? Buffer.alloc(0);
    const hello = tls13ProbeClientHello({ cipherSuites: [0x1302, 0x1301], keyShares: [{ group: 24, keyExchange: share }], serverName: 'a.test', random: Buffer.alloc(32, 1), sessionId: Buffer.alloc(32, 2) });
    const decoded = decodeClientHello(encodeClientHello(hello));
    expect(decoded.kind).toBe('client-hello');
    const parsed = decoded.kind === 'client-hello' ? decoded.hello : undefined;
    expect(parsed).toMatchObject({ recordVersion: 0x0301, version: 0x0303, cipherSuites: [0x1302, 0x1301] });
    const ext = (type: number): Buffer | undefined => parsed?.extensions?.find((e) => e.type === type)?.data;
    expect(ext(EXTENSION.supportedVersions)).toEqual(Buffer.from([2, 0x03, 0x04]));
    expect(ext(EXTENSION.supportedGroups)).toEqual(Buffer.from([0, 2, 0, 24]));
    const keyShareData = ext(EXTENSION.keyShare);
    expect(keyShareData?.readUInt16BE(0)).toBe(2 + 2 + 97);
    expect(keyShareData?.readUInt16BE(2)).toBe(24);
    expect(keyShareData?.subarray(6)).toEqual(share);
    expect(ext(EXTENSION.signatureAlgorithms)).toBeDefined();
    expect(ext(EXTENSION.serverName)?.subarray(5).toString()).toBe('a.test');
  });

  it.each(Object.entries(TLS13_GROUPS))('%s: a share of the size the group needs', (name, group) => {
    const sizes: Record<string, number> = { X25519: 32, X448: 56, prime256v1: 65, secp384r1: 97, secp521r1: 133, ffdhe2048: 256, ffdhe3072: 384, ffdhe4096: 512, ffdhe6144: 768, ffdhe8192: 1024 };
    const share = group.share();
    expect(share.length).toBe(sizes[name]);
    // An uncompressed point (0x04) for the NIST curves; never all zeros.
    if (name.startsWith('secp') || name === 'prime256v1') expect(share[0]).toBe(4);
    expect(share.some((b) => b !== 0)).toBe(true);
  });

  it("offers node's default TLS 1.3 suites, as the node:tls probe does", () => {
    expect(nodeDefaultTls13Suites()).toEqual([0x1302, 0x1303, 0x1301]);
  });
});

describe('reading a TLS 1.3 ServerHello', () => {
  it('takes the version from supported_versions and the group from key_share', () => {
    const hello = tls13ServerHello(0x1301, [supportedVersion(0x0304), keyShare(29)]);
    expect(selectedVersion(hello)).toBe(0x0304);
    expect(keyShareGroup(hello)).toBe(29);
    expect(isHelloRetryRequest(hello)).toBe(false);
  });

  it('falls back to server_version without supported_versions, and knows a retry request by its random', () => {
    expect(selectedVersion(tls13ServerHello(0xc02f, []))).toBe(0x0303);
    expect(keyShareGroup(tls13ServerHello(0xc02f, []))).toBeUndefined();
    expect(isHelloRetryRequest(tls13ServerHello(0x1301, [supportedVersion(0x0304)], HRR_RANDOM))).toBe(true);
  });
});

describe('classifyGroupExchange', () => {
  const offered = [0x1302, 0x1303, 0x1301];
  it('accepts a TLS 1.3 ServerHello using the group offered, with the key node would report', () => {
    expect(classifyGroupExchange('X25519', offered, answer(tls13ServerHello(0x1301, [supportedVersion(0x0304), keyShare(29)])), 1)).toEqual({
      status: 'accepted',
      value: { type: 'ECDH', name: 'X25519', size: 253 },
      elapsedMs: 1,
    });
    expect(classifyGroupExchange('ffdhe3072', offered, answer(tls13ServerHello(0x1302, [supportedVersion(0x0304), keyShare(257)])), 1)).toMatchObject({
      status: 'accepted',
      value: { type: 'DH', name: undefined, size: 3072 },
    });
  });

  const cases: [string, string, RawExchange, string, string][] = [
    ['an alert', 'X448', { kind: 'answer', response: { kind: 'alert', level: 2, description: 40, name: 'handshake_failure' } }, 'rejected', 'alert handshake_failure'],
    ['a hang-up', 'X448', { kind: 'closed', bytesReceived: 0 }, 'rejected', 'connection closed without an answer'],
    ['a TLS 1.2 answer', 'X448', answer(tls13ServerHello(0xc02f, [])), 'rejected', 'server answered with version 0x0303'],
    ['a retry request', 'X448', answer(tls13ServerHello(0x1301, [supportedVersion(0x0304), keyShare(30, Buffer.alloc(0))], HRR_RANDOM)), 'error', 'server asked to retry the hello'],
    ['another group', 'X448', answer(tls13ServerHello(0x1301, [supportedVersion(0x0304), keyShare(29)])), 'error', 'server answered with a key share for group 29'],
    ['no key share', 'X448', answer(tls13ServerHello(0x1301, [supportedVersion(0x0304)])), 'error', 'server answered with no key share'],
    ['a suite not offered', 'X448', answer(tls13ServerHello(0x1304, [supportedVersion(0x0304), keyShare(30)])), 'error', 'server chose suite 0x1304, which was not offered'],
    ['a group without a share', 'brainpoolP256r1', answer(tls13ServerHello(0x1301, [supportedVersion(0x0304), keyShare(26)])), 'error', 'no TLS 1.3 key share known for brainpoolP256r1'],
    ['a timeout', 'X448', { kind: 'timeout', connected: true }, 'error', 'no answer to the ClientHello before the timeout'],
  ];
  it.each(cases)('%s', (_name, group, exchange, status, why) => {
    const outcome = classifyGroupExchange(group, offered, exchange, 1);
    expect(outcome.status).toBe(status);
    expect(outcome.status === 'rejected' ? outcome.reason : outcome.status === 'error' ? outcome.error : '').toBe(why);
  });
});

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A TLS 1.3 server supporting `groups` (IANA ids): answers with a ServerHello using the group offered, else an alert. */
async function tls13Server(groups: readonly number[]): Promise<ScriptedServer> {
  const server = await startScriptedServer({
    kind: 'bytes',
    bytes: (hello: ClientHello) => {
      const data = hello.extensions?.find((e) => e.type === EXTENSION.keyShare)?.data;
      const group = data === undefined || data.length < 4 ? undefined : data.readUInt16BE(2);
      if (group === undefined || !groups.includes(group)) return encodeAlert(2, 40, 0x0303);
      return encodeServerHello(tls13ServerHello(hello.cipherSuites[0] ?? 0, [supportedVersion(0x0304), keyShare(group)]), 0x0303);
    },
  });
  servers.push(server);
  return server;
}

describe('offerTls13Group against a scripted server', () => {
  it('accepts the groups the server takes and rejects the others, one hello each', async () => {
    const server = await tls13Server([23, 257]);
    const target = { host: '127.0.0.1', port: server.port, serverName: 'groups.test' };
    expect(await offerTls13Group(target, 'prime256v1', 2000)).toMatchObject({ status: 'accepted', value: { type: 'ECDH', name: 'prime256v1', size: 256 } });
    expect(await offerTls13Group(target, 'ffdhe3072', 2000)).toMatchObject({ status: 'accepted', value: { type: 'DH', size: 3072 } });
    expect(await offerTls13Group(target, 'X25519', 2000)).toMatchObject({ status: 'rejected', reason: 'alert handshake_failure' });
    expect(server.hellos).toHaveLength(3);
    expect(server.hellos.map((h) => h.extensions?.find((e) => e.type === EXTENSION.supportedGroups)?.data.readUInt16BE(2))).toEqual([23, 257, 29]);
    expect(server.hellos.every((h) => h.sessionId.length === 32 && h.cipherSuites.every((s) => s >= 0x1301 && s <= 0x1305))).toBe(true);
  });
});
