import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { classifyExchange, offerRaw, type RawExchange } from '../../../src/probe/jobs/raw-hello.js';
import { encodeAlert } from '../../../src/probe/wire/alerts.js';
import type { ClientHello } from '../../../src/probe/wire/client-hello.js';
import { renegotiationInfoExtension } from '../../../src/probe/wire/extensions.js';
import { encodeServerHello } from '../../../src/probe/wire/server-hello.js';
import { startScriptedServer, type ScriptedAnswer, type ScriptedServer } from '../../support/tls-scripted-server.js';

// The hand-built-hello job against scripted servers: the answers an SSL 3.0,
// RC4 or EXPORT server gives, which no server on this machine can give.

const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(script: ScriptedAnswer): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  servers.push(server);
  return server;
}

/** A ServerHello choosing `suite` at the version the client asked for. */
function agree(suite: number, withRenegotiationInfo = true) {
  return (hello: ClientHello): Buffer =>
    encodeServerHello(
      { version: hello.version, random: Buffer.alloc(32, 1), sessionId: Buffer.alloc(0), cipherSuite: suite, compressionMethod: 0, extensions: withRenegotiationInfo ? [renegotiationInfoExtension()] : undefined },
      hello.recordVersion,
    );
}

describe('offerRaw against scripted servers', () => {
  it('detects SSL 3.0 with RC4: exactly that version and suite offered, ServerHello read', async () => {
    const server = await serve({ kind: 'bytes', bytes: agree(0x0005, false) });
    const outcome = await offerRaw({ host: '127.0.0.1', port: server.port, serverName: 'legacy.test' }, { version: 0x0300, cipherSuites: [0x0005] }, 2000);
    expect(outcome).toMatchObject({ status: 'accepted', value: { version: 0x0300, cipherSuite: 0x0005, secureRenegotiation: false } });
    expect(server.hellos).toHaveLength(1);
    expect(server.hellos[0]).toMatchObject({ recordVersion: 0x0300, version: 0x0300, cipherSuites: [0x0005], extensions: undefined });
  });

  it('detects an EXPORT suite offered alone with TLS 1.0, SNI included', async () => {
    const server = await serve({ kind: 'bytes', bytes: agree(0x0003) });
    const outcome = await offerRaw({ host: '127.0.0.1', port: server.port, serverName: 'export.test' }, { version: 0x0301, cipherSuites: [0x0003] }, 2000);
    expect(outcome).toMatchObject({ status: 'accepted', value: { cipherSuite: 0x0003, secureRenegotiation: true } });
    const sni = server.hellos[0]?.extensions?.find((e) => e.type === 0);
    expect(sni?.data.subarray(5).toString()).toBe('export.test');
  });

  it('reads a ServerHello that arrives one byte at a time', async () => {
    const server = await serve({ kind: 'bytes', bytes: agree(0x000a), dribble: true });
    const outcome = await offerRaw({ host: '127.0.0.1', port: server.port }, { version: 0x0303, cipherSuites: [0x000a] }, 3000);
    expect(outcome).toMatchObject({ status: 'accepted', value: { cipherSuite: 0x000a } });
  });

  it('calls an alert a rejection, naming it', async () => {
    const server = await serve({ kind: 'bytes', bytes: encodeAlert(2, 40, 0x0303) });
    expect(await offerRaw({ host: '127.0.0.1', port: server.port }, { version: 0x0303, cipherSuites: [0x0004] }, 2000)).toMatchObject({ status: 'rejected', reason: 'alert handshake_failure' });
  });

  it('calls a hang-up a rejection', async () => {
    const server = await serve({ kind: 'close' });
    expect(await offerRaw({ host: '127.0.0.1', port: server.port }, { version: 0x0303, cipherSuites: [0x0004] }, 2000)).toMatchObject({ status: 'rejected', reason: 'connection closed without an answer' });
  });

  it('calls a downgrade to another version a rejection of the one offered', async () => {
    const server = await serve({ kind: 'bytes', bytes: (hello) => agree(0x002f)({ ...hello, version: 0x0301 }) });
    expect(await offerRaw({ host: '127.0.0.1', port: server.port }, { version: 0x0303, cipherSuites: [0x002f] }, 2000)).toMatchObject({ status: 'rejected', reason: 'server answered with version 0x0301' });
  });

  it('calls a suite that was not offered an error, not an acceptance', async () => {
    const server = await serve({ kind: 'bytes', bytes: agree(0xc02f) });
    expect(await offerRaw({ host: '127.0.0.1', port: server.port }, { version: 0x0303, cipherSuites: [0x002f] }, 2000)).toMatchObject({ status: 'error', error: 'server chose suite 0xc02f, which was not offered' });
  });

  it('calls a non-TLS answer an error', async () => {
    const server = await serve({ kind: 'bytes', bytes: Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n') });
    expect(await offerRaw({ host: '127.0.0.1', port: server.port }, { version: 0x0303, cipherSuites: [0x002f] }, 2000)).toMatchObject({ status: 'error', error: expect.stringMatching(/^unreadable answer: not a TLS record/) as unknown });
  });

  it('gives up on a silent server at the timeout', async () => {
    const server = await serve({ kind: 'silence' });
    const outcome = await offerRaw({ host: '127.0.0.1', port: server.port }, { version: 0x0303, cipherSuites: [0x002f] }, 150);
    expect(outcome).toMatchObject({ status: 'error', error: 'no answer to the ClientHello before the timeout' });
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(140);
  });

  it('reports a refused connection as an error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const address = closed.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await offerRaw({ host: '127.0.0.1', port }, { version: 0x0303, cipherSuites: [0x002f] }, 2000)).toMatchObject({ status: 'error', error: 'cannot connect: ECONNREFUSED' });
  });
});

describe('classifyExchange', () => {
  const offer = { version: 0x0303, cipherSuites: [0x002f, 0x0035] };
  const cases: [string, RawExchange, string][] = [
    ['unreachable', { kind: 'unreachable', error: 'EHOSTUNREACH' }, 'error'],
    ['connect timeout', { kind: 'timeout', connected: false }, 'error'],
    ['answer timeout', { kind: 'timeout', connected: true }, 'error'],
    ['closed', { kind: 'closed', bytesReceived: 0 }, 'rejected'],
    ['closed mid-answer', { kind: 'closed', bytesReceived: 7 }, 'rejected'],
    ['alert', { kind: 'answer', response: { kind: 'alert', level: 2, description: 70, name: 'protocol_version' } }, 'rejected'],
    ['malformed', { kind: 'answer', response: { kind: 'malformed', reason: 'x' } }, 'error'],
  ];
  it.each(cases)('%s → %s', (_name, exchange, status) => {
    expect(classifyExchange(offer, exchange, 1).status).toBe(status);
  });
});
