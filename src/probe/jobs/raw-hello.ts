import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { formatSuiteId } from '../suites.js';
import { encodeClientHello, probeClientHello } from '../wire/client-hello.js';
import { decodeServerResponse, supportsExtendedMasterSecret, supportsSecureRenegotiation, type ServerHello, type ServerResponse } from '../wire/server-hello.js';
import { accepted, failed, rejected, since, type JobOutcome, type ProbeTarget } from './outcome.js';

// The scanner's way around node's OpenSSL: send a hand-built ClientHello
// offering exactly the version and suites in question over a plain socket,
// read the ServerHello or alert, and hang up. No handshake completes, so any
// suite can be tested by its code point — SSL 3.0, RC4, 3DES, EXPORT, NULL.

export type RawExchange =
  | { kind: 'answer'; response: Exclude<ServerResponse, { kind: 'incomplete' }> }
  | { kind: 'closed'; bytesReceived: number }
  | { kind: 'unreachable'; error: string }
  | { kind: 'timeout'; connected: boolean };

export interface RawOffer {
  /** client_version on the wire (0x0300–0x0303). */
  version: number;
  cipherSuites: readonly number[];
}

export interface RawAcceptance {
  version: number;
  cipherSuite: number;
  /** The ServerHello carried renegotiation_info (RFC 5746). */
  secureRenegotiation: boolean;
  /** The ServerHello carried extended_master_secret (RFC 7627). */
  extendedMasterSecret: boolean;
}

/** Answers larger than this are not a ServerHello: stop reading. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Sends `hello`, returns the first answer (or why there is none). Never throws. */
export function exchangeHello(target: ProbeTarget, hello: Buffer, timeoutMs: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    let connected = false;
    let settled = false;
    const socket = connect({ host: target.host, port: target.port });
    const finish = (exchange: RawExchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(exchange);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', connected }), timeoutMs);
    socket.setNoDelay(true);
    socket.once('connect', () => {
      connected = true;
      socket.write(hello);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const response = decodeServerResponse(received);
      if (response.kind !== 'incomplete') finish({ kind: 'answer', response });
      else if (received.length > MAX_ANSWER_BYTES) finish({ kind: 'answer', response: { kind: 'malformed', reason: `no ServerHello in the first ${MAX_ANSWER_BYTES} bytes` } });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A reset after connecting is the server hanging up on our offer.
      if (connected) finish({ kind: 'closed', bytesReceived: received.length });
      else finish({ kind: 'unreachable', error: error.code ?? error.message });
    });
    socket.on('close', () => finish({ kind: 'closed', bytesReceived: received.length }));
  });
}

/** Pure: the ServerHello an exchange brought, or the outcome of one that brought none. */
export function serverHelloOf(exchange: RawExchange, elapsedMs: number): { hello: ServerHello } | { outcome: JobOutcome<never> } {
  switch (exchange.kind) {
    case 'unreachable':
      return { outcome: failed(`cannot connect: ${exchange.error}`, elapsedMs) };
    case 'timeout':
      return { outcome: failed(exchange.connected ? 'no answer to the ClientHello before the timeout' : 'connect timed out', elapsedMs) };
    case 'closed':
      return { outcome: rejected(exchange.bytesReceived === 0 ? 'connection closed without an answer' : 'connection closed mid-answer', elapsedMs) };
    case 'answer':
      break;
  }
  const { response } = exchange;
  switch (response.kind) {
    case 'alert':
      return { outcome: rejected(`alert ${response.name}`, elapsedMs) };
    case 'malformed':
      return { outcome: failed(`unreadable answer: ${response.reason}`, elapsedMs) };
    case 'server-hello':
      return { hello: response.hello };
  }
}

/** Pure: what an exchange says about an offer. */
export function classifyExchange(offer: RawOffer, exchange: RawExchange, elapsedMs: number): JobOutcome<RawAcceptance> {
  const answer = serverHelloOf(exchange, elapsedMs);
  if ('outcome' in answer) return answer.outcome;
  const { hello } = answer;
  if (hello.version !== offer.version) {
    return rejected(`server answered with version 0x${hello.version.toString(16).padStart(4, '0')}`, elapsedMs);
  }
  if (!offer.cipherSuites.includes(hello.cipherSuite)) {
    return failed(`server chose suite ${formatSuiteId(hello.cipherSuite)}, which was not offered`, elapsedMs);
  }
  return accepted({ version: hello.version, cipherSuite: hello.cipherSuite, secureRenegotiation: supportsSecureRenegotiation(hello), extendedMasterSecret: supportsExtendedMasterSecret(hello) }, elapsedMs);
}

/** One hand-built hello offering `offer`; accepted when the server picks that version and one of the suites. */
export async function offerRaw(target: ProbeTarget, offer: RawOffer, timeoutMs: number): Promise<JobOutcome<RawAcceptance>> {
  const start = performance.now();
  const hello = probeClientHello({ version: offer.version, cipherSuites: offer.cipherSuites, serverName: target.serverName, random: randomBytes(32) });
  const exchange = await exchangeHello(target, encodeClientHello(hello), timeoutMs);
  return classifyExchange(offer, exchange, since(start));
}
