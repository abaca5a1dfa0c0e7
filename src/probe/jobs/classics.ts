import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { isIP } from 'node:net';
import { WIRE_VERSION, type ProtocolVersion } from '../protocols.js';
import { suitesForVersion } from '../suites.js';
import { uint } from '../wire/bytes.js';
import { encodeClientHello, probeClientHello } from '../wire/client-hello.js';
import { decodeServerResponse, negotiatesHeartbeat } from '../wire/server-hello.js';
import { CONTENT_TYPE, HANDSHAKE_TYPE, encodeRecord, splitRecords, type TlsRecord } from '../wire/records.js';
import { accepted, failed, mapAccepted, rejected, since, type JobOutcome, type ProbeTarget } from './outcome.js';
import { offerRaw, serverHelloOf, type RawAcceptance } from './raw-hello.js';

// The checks sslyze calls the classics, by hand-built bytes (TLS 1.2 and
// older; TLS 1.3 fixed each by design):
// - extended master secret (RFC 7627): does the ServerHello carry it;
// - TLS_FALLBACK_SCSV (RFC 7507): a hello for a version below the best one,
//   marked as a fallback, must be refused with inappropriate_fallback;
// - Heartbleed (CVE-2014-0160): after the server's first flight, a heartbeat
//   request claiming 16 KiB of payload it does not carry; a server that
//   answers with a heartbeat response read past the request: vulnerable;
// - CCS injection (CVE-2014-0224): after the server's first flight, a
//   ChangeCipherSpec that may not come yet; a patched server answers
//   unexpected_message, a vulnerable one takes it and then fails to decrypt
//   what follows (bad_record_mac / decryption_failed) or says nothing.
// Nothing here completes a handshake or reads key material: a vulnerable
// server's leaked bytes are discarded unread.

/** Pure: extended_master_secret in the ServerHello to a full offer. */
export function extendedMasterSecretOf(outcome: JobOutcome<RawAcceptance>): JobOutcome<null> {
  if (outcome.status !== 'accepted') return outcome;
  return outcome.value.extendedMasterSecret ? mapAccepted(outcome, () => null) : rejected('ServerHello without extended_master_secret', outcome.elapsedMs);
}

const FALLBACK_SCSV = 0x5600;

/** Accepted when a fallback hello (`version` below the server's best, with TLS_FALLBACK_SCSV) is refused with inappropriate_fallback. */
export async function probeFallbackScsv(target: ProbeTarget, version: ProtocolVersion, timeoutMs: number): Promise<JobOutcome<null>> {
  const suites = [...suitesForVersion(version).map((s) => s.id), FALLBACK_SCSV];
  const outcome = await offerRaw(target, { version: WIRE_VERSION[version], cipherSuites: suites }, timeoutMs);
  return fallbackScsvOf(outcome);
}

/** Pure: what the answer to a fallback hello says. */
export function fallbackScsvOf(outcome: JobOutcome<RawAcceptance>): JobOutcome<null> {
  switch (outcome.status) {
    case 'accepted':
      return rejected('the server accepted a fallback hello marked with TLS_FALLBACK_SCSV', outcome.elapsedMs);
    case 'rejected':
      // protocol_version: the server does not speak the lower version at all, so there is nothing to fall back to (testssl: "no fallback possible", sslyze: supported).
      if (outcome.reason === 'alert inappropriate_fallback' || outcome.reason === 'alert protocol_version') return accepted(null, outcome.elapsedMs);
      return failed(`the fallback hello was refused otherwise: ${outcome.reason}`, outcome.elapsedMs);
    case 'error':
      return outcome;
  }
}

export type VulnerabilityVerdict = 'vulnerable' | 'not-vulnerable';

/** What the server sent, in records, after a raw handshake flight and one probe record. */
export interface SessionReply {
  /** The ServerHello negotiated the heartbeat extension. */
  heartbeat: boolean;
  /** Records received after the probe record was sent. */
  after: TlsRecord[];
  /** The server closed the connection (after the probe). */
  closed: boolean;
}

/** Pure: does a handshake byte stream (concatenated handshake fragments) hold ServerHelloDone? */
export function holdsServerHelloDone(handshake: Buffer): boolean {
  let at = 0;
  while (at + 4 <= handshake.length) {
    const type = handshake[at] ?? 0;
    const length = handshake.readUIntBE(at + 1, 3);
    if (at + 4 + length > handshake.length) return false;
    if (type === HANDSHAKE_TYPE.serverHelloDone) return true;
    at += 4 + length;
  }
  return false;
}

/**
 * Sends a TLS 1.2-or-older hello, reads the server's first flight to its
 * ServerHelloDone, sends `probe`, and collects what comes back for `waitMs`
 * (or until the server hangs up). Never throws.
 */
export function rawSession(target: ProbeTarget, version: ProtocolVersion, probe: (version: number) => Buffer, timeoutMs: number, waitMs: number, heartbeat = false): Promise<JobOutcome<SessionReply>> {
  const start = performance.now();
  const wire = WIRE_VERSION[version];
  const hello = encodeClientHello(probeClientHello({ version: wire, cipherSuites: suitesForVersion(version).map((s) => s.id), serverName: target.serverName, random: randomBytes(32), heartbeat }));
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let handshake = Buffer.alloc(0);
    let phase: 'flight' | 'probed' = 'flight';
    let heartbeatNegotiated = false;
    const after: TlsRecord[] = [];
    let settled = false;
    const socket = connect({ host: target.host, port: target.port });
    const finish = (outcome: JobOutcome<SessionReply>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    let timer = setTimeout(() => finish(failed('no complete server flight before the timeout', since(start))), timeoutMs);
    socket.setNoDelay(true);
    socket.once('connect', () => socket.write(hello));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const split = splitRecords(buffer);
      if (split.kind === 'malformed') {
        finish(failed(`unreadable answer: ${split.reason}`, since(start)));
        return;
      }
      buffer = buffer.subarray(buffer.length - split.partial);
      for (const record of split.records) {
        if (phase === 'probed') {
          after.push(record);
          // An alert or a heartbeat answer is the verdict; waiting longer adds nothing.
          if (record.type === CONTENT_TYPE.alert || record.type === CONTENT_TYPE.heartbeat) {
            finish(accepted({ heartbeat: heartbeatNegotiated, after, closed: false }, since(start)));
            return;
          }
          continue;
        }
        if (record.type === CONTENT_TYPE.alert) {
          finish(rejected(`alert ${record.fragment[1] ?? '?'} before the server's flight ended`, since(start)));
          return;
        }
        if (record.type !== CONTENT_TYPE.handshake) continue;
        handshake = Buffer.concat([handshake, record.fragment]);
        if (handshake.length > 256 * 1024) {
          finish(failed('the server flight is larger than 256 KiB', since(start)));
          return;
        }
        if (!holdsServerHelloDone(handshake)) continue;
        const first = decodeServerResponse(encodeRecord(CONTENT_TYPE.handshake, record.version, handshake));
        const answer = serverHelloOf({ kind: 'answer', response: first.kind === 'incomplete' ? { kind: 'malformed', reason: 'no ServerHello' } : first }, since(start));
        if ('outcome' in answer) {
          finish(answer.outcome);
          return;
        }
        heartbeatNegotiated = negotiatesHeartbeat(answer.hello);
        phase = 'probed';
        socket.write(probe(answer.hello.version));
        clearTimeout(timer);
        timer = setTimeout(() => finish(accepted({ heartbeat: heartbeatNegotiated, after, closed: false }, since(start))), waitMs);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (phase === 'probed') finish(accepted({ heartbeat: heartbeatNegotiated, after, closed: true }, since(start)));
      else finish(failed(`connection failed: ${error.code ?? error.message}`, since(start)));
    });
    socket.on('close', () => {
      if (phase === 'probed') finish(accepted({ heartbeat: heartbeatNegotiated, after, closed: true }, since(start)));
      else finish(rejected('the server hung up before its flight ended', since(start)));
    });
  });
}

/** A heartbeat request (RFC 6520 §4) claiming `claimed` bytes of payload and carrying none. */
export function heartbleedRecord(version: number, claimed = 0x4000): Buffer {
  return encodeRecord(CONTENT_TYPE.heartbeat, version, Buffer.concat([uint(1, 1), uint(claimed, 2)]));
}

/** Pure: a heartbeat response to a payload-less request came back: the server read past it. */
export function heartbleedOf(outcome: JobOutcome<SessionReply>): JobOutcome<VulnerabilityVerdict> {
  if (outcome.status !== 'accepted') return outcome;
  const leaked = outcome.value.after.some((r) => r.type === CONTENT_TYPE.heartbeat && r.fragment.length > 3);
  return mapAccepted(outcome, () => (leaked ? 'vulnerable' : 'not-vulnerable'));
}

export function probeHeartbleed(target: ProbeTarget, version: ProtocolVersion, timeoutMs: number): Promise<JobOutcome<VulnerabilityVerdict>> {
  return rawSession(target, version, (v) => heartbleedRecord(v), timeoutMs, Math.min(timeoutMs, 1_500), true).then(heartbleedOf);
}

const UNEXPECTED_MESSAGE = 10;
const BAD_RECORD_MAC = 20;
const DECRYPTION_FAILED = 21;

/** An early ChangeCipherSpec, then a record that would be encrypted after it. */
export function ccsInjectionRecords(version: number): Buffer {
  return Buffer.concat([encodeRecord(CONTENT_TYPE.changeCipherSpec, version, Buffer.from([1])), encodeRecord(CONTENT_TYPE.handshake, version, Buffer.alloc(32, 0x16))]);
}

/** Pure: a patched server refuses the early CCS (unexpected_message); a vulnerable one takes it and fails to decrypt what follows. */
export function ccsInjectionOf(outcome: JobOutcome<SessionReply>): JobOutcome<VulnerabilityVerdict> {
  if (outcome.status !== 'accepted') return outcome;
  const alerts = outcome.value.after.filter((r) => r.type === CONTENT_TYPE.alert).map((r) => r.fragment[1]);
  if (alerts.includes(UNEXPECTED_MESSAGE)) return mapAccepted(outcome, () => 'not-vulnerable' as const);
  if (alerts.includes(BAD_RECORD_MAC) || alerts.includes(DECRYPTION_FAILED)) return mapAccepted(outcome, () => 'vulnerable' as const);
  if (alerts.length === 0 && !outcome.value.closed) return mapAccepted(outcome, () => 'vulnerable' as const);
  // Another alert, or a silent hang-up: it did not take the CCS as a vulnerable OpenSSL does.
  return mapAccepted(outcome, () => 'not-vulnerable' as const);
}

export function probeCcsInjection(target: ProbeTarget, version: ProtocolVersion, timeoutMs: number): Promise<JobOutcome<VulnerabilityVerdict>> {
  return rawSession(target, version, ccsInjectionRecords, timeoutMs, Math.min(timeoutMs, 1_500)).then(ccsInjectionOf);
}

/** Renegotiations in a row a server must complete to count as taking them at will (sslyze tries as many). */
export const RENEGOTIATIONS = 10;

/**
 * Accepted when the server completes RENEGOTIATIONS renegotiations the client
 * starts on one TLS 1.2-or-older connection: a client can then make it redo
 * the expensive side of a handshake at will (a denial-of-service lever).
 * Refused at once (alert no_renegotiation, or a hang-up) is what nginx and
 * haproxy do; Node.js takes three per ten minutes and then hangs up, which
 * is a limit, not a lever.
 */
export function probeClientRenegotiation(target: ProbeTarget, version: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2', timeoutMs: number): Promise<JobOutcome<null>> {
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let established = false;
    let done = 0;
    const socket = tlsConnect({
      host: target.host,
      port: target.port,
      ...(target.serverName === undefined || isIP(target.serverName) !== 0 ? {} : { servername: target.serverName }),
      minVersion: version,
      maxVersion: version,
      ciphers: 'ALL:@SECLEVEL=0',
      rejectUnauthorized: false,
    });
    const finish = (outcome: JobOutcome<null>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const refused = (why: string): JobOutcome<null> => rejected(done === 0 ? `renegotiation refused: ${why}` : `the server stopped after ${done} renegotiation${done === 1 ? '' : 's'}: ${why}`, since(start));
    const timer = setTimeout(() => finish(established ? refused('no answer before the timeout') : failed('no handshake before the timeout', since(start))), timeoutMs);
    const next = (): void => {
      const started = socket.renegotiate({ rejectUnauthorized: false }, (error) => {
        if (error !== null) {
          finish(refused(error.message.split('\n')[0] ?? error.name));
          return;
        }
        done++;
        if (done >= RENEGOTIATIONS) finish(accepted(null, since(start)));
        else next();
      });
      if (!started) finish(failed('node could not start a renegotiation', since(start)));
    };
    socket.once('secureConnect', () => {
      established = true;
      next();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(established ? refused(error.code ?? error.message) : failed(`handshake failed: ${error.code ?? error.message}`, since(start))));
    socket.on('close', () => finish(established ? refused('the server hung up') : failed('the server hung up during the handshake', since(start))));
  });
}
