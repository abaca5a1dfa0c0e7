import { afterEach, describe, expect, it } from 'vitest';
import { probeServerPreference, probeVersionSuites } from '../../../src/probe/jobs/cipher-suites.js';
import { eliminate, eliminateRaw } from '../../../src/probe/jobs/elimination.js';
import { secureRenegotiationOf } from '../../../src/probe/jobs/features.js';
import { accepted, createLimiter, failed, rejected, type JobOutcome } from '../../../src/probe/jobs/outcome.js';
import { suitesForVersion, suiteById, type CipherSuite } from '../../../src/probe/suites.js';
import { encodeAlert } from '../../../src/probe/wire/alerts.js';
import type { ClientHello } from '../../../src/probe/wire/client-hello.js';
import { renegotiationInfoExtension } from '../../../src/probe/wire/extensions.js';
import { encodeServerHello } from '../../../src/probe/wire/server-hello.js';
import { startScriptedServer, type ScriptedServer } from '../../support/tls-scripted-server.js';

// Suite enumeration by elimination: the pure loop against scripted offers,
// then the hand-built-hello version against a scripted server that behaves
// like OpenSSL (takes its favourite of what is offered, or the client's).

/** A server accepting `supported`: with `serverOrder` it takes its first supported suite offered, else the client's first. */
function pickFrom(supported: readonly number[], serverOrder: boolean) {
  return (offered: readonly number[]): number | undefined =>
    serverOrder ? supported.find((s) => offered.includes(s)) : offered.find((s) => supported.includes(s));
}

function scripted(pick: (offered: readonly number[]) => number | undefined) {
  const offers: number[][] = [];
  const offer = (suites: readonly number[]): Promise<JobOutcome<number>> => {
    offers.push([...suites]);
    const chosen = pick(suites);
    return Promise.resolve(chosen === undefined ? rejected('alert handshake_failure', 1) : accepted(chosen, 1));
  };
  return { offers, offer };
}

describe('eliminate (pure loop)', () => {
  it('finds N accepted suites in N+1 offers, each offer without what was picked before', async () => {
    const { offers, offer } = scripted(pickFrom([5, 3, 9], false));
    const result = await eliminate([1, 3, 5, 7, 9], offer, (v) => v);
    expect(result.picks.map((p) => p.suite)).toEqual([3, 5, 9]);
    expect(result.end).toEqual({ status: 'rejected', reason: 'alert handshake_failure', elapsedMs: 1 });
    expect(result.undecided).toEqual([]);
    expect(offers).toEqual([[1, 3, 5, 7, 9], [1, 5, 7, 9], [1, 7, 9], [1, 7]]);
  });

  it('reports the picks in the server order when the server enforces one', async () => {
    const { offer } = scripted(pickFrom([9, 1, 5], true));
    expect((await eliminate([1, 3, 5, 7, 9], offer, (v) => v)).picks.map((p) => p.suite)).toEqual([9, 1, 5]);
  });

  it('ends without a refusal when every candidate is accepted, and keeps the first answer', async () => {
    const { offers, offer } = scripted(pickFrom([2, 1], true));
    const result = await eliminate([1, 2], offer, (v) => v);
    expect(result).toMatchObject({ end: undefined, undecided: [], first: { status: 'accepted', value: 2 } });
    expect(offers).toHaveLength(2);
  });

  it('takes a first refusal to mean every candidate is refused', async () => {
    const result = await eliminate([1, 2, 3], scripted(() => undefined).offer, (v) => v);
    expect(result).toMatchObject({ picks: [], end: { status: 'rejected' }, undecided: [], first: { status: 'rejected' } });
  });

  it('stops at an error and leaves what it had not decided', async () => {
    let calls = 0;
    const offer = (suites: readonly number[]): Promise<JobOutcome<number>> =>
      Promise.resolve(calls++ === 0 ? accepted(suites[1] ?? 0, 1) : failed('no answer to the ClientHello before the timeout', 4000));
    const result = await eliminate([1, 2, 3], offer, (v) => v);
    expect(result.picks.map((p) => p.suite)).toEqual([2]);
    expect(result).toMatchObject({ end: { status: 'error', error: 'no answer to the ClientHello before the timeout' }, undecided: [1, 3] });
  });

  it('calls a pick of a suite no longer offered an error instead of looping', async () => {
    const result = await eliminate([1, 2, 3], () => Promise.resolve(accepted(2, 1)), (v) => v);
    expect(result.picks.map((p) => p.suite)).toEqual([2]);
    expect(result).toMatchObject({ end: { status: 'error', error: 'server chose suite 0x0002, which was not (or no longer) offered' }, undecided: [1, 3] });
  });

  it('tells each pick as it happens', async () => {
    const heard: number[] = [];
    await eliminate([1, 2, 3], scripted(pickFrom([3, 1], true)).offer, (v) => v, (s) => heard.push(s));
    expect(heard).toEqual([3, 1]);
  });
});

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A scripted TLS server accepting `supported` at any version below TLS 1.3; refuses with handshake_failure otherwise. */
async function tlsServer(supported: readonly number[], serverOrder: boolean, renegotiationInfo = true): Promise<ScriptedServer> {
  const pick = pickFrom(supported, serverOrder);
  const server = await startScriptedServer({
    kind: 'bytes',
    bytes: (hello: ClientHello) => {
      const chosen = pick(hello.cipherSuites);
      if (chosen === undefined) return encodeAlert(2, 40, hello.recordVersion);
      const extensions = renegotiationInfo ? [renegotiationInfoExtension()] : undefined;
      return encodeServerHello({ version: hello.version, random: Buffer.alloc(32, 7), sessionId: Buffer.alloc(0), cipherSuite: chosen, compressionMethod: 0, extensions }, hello.recordVersion);
    },
  });
  servers.push(server);
  return server;
}

function suites(...ids: number[]): CipherSuite[] {
  return ids.map((id) => {
    const suite = suiteById(id);
    if (suite === undefined) throw new Error(`no suite ${id}`);
    return suite;
  });
}

// RC4-SHA, 3DES, AES128-SHA, AES256-SHA: suites a TLS 1.0 server of old offers.
const OLD_SERVER_ORDER = [0x0035, 0x0005, 0x002f, 0x000a];

describe('eliminateRaw against a scripted server', () => {
  it('sends N+1 hellos for N accepted suites, each a subset of the one before', async () => {
    const server = await tlsServer(OLD_SERVER_ORDER, true);
    const candidates = suitesForVersion('TLSv1.0');
    const result = await eliminateRaw({ host: '127.0.0.1', port: server.port }, 'TLSv1.0', candidates, 2000, createLimiter(2));
    expect(result.picks.map((p) => p.suite)).toEqual(OLD_SERVER_ORDER);
    expect(result.end).toMatchObject({ status: 'rejected', reason: 'alert handshake_failure' });
    expect(server.hellos).toHaveLength(OLD_SERVER_ORDER.length + 1);
    expect(server.hellos[0]?.cipherSuites).toEqual(candidates.map((s) => s.id));
    expect(server.hellos.every((h) => h.version === 0x0301)).toBe(true);
    expect(server.hellos.at(-1)?.cipherSuites).toHaveLength(candidates.length - OLD_SERVER_ORDER.length);
  });

  it('refuses to run for TLS 1.3, which a hand-built hello of this kind cannot offer', () => {
    expect(() => eliminateRaw({ host: '127.0.0.1', port: 1 }, 'TLSv1.3', [], 100, createLimiter(1))).toThrow(/SSL 3.0 to TLS 1.2/);
  });
});

describe('probeVersionSuites by elimination', () => {
  it('finds the same suites one-at-a-time probing finds, with the server order and the first answer', async () => {
    const server = await tlsServer(OLD_SERVER_ORDER, true, false);
    const target = { host: '127.0.0.1', port: server.port };
    const result = await probeVersionSuites(target, 'TLSv1.1', suitesForVersion('TLSv1.1'), 2000, createLimiter(4));
    const acceptedIds = result.outcomes.filter((o) => o.outcome.status === 'accepted').map((o) => o.suite.id);
    expect(acceptedIds).toEqual([...OLD_SERVER_ORDER].sort((a, b) => a - b));
    expect(result.outcomes.filter((o) => o.outcome.status === 'accepted').every((o) => o.outcome.status === 'accepted' && o.outcome.value.via === 'raw')).toBe(true);
    expect(result.outcomes.filter((o) => o.outcome.status === 'rejected')).toHaveLength(suitesForVersion('TLSv1.1').length - OLD_SERVER_ORDER.length);
    expect(result.pickOrder).toEqual(OLD_SERVER_ORDER);
    expect(server.hellos).toHaveLength(OLD_SERVER_ORDER.length + 1);
    expect(secureRenegotiationOf(result.fullOffer ?? failed('none', 0))).toMatchObject({ status: 'rejected', reason: 'ServerHello without renegotiation_info' });
  });

  it('falls back to one hello per undecided suite when the server stops answering', async () => {
    let answered = 0;
    const server = await startScriptedServer({
      kind: 'bytes',
      bytes: (hello) => {
        // First hello answered with AES128-SHA; after that, only hellos offering a single suite get an answer.
        if (answered++ === 0 || hello.cipherSuites.length === 1) {
          const chosen = hello.cipherSuites.includes(0x002f) ? 0x002f : undefined;
          if (chosen !== undefined) return encodeServerHello({ version: hello.version, random: Buffer.alloc(32, 7), sessionId: Buffer.alloc(0), cipherSuite: chosen, compressionMethod: 0, extensions: undefined }, hello.recordVersion);
          return encodeAlert(2, 40, hello.recordVersion);
        }
        return Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n');
      },
    });
    servers.push(server);
    const candidates = suites(0x000a, 0x002f, 0x0035);
    const result = await probeVersionSuites({ host: '127.0.0.1', port: server.port }, 'TLSv1.0', candidates, 2000, createLimiter(2));
    expect(result.outcomes.map((o) => [o.suite.id, o.outcome.status])).toEqual([
      [0x000a, 'rejected'],
      [0x002f, 'accepted'],
      [0x0035, 'rejected'],
    ]);
    expect(result.pickOrder).toBeUndefined();
    // 1 elimination hello that picked, 1 that failed, then the 2 undecided suites one by one.
    expect(server.hellos.map((h) => h.cipherSuites.length)).toEqual([3, 2, 1, 1]);
  });

  it('asks one suite at a time when the server refuses the hello offering every suite', async () => {
    // Intolerant of long suite lists: a decode_error for more than two suites, else a normal answer.
    const server = await startScriptedServer({
      kind: 'bytes',
      bytes: (hello) => {
        if (hello.cipherSuites.length > 2 || !hello.cipherSuites.includes(0x002f)) return encodeAlert(2, hello.cipherSuites.length > 2 ? 50 : 40, hello.recordVersion);
        return encodeServerHello({ version: hello.version, random: Buffer.alloc(32, 7), sessionId: Buffer.alloc(0), cipherSuite: 0x002f, compressionMethod: 0, extensions: undefined }, hello.recordVersion);
      },
    });
    servers.push(server);
    const result = await probeVersionSuites({ host: '127.0.0.1', port: server.port }, 'TLSv1.0', suites(0x000a, 0x002f, 0x0035), 2000, createLimiter(2));
    expect(result.outcomes.map((o) => [o.suite.id, o.outcome.status])).toEqual([
      [0x000a, 'rejected'],
      [0x002f, 'accepted'],
      [0x0035, 'rejected'],
    ]);
    expect(server.hellos.map((h) => h.cipherSuites.length)).toEqual([3, 1, 1, 1]);
    expect(result.pickOrder).toBeUndefined();
  });

  it('asks each suite alone when the server hangs up on every hello', async () => {
    const server = await startScriptedServer({ kind: 'close' });
    servers.push(server);
    const result = await probeVersionSuites({ host: '127.0.0.1', port: server.port }, 'TLSv1.0', suites(0x000a, 0x002f), 2000, createLimiter(2));
    expect(result.outcomes.map((o) => o.outcome.status)).toEqual(['rejected', 'rejected']);
    expect(server.hellos.map((h) => h.cipherSuites.length)).toEqual([2, 1, 1]);
  });
});

describe('probeServerPreference with the order an elimination saw', () => {
  it('asks only whether the server enforces an order, then takes the pick order', async () => {
    const server = await tlsServer(OLD_SERVER_ORDER, true);
    const acceptedSuites = suites(...[...OLD_SERVER_ORDER].sort((a, b) => a - b));
    const outcome = await probeServerPreference({ host: '127.0.0.1', port: server.port }, 'TLSv1.0', acceptedSuites, 2000, OLD_SERVER_ORDER);
    expect(outcome).toMatchObject({ status: 'accepted', value: { enforced: true, order: OLD_SERVER_ORDER } });
    expect(server.hellos).toHaveLength(2);
  });

  it('reads the order hello by hello when the pick order does not cover the accepted suites', async () => {
    const server = await tlsServer(OLD_SERVER_ORDER, true);
    const acceptedSuites = suites(...[...OLD_SERVER_ORDER].sort((a, b) => a - b));
    const outcome = await probeServerPreference({ host: '127.0.0.1', port: server.port }, 'TLSv1.0', acceptedSuites, 2000, OLD_SERVER_ORDER.slice(0, 2));
    expect(outcome).toMatchObject({ status: 'accepted', value: { enforced: true, order: OLD_SERVER_ORDER } });
    expect(server.hellos).toHaveLength(2 + OLD_SERVER_ORDER.length - 1);
  });

  it('ignores the pick order of a server that follows the client', async () => {
    const server = await tlsServer(OLD_SERVER_ORDER, false);
    const acceptedSuites = suites(...[...OLD_SERVER_ORDER].sort((a, b) => a - b));
    const outcome = await probeServerPreference({ host: '127.0.0.1', port: server.port }, 'TLSv1.0', acceptedSuites, 2000, OLD_SERVER_ORDER);
    expect(outcome).toMatchObject({ status: 'accepted', value: { enforced: false, order: [] } });
  });
});
