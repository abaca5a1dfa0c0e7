import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gradeFindings } from '../../../src/probe/grade.js';
import { evaluateCompliance } from '../../../src/probe/compliance.js';
import { accepted, failed, rejected } from '../../../src/probe/jobs/outcome.js';
import {
  ccsInjectionOf,
  extendedMasterSecretOf,
  fallbackScsvOf,
  heartbleedOf,
  heartbleedRecord,
  holdsServerHelloDone,
  probeCcsInjection,
  probeFallbackScsv,
  probeHeartbleed,
  type SessionReply,
} from '../../../src/probe/jobs/classics.js';
import { customProfile } from '../../../src/probe/profiles/index.js';
import { encodeAlert } from '../../../src/probe/wire/alerts.js';
import { decodeClientHello, type ClientHello } from '../../../src/probe/wire/client-hello.js';
import { EXTENSION, type Extension } from '../../../src/probe/wire/extensions.js';
import { CONTENT_TYPE, HANDSHAKE_TYPE, encodeHandshake, encodeRecord, splitRecords } from '../../../src/probe/wire/records.js';
import { encodeServerHello } from '../../../src/probe/wire/server-hello.js';
import { findings, set } from './findings-builders.js';

// The classics by raw bytes against scripted servers: no vulnerable server
// exists here (every OpenSSL in reach was fixed in 2014), so the vulnerable
// behaviours are played byte by byte, next to the patched ones.

const hello = (extensions: Extension[]) =>
  encodeServerHello({ version: 0x0303, random: Buffer.alloc(32, 7), sessionId: Buffer.alloc(0), cipherSuite: 0xc02f, compressionMethod: 0, extensions }, 0x0303);
const done = encodeRecord(CONTENT_TYPE.handshake, 0x0303, encodeHandshake(HANDSHAKE_TYPE.serverHelloDone, Buffer.alloc(0)));
const certificate = encodeRecord(CONTENT_TYPE.handshake, 0x0303, encodeHandshake(HANDSHAKE_TYPE.certificate, Buffer.alloc(3)));

type Behaviour = (record: { type: number; fragment: Buffer }, socket: Socket) => void;

/** A server that answers any ClientHello with a first flight, then reacts to each later record as `behaviour` says. */
function scripted(behaviour: Behaviour, options: { heartbeat?: boolean; answer?: (ch: ClientHello) => Buffer | undefined } = {}): Promise<{ port: number; server: Server; hellos: ClientHello[] }> {
  const hellos: ClientHello[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let greeted = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!greeted) {
        const decoded = decodeClientHello(buffer);
        if (decoded.kind !== 'client-hello') return;
        hellos.push(decoded.hello);
        greeted = true;
        buffer = Buffer.alloc(0);
        const special = options.answer?.(decoded.hello);
        if (special !== undefined) {
          socket.end(special);
          return;
        }
        socket.write(Buffer.concat([hello(options.heartbeat === true ? [{ type: EXTENSION.heartbeat, data: Buffer.from([1]) }] : []), certificate, done]));
        return;
      }
      const split = splitRecords(buffer);
      if (split.kind !== 'records') return;
      buffer = buffer.subarray(buffer.length - split.partial);
      for (const record of split.records) behaviour(record, socket);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      resolve({ port: address.port, server, hellos });
    });
  });
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});
async function start(behaviour: Behaviour, options?: Parameters<typeof scripted>[1]) {
  const s = await scripted(behaviour, options);
  servers.push(s.server);
  return { host: '127.0.0.1', port: s.port, hellos: s.hellos };
}

describe('Heartbleed', () => {
  it('finds a server that answers a payload-less heartbeat with 16 KiB of memory', async () => {
    const t = await start(
      (record, socket) => {
        if (record.type === CONTENT_TYPE.heartbeat) socket.write(encodeRecord(CONTENT_TYPE.heartbeat, 0x0303, Buffer.concat([Buffer.from([2, 0x40, 0x00]), Buffer.alloc(0x4000, 0x41)])));
      },
      { heartbeat: true },
    );
    expect(await probeHeartbleed(t, 'TLSv1.2', 2000)).toMatchObject({ status: 'accepted', value: 'vulnerable' });
    expect(t.hellos[0]?.extensions?.some((e) => e.type === EXTENSION.heartbeat)).toBe(true);
  });

  it('calls a server that drops the request, or alerts, not vulnerable', async () => {
    const silent = await start(() => undefined, { heartbeat: true });
    expect(await probeHeartbleed(silent, 'TLSv1.2', 2000)).toMatchObject({ status: 'accepted', value: 'not-vulnerable' });
    const alerting = await start((_r, socket) => socket.end(encodeAlert(2, 10, 0x0303)));
    expect(await probeHeartbleed(alerting, 'TLSv1.2', 2000)).toMatchObject({ status: 'accepted', value: 'not-vulnerable' });
  });

  it('cannot tell when the server refuses the hello', async () => {
    const refusing = await start(() => undefined, { answer: () => encodeAlert(2, 40, 0x0303) });
    expect((await probeHeartbleed(refusing, 'TLSv1.2', 2000)).status).toBe('rejected');
  });

  it('builds a request that claims 16 KiB and carries none', () => {
    expect(heartbleedRecord(0x0302)).toEqual(Buffer.from([24, 3, 2, 0, 3, 1, 0x40, 0]));
  });
});

describe('CCS injection', () => {
  it('finds a server that takes an early CCS and then fails to decrypt', async () => {
    const t = await start((record, socket) => {
      if (record.type === CONTENT_TYPE.handshake) socket.write(encodeAlert(2, 20, 0x0303));
    });
    expect(await probeCcsInjection(t, 'TLSv1.2', 2000)).toMatchObject({ status: 'accepted', value: 'vulnerable' });
  });

  it('finds a patched server that answers unexpected_message', async () => {
    const t = await start((record, socket) => {
      if (record.type === CONTENT_TYPE.changeCipherSpec) socket.end(encodeAlert(2, 10, 0x0303));
    });
    expect(await probeCcsInjection(t, 'TLSv1.2', 2000)).toMatchObject({ status: 'accepted', value: 'not-vulnerable' });
  });

  it.each<[string, SessionReply, 'vulnerable' | 'not-vulnerable']>([
    ['silence', { heartbeat: false, after: [], closed: false }, 'vulnerable'],
    ['a silent hang-up', { heartbeat: false, after: [], closed: true }, 'not-vulnerable'],
    ['decryption_failed', { heartbeat: false, after: [{ type: 21, version: 0x0303, fragment: Buffer.from([2, 21]) }], closed: true }, 'vulnerable'],
    ['handshake_failure', { heartbeat: false, after: [{ type: 21, version: 0x0303, fragment: Buffer.from([2, 40]) }], closed: true }, 'not-vulnerable'],
  ])('reads %s', (_what, reply, verdict) => {
    expect(ccsInjectionOf(accepted(reply, 1))).toMatchObject({ value: verdict });
  });
});

describe('the pure readings', () => {
  it('finds ServerHelloDone among handshake messages, not in a truncated one', () => {
    const certificateMsg = encodeHandshake(HANDSHAKE_TYPE.certificate, Buffer.alloc(10));
    const doneMsg = encodeHandshake(HANDSHAKE_TYPE.serverHelloDone, Buffer.alloc(0));
    expect(holdsServerHelloDone(Buffer.concat([certificateMsg, doneMsg]))).toBe(true);
    expect(holdsServerHelloDone(certificateMsg)).toBe(false);
    expect(holdsServerHelloDone(certificateMsg.subarray(0, 8))).toBe(false);
  });

  it('reads TLS_FALLBACK_SCSV from the answer to a fallback hello', () => {
    expect(fallbackScsvOf(rejected('alert inappropriate_fallback', 1)).status).toBe('accepted');
    expect(fallbackScsvOf(rejected('alert protocol_version', 1)).status).toBe('accepted');
    expect(fallbackScsvOf(accepted({ version: 0x0302, cipherSuite: 0xc013, secureRenegotiation: true, extendedMasterSecret: true }, 1))).toMatchObject({ status: 'rejected' });
    expect(fallbackScsvOf(rejected('alert handshake_failure', 1)).status).toBe('error');
    expect(fallbackScsvOf(failed('timeout', 1)).status).toBe('error');
  });

  it('reads extended master secret from the full offer', () => {
    expect(extendedMasterSecretOf(accepted({ version: 0x0303, cipherSuite: 0xc02f, secureRenegotiation: true, extendedMasterSecret: true }, 1)).status).toBe('accepted');
    expect(extendedMasterSecretOf(accepted({ version: 0x0303, cipherSuite: 0xc02f, secureRenegotiation: true, extendedMasterSecret: false }, 1))).toMatchObject({ status: 'rejected', reason: 'ServerHello without extended_master_secret' });
  });

  it('keeps a leak out of a heartbeat response shorter than the request', () => {
    expect(heartbleedOf(accepted({ heartbeat: true, after: [{ type: 24, version: 0x0303, fragment: Buffer.from([2, 0, 0]) }], closed: false }, 1))).toMatchObject({ value: 'not-vulnerable' });
  });
});

describe('TLS_FALLBACK_SCSV against scripted servers', () => {
  it('is supported when the fallback hello is refused with inappropriate_fallback', async () => {
    const t = await start(() => undefined, { answer: (ch) => (ch.cipherSuites.includes(0x5600) ? encodeAlert(2, 86, 0x0302) : undefined) });
    expect((await probeFallbackScsv(t, 'TLSv1.1', 2000)).status).toBe('accepted');
    expect(t.hellos[0]?.version).toBe(0x0302);
  });
});

describe('judgements', () => {
  it('fails Heartbleed and CCS injection in every profile and grades them F', () => {
    const f = findings(set({ vulnerabilities: { heartbleed: { status: 'vulnerable' }, ccsInjection: { status: 'vulnerable' } } }));
    expect(evaluateCompliance(f, customProfile({})).violations.map((v) => v.id)).toEqual(['heartbleed', 'ccs-injection']);
    expect(gradeFindings(f)).toMatchObject({ grade: 'F' });
    expect(gradeFindings(f).caps.map((c) => c.id)).toEqual(['heartbleed', 'ccs-injection']);
  });

  it('does not grade TLS_FALLBACK_SCSV, client renegotiation or extended master secret', () => {
    const f = findings(set({ fallbackScsv: { support: 'no' }, clientRenegotiation: { support: 'yes' }, extendedMasterSecret: { support: 'no' } }));
    expect(gradeFindings(f).grade).toBe('A+');
  });
});
