import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { accepted, createLimiter, failed, rejected, type JobOutcome } from '../../../src/probe/jobs/outcome.js';
import { acceptanceOf, classifyGroupChoice, probePostQuantum, type GroupChoice, type PostQuantumObservation } from '../../../src/probe/jobs/post-quantum.js';
import type { RawExchange } from '../../../src/probe/jobs/raw-hello.js';
import { analysePostQuantum, postQuantumReadiness } from '../../../src/probe/post-quantum-analysis.js';
import { POST_QUANTUM_GROUPS, byteDecode12, byteEncode12, mlkemEncapsulationKey, passesModulusCheck, postQuantumGroupByName, postQuantumShare } from '../../../src/probe/post-quantum.js';
import { encodeAlert } from '../../../src/probe/wire/alerts.js';
import type { ClientHello } from '../../../src/probe/wire/client-hello.js';
import { EXTENSION, type Extension } from '../../../src/probe/wire/extensions.js';
import { encodeServerHello, type ServerHello } from '../../../src/probe/wire/server-hello.js';
import { startScriptedServer, type ScriptedServer } from '../../support/tls-scripted-server.js';

// Post-quantum key exchange: the shares (sizes from FIPS 203 and the IETF
// drafts, the modulus check), how answers are read, the analyser, and the job
// against scripted servers that play each kind of server.

const HRR_RANDOM = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
const group = (name: string) => {
  const g = postQuantumGroupByName(name);
  if (g === undefined) throw new Error(name);
  return g;
};

describe('post-quantum key shares', () => {
  it.each([
    // name, code point, client share, server share: FIPS 203 Table 3 plus the classical half
    ['X25519MLKEM768', 0x11ec, 1184 + 32, 1088 + 32],
    ['SecP256r1MLKEM768', 0x11eb, 65 + 1184, 65 + 1088],
    ['SecP384r1MLKEM1024', 0x11ed, 97 + 1568, 97 + 1568],
    ['MLKEM512', 0x0200, 800, 768],
    ['MLKEM768', 0x0201, 1184, 1088],
    ['MLKEM1024', 0x0202, 1568, 1568],
  ])('%s (0x%s) has a %i-byte client share and a %i-byte server share', (name, id, client, server) => {
    const g = group(name);
    expect(g).toMatchObject({ id, clientShareBytes: client, serverShareBytes: server });
    expect(postQuantumShare(g)).toHaveLength(client);
  });

  it('puts ML-KEM first in X25519MLKEM768 and the curve point first in the NIST hybrids', () => {
    const x = postQuantumShare(group('X25519MLKEM768'));
    expect(x.subarray(1184)).toEqual(Buffer.concat([Buffer.from([9]), Buffer.alloc(31)]));
    expect(passesModulusCheck(x.subarray(0, 1184), 3)).toBe(true);
    const p256 = postQuantumShare(group('SecP256r1MLKEM768'));
    expect(p256[0]).toBe(0x04);
    expect(passesModulusCheck(p256.subarray(65), 3)).toBe(true);
    const p384 = postQuantumShare(group('SecP384r1MLKEM1024'));
    expect(p384[0]).toBe(0x04);
    expect(passesModulusCheck(p384.subarray(97), 4)).toBe(true);
  });

  it('makes encapsulation keys that pass the FIPS 203 modulus check, which random bytes fail', () => {
    for (const k of [2, 3, 4] as const) {
      for (let i = 0; i < 20; i++) expect(passesModulusCheck(mlkemEncapsulationKey(k), k)).toBe(true);
      expect(passesModulusCheck(randomBytes(mlkemEncapsulationKey(k).length), k)).toBe(false);
    }
    expect(passesModulusCheck(mlkemEncapsulationKey(3), 2)).toBe(false);
  });

  it('draws coefficients below q even from a source that mostly gives values above it', () => {
    let calls = 0;
    // 0xffff & 0xfff = 4095 >= q is rejected; every fourth draw is 7.
    const skewed = (n: number) => {
      calls++;
      const out = Buffer.alloc(n, 0xff);
      for (let i = 0; i + 1 < n; i += 8) out.writeUInt16LE(7, i);
      return out;
    };
    const key = mlkemEncapsulationKey(2, skewed);
    expect(key).toHaveLength(800);
    expect(byteDecode12(key.subarray(0, 768)).every((c) => c === 7)).toBe(true);
    expect(calls).toBeGreaterThan(2);
  });

  it('packs two 12-bit coefficients into three bytes and back', () => {
    expect(byteEncode12([0x123, 0xabc])).toEqual(Buffer.from([0x23, 0xc1, 0xab]));
    expect(byteDecode12(Buffer.from([0x23, 0xc1, 0xab]))).toEqual([0x123, 0xabc]);
    const values = Array.from({ length: 512 }, (_, i) => (i * 37) % 3329);
    expect(byteDecode12(byteEncode12(values))).toEqual(values);
    expect(() => byteEncode12([4096, 0])).toThrow(RangeError);
    expect(() => byteEncode12([1])).toThrow(RangeError);
  });
});

function tls13Hello(extensions: Extension[], random = Buffer.alloc(32, 3), cipherSuite = 0x1301): ServerHello {
  return { version: 0x0303, random, sessionId: Buffer.alloc(32, 9), cipherSuite, compressionMethod: 0, extensions };
}
const supportedVersion: Extension = { type: EXTENSION.supportedVersions, data: Buffer.from([0x03, 0x04]) };
const shareOf = (id: number, length: number): Extension => ({ type: EXTENSION.keyShare, data: Buffer.concat([Buffer.from([id >> 8, id & 0xff, length >> 8, length & 0xff]), Buffer.alloc(length, 1)]) });
const retryFor = (id: number): Extension => ({ type: EXTENSION.keyShare, data: Buffer.from([id >> 8, id & 0xff]) });
const answer = (hello: ServerHello): RawExchange => ({ kind: 'answer', response: { kind: 'server-hello', recordVersion: 0x0303, hello } });

describe('classifyGroupChoice', () => {
  const offered = [0x11ec, 29];
  const suites = [0x1301];
  it.each<[string, RawExchange, JobOutcome<GroupChoice>['status'], unknown]>([
    ['a ServerHello with the hybrid and a 1120-byte ciphertext', answer(tls13Hello([supportedVersion, shareOf(0x11ec, 1120)])), 'accepted', { kind: 'server-hello', group: 0x11ec }],
    ['a ServerHello with X25519', answer(tls13Hello([supportedVersion, shareOf(29, 32)])), 'accepted', { kind: 'server-hello', group: 29 }],
    ['a ServerHello whose hybrid share has the wrong length', answer(tls13Hello([supportedVersion, shareOf(0x11ec, 32)])), 'error', undefined],
    ['a ServerHello with a group no share was sent for', answer(tls13Hello([supportedVersion, shareOf(23, 65)])), 'error', undefined],
    ['a suite that was not offered', answer(tls13Hello([supportedVersion, shareOf(29, 32)], undefined, 0x1303)), 'error', undefined],
    ['TLS 1.2', answer(tls13Hello([shareOf(29, 32)])), 'rejected', undefined],
    ['no key share', answer(tls13Hello([supportedVersion])), 'error', undefined],
    ['an alert', { kind: 'answer', response: { kind: 'alert', level: 2, description: 40, name: 'handshake_failure' } }, 'rejected', undefined],
    ['a hang-up', { kind: 'closed', bytesReceived: 0 }, 'rejected', undefined],
    ['a timeout', { kind: 'timeout', connected: true }, 'error', undefined],
  ])('%s', (_what, exchange, status, value) => {
    const outcome = classifyGroupChoice(offered, offered, suites, exchange, 1);
    expect(outcome.status).toBe(status);
    if (value !== undefined && outcome.status === 'accepted') expect(outcome.value).toEqual(value);
  });

  it('reads a HelloRetryRequest for a listed group without a share as a retry, and any other as an error', () => {
    const hrr = (id: number) => answer(tls13Hello([supportedVersion, retryFor(id)], HRR_RANDOM));
    expect(classifyGroupChoice([0x11ec, 29], [29], suites, hrr(0x11ec), 1)).toMatchObject({ status: 'accepted', value: { kind: 'hello-retry', group: 0x11ec } });
    expect(classifyGroupChoice([0x11ec, 29], [29], suites, hrr(29), 1).status).toBe('error');
    expect(classifyGroupChoice([0x11ec, 29], [29], suites, hrr(23), 1).status).toBe('error');
  });

  it('takes a one-group offer as accepted only when the ServerHello uses that group', () => {
    const g = group('MLKEM768');
    expect(acceptanceOf(g, accepted({ kind: 'server-hello', group: 0x0201 }, 1))).toMatchObject({ status: 'accepted', value: null });
    expect(acceptanceOf(g, accepted({ kind: 'hello-retry', group: 0x0201 }, 1)).status).toBe('error');
    expect(acceptanceOf(g, rejected('alert handshake_failure', 1))).toMatchObject({ status: 'rejected' });
  });
});

function observation(acceptedNames: string[], browser: JobOutcome<GroupChoice>, pick?: JobOutcome<GroupChoice>, retry?: JobOutcome<GroupChoice>): PostQuantumObservation {
  return {
    groups: POST_QUANTUM_GROUPS.map((g) => ({ group: g.name, outcome: acceptedNames.includes(g.name) ? accepted(null, 1) : rejected<null>('alert handshake_failure', 1) })),
    browserOffer: browser,
    serverPick: pick,
    retry: retry === undefined ? undefined : { group: acceptedNames[0] ?? '', outcome: retry },
  };
}
const hello = (id: number) => accepted<GroupChoice>({ kind: 'server-hello', group: id }, 1);

describe('analysePostQuantum', () => {
  it('calls a server ready when a browser offer gets the hybrid, and says how it picks', () => {
    const f = analysePostQuantum(observation(['X25519MLKEM768'], hello(0x11ec), hello(0x11ec), hello(29)));
    expect(f).toMatchObject({ readiness: 'ready', tested: true, browserChoice: 'X25519MLKEM768', serverPick: 'X25519MLKEM768', serverPrefersPostQuantum: true, withoutShare: { group: 'X25519MLKEM768', answer: 'classical' } });
    expect(f.groups.map((g) => [g.name, g.status])).toEqual(POST_QUANTUM_GROUPS.map((g) => [g.name, g.name === 'X25519MLKEM768' ? 'accepted' : 'rejected']));
  });

  it('reports a retry asked for the post-quantum group', () => {
    const f = analysePostQuantum(observation(['X25519MLKEM768'], hello(0x11ec), hello(0x11ec), accepted({ kind: 'hello-retry', group: 0x11ec }, 1)));
    expect(f.withoutShare).toEqual({ group: 'X25519MLKEM768', answer: 'retry' });
  });

  it('calls a server that accepts ML-KEM but gives a browser X25519 partial', () => {
    const f = analysePostQuantum(observation(['MLKEM768', 'MLKEM1024'], hello(29), hello(29), hello(29)));
    expect(f).toMatchObject({ readiness: 'partial', browserChoice: 'X25519', serverPick: 'X25519', serverPrefersPostQuantum: false, withoutShare: { group: 'MLKEM768', answer: 'classical' } });
  });

  it('calls a server with no post-quantum group classical, and one without TLS 1.3 classical and untested', () => {
    expect(analysePostQuantum(observation([], hello(29)))).toMatchObject({ readiness: 'classical', serverPick: undefined, withoutShare: undefined });
    expect(analysePostQuantum(undefined)).toMatchObject({ readiness: 'classical', tested: false, groups: [] });
  });

  it.each<[string, Parameters<typeof postQuantumReadiness>, string]>([
    ['not tested', [false, [], undefined], 'classical'],
    ['browser gets a PQ group', [true, [], 0x11ec], 'ready'],
    ['accepted, browser probe failed', [true, [{ name: 'MLKEM768', id: 0x201, kind: 'ml-kem', status: 'accepted' }], undefined], 'unknown'],
    ['nothing accepted, one probe failed', [true, [{ name: 'MLKEM768', id: 0x201, kind: 'ml-kem', status: 'error' }], 29], 'unknown'],
    ['nothing accepted, browser probe failed', [true, [], undefined], 'unknown'],
    ['nothing accepted', [true, [{ name: 'MLKEM768', id: 0x201, kind: 'ml-kem', status: 'rejected' }], 29], 'classical'],
  ])('readiness: %s', (_what, args, readiness) => {
    expect(postQuantumReadiness(...args)).toBe(readiness);
  });

  it('keeps why a group probe failed', () => {
    const obs = observation([], hello(29));
    obs.groups[0] = { group: 'X25519MLKEM768', outcome: failed('connect timed out', 4000) };
    expect(analysePostQuantum(obs).groups[0]).toMatchObject({ status: 'error', detail: 'connect timed out' });
  });
});

// A scripted OpenSSL-like server: knows `groups` in its order of preference;
// `serverOrder` picks by its own order among the client's shares, else by the
// client's; `retry` asks for its favourite when the client sent no share for it.
function playServer(groups: number[], options: { serverOrder: boolean; retry: boolean }) {
  return (ch: ClientHello): Buffer => {
    const ext = (type: number) => ch.extensions?.find((e) => e.type === type)?.data;
    const listed = ext(EXTENSION.supportedGroups);
    const clientGroups = listed === undefined ? [] : Array.from({ length: (listed.length - 2) / 2 }, (_, i) => listed.readUInt16BE(2 + 2 * i));
    const ks = ext(EXTENSION.keyShare);
    const shared: number[] = [];
    for (let at = 2; ks !== undefined && at + 4 <= ks.length; ) {
      shared.push(ks.readUInt16BE(at));
      at += 4 + ks.readUInt16BE(at + 2);
    }
    const common = options.serverOrder ? groups.filter((g) => clientGroups.includes(g)) : clientGroups.filter((g) => groups.includes(g));
    const favourite = common[0];
    if (favourite === undefined) return encodeAlert(2, 40, 0x0303);
    if (!shared.includes(favourite) && options.retry) return encodeServerHello(tls13Hello([supportedVersion, retryFor(favourite)], HRR_RANDOM, ch.cipherSuites[0]), 0x0303);
    const use = common.find((g) => shared.includes(g));
    if (use === undefined) return encodeAlert(2, 40, 0x0303);
    const length = POST_QUANTUM_GROUPS.find((g) => g.id === use)?.serverShareBytes ?? (use === 29 ? 32 : 65);
    return encodeServerHello(tls13Hello([supportedVersion, shareOf(use, length)], undefined, ch.cipherSuites[0]), 0x0303);
  };
}

describe('probePostQuantum against scripted servers', () => {
  const servers: ScriptedServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  const start = async (play: (ch: ClientHello) => Buffer) => {
    const server = await startScriptedServer({ kind: 'bytes', bytes: play });
    servers.push(server);
    return server;
  };

  it('sees an OpenSSL 3.5 default: the hybrid accepted, preferred over the client order, and asked for by retry', async () => {
    const server = await start(playServer([0x11ec, 29, 23], { serverOrder: true, retry: true }));
    const f = analysePostQuantum(await probePostQuantum({ host: '127.0.0.1', port: server.port, serverName: 'pq.test' }, 2000, createLimiter(4)));
    expect(f).toMatchObject({ readiness: 'ready', browserChoice: 'X25519MLKEM768', serverPick: 'X25519MLKEM768', serverPrefersPostQuantum: true, withoutShare: { group: 'X25519MLKEM768', answer: 'retry' } });
    expect(f.groups.filter((g) => g.status === 'accepted').map((g) => g.name)).toEqual(['X25519MLKEM768']);
    // 6 one-group hellos, the browser offer, the pick and the retry.
    expect(server.hellos).toHaveLength(9);
    const sizes = server.hellos.map((h) => h.extensions?.find((e) => e.type === EXTENSION.keyShare)?.data.length ?? 0);
    expect(Math.max(...sizes)).toBeLessThan(16_384);
  });

  it('sees a server that follows the client order and never retries', async () => {
    const server = await start(playServer([0x0201, 0x0202, 29], { serverOrder: false, retry: false }));
    const f = analysePostQuantum(await probePostQuantum({ host: '127.0.0.1', port: server.port }, 2000, createLimiter(4)));
    expect(f).toMatchObject({ readiness: 'partial', browserChoice: 'X25519', serverPick: 'X25519', serverPrefersPostQuantum: false, withoutShare: { group: 'MLKEM768', answer: 'classical' } });
    expect(f.groups.filter((g) => g.status === 'accepted').map((g) => g.name)).toEqual(['MLKEM768', 'MLKEM1024']);
    expect(server.hellos).toHaveLength(9);
  });

  it('sees a classical server with seven hellos', async () => {
    const server = await start(playServer([29, 23], { serverOrder: true, retry: true }));
    const f = analysePostQuantum(await probePostQuantum({ host: '127.0.0.1', port: server.port }, 2000, createLimiter(4)));
    expect(f).toMatchObject({ readiness: 'classical', browserChoice: 'X25519', serverPick: undefined, withoutShare: undefined });
    expect(server.hellos).toHaveLength(7);
  });
});
