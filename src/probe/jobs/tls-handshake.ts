import { isIP } from 'node:net';
import { connect, createSecureContext, type ConnectionOptions, type SecureContext, type SecureVersion, type TLSSocket } from 'node:tls';
import { accepted, describeError, failed, rejected, since, type JobOutcome, type ProbeTarget } from './outcome.js';

// One real handshake through node:tls (OpenSSL), for what needs a finished
// handshake: the negotiated key exchange, the served chain, ALPN, stapled
// OCSP, session resumption, HTTP headers. Certificates are never verified
// here (the analyser does that from the chain); the handshake only has to
// complete.

export interface HandshakeOptions {
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  /** OpenSSL cipher string; TLS 1.3 names (TLS_AES_...) select TLS 1.3 suites. */
  ciphers?: string;
  /** Key exchange groups offered, OpenSSL names joined by ':' ('X25519:prime256v1'). */
  ecdhCurve?: string;
  alpnProtocols?: string[];
  requestOCSP?: boolean;
  /** A session from an earlier handshake, to resume. */
  session?: Buffer;
  /** Set SSL_OP_NO_TICKET: resume by session id only. */
  noTickets?: boolean;
}

export interface HandshakeContext {
  /** From the start of the TCP connect to the end of the handshake. */
  handshakeMs: number;
  /** The stapled OCSP response, when requested and sent. */
  ocspResponse: Buffer | undefined;
}

const SSL_OP_NO_TICKET = 0x4000;

/** node error codes that mean the server turned the offer down after the TCP connect succeeded. */
const REFUSAL_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
  'ERR_SSL_UNEXPECTED_EOF_WHILE_READING',
]);

/** Pure: whether a handshake error after connecting is the server's refusal, and how to say it. */
export function classifyHandshakeError(error: NodeJS.ErrnoException): { refused: boolean; reason: string } {
  const code = error.code ?? '';
  const alert = /alert ([a-z _]+?)(?::|$)/i.exec(error.message);
  if (/_ALERT_/.test(code) && alert?.[1] !== undefined) return { refused: true, reason: `alert ${alert[1].trim().replace(/ /g, '_')}` };
  if (REFUSAL_CODES.has(code)) return { refused: true, reason: code === 'ECONNRESET' || code === 'EPIPE' ? 'connection closed during the handshake' : describeError(error) };
  if (/socket disconnected before secure TLS connection/i.test(error.message)) return { refused: true, reason: 'connection closed during the handshake' };
  return { refused: false, reason: code === '' ? describeError(error) : `${code}: ${describeError(error)}` };
}

/** tls.connect hands requestOCSP to the TLSSocket it creates; @types/node only declares it on TLSSocketOptions. */
type ConnectOptions = ConnectionOptions & { requestOCSP?: boolean };

// A full scan makes a few hundred connections, most differing only in the
// versions and suites offered. Building an OpenSSL context for each one cost
// more CPU than the handshake and left the allocator fragmented (RSS grew by
// hundreds of MB over 1,000 scans), so contexts are shared per offer. They
// hold no trust store and no sessions (node keeps none in the context), so
// sharing leaks nothing between targets.
const MAX_CONTEXTS = 512;
const contexts = new Map<string, SecureContext>();

function secureContextFor(options: HandshakeOptions): SecureContext {
  const key = JSON.stringify([options.minVersion, options.maxVersion, options.ciphers, options.ecdhCurve, options.noTickets === true]);
  let context = contexts.get(key);
  if (context === undefined) {
    context = createSecureContext({
      // An empty trust store: getPeerCertificate(true) then returns only what the server sent.
      ca: [],
      minVersion: options.minVersion,
      maxVersion: options.maxVersion,
      ciphers: options.ciphers,
      ecdhCurve: options.ecdhCurve,
      secureOptions: options.noTickets === true ? SSL_OP_NO_TICKET : undefined,
    });
    if (contexts.size >= MAX_CONTEXTS) {
      const oldest = contexts.keys().next().value;
      if (oldest !== undefined) contexts.delete(oldest);
    }
    contexts.set(key, context);
  }
  return context;
}

function connectionOptions(target: ProbeTarget, options: HandshakeOptions): ConnectOptions {
  return {
    host: target.host,
    port: target.port,
    servername: target.serverName !== undefined && isIP(target.serverName) === 0 ? target.serverName : undefined,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
    secureContext: secureContextFor(options),
    ALPNProtocols: options.alpnProtocols,
    requestOCSP: options.requestOCSP,
    session: options.session,
  };
}

/**
 * Handshakes, then hands the open socket to `inspect` and returns what it
 * found. `timeoutMs` bounds the handshake and the inspection together.
 */
export function tlsHandshake<T>(
  target: ProbeTarget,
  options: HandshakeOptions,
  timeoutMs: number,
  inspect: (socket: TLSSocket, context: HandshakeContext) => T | Promise<T>,
): Promise<JobOutcome<T>> {
  const start = performance.now();
  return new Promise((resolve) => {
    let socket: TLSSocket;
    try {
      socket = connect(connectionOptions(target, options));
    } catch (error) {
      // node's OpenSSL cannot offer this (e.g. "no cipher match" for a suite it was built without).
      resolve(failed(`node cannot offer this: ${describeError(error)}`, since(start)));
      return;
    }
    let connected = false;
    let secured = false;
    let settled = false;
    let ocspResponse: Buffer | undefined;
    const finish = (outcome: JobOutcome<T>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish(failed(connected ? 'handshake timed out' : 'connect timed out', since(start))), timeoutMs);
    socket.once('connect', () => {
      connected = true;
    });
    socket.on('OCSPResponse', (response: Buffer) => {
      ocspResponse = response;
    });
    socket.once('secureConnect', () => {
      secured = true;
      const context: HandshakeContext = { handshakeMs: since(start), ocspResponse };
      Promise.resolve()
        .then(() => inspect(socket, context))
        .then(
          (value) => finish(accepted(value, since(start))),
          (error: unknown) => finish(failed(describeError(error), since(start))),
        );
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (secured) {
        finish(failed(`after the handshake: ${error.code ?? describeError(error)}`, since(start)));
        return;
      }
      if (!connected) {
        finish(failed(`cannot connect: ${error.code ?? describeError(error)}`, since(start)));
        return;
      }
      const { refused, reason } = classifyHandshakeError(error);
      finish(refused ? rejected(reason, since(start)) : failed(reason, since(start)));
    });
    // After the handshake a close is the inspection's business (it may be waiting for a ticket or reading a response).
    socket.on('close', () => {
      if (!secured) finish(connected ? rejected('connection closed during the handshake', since(start)) : failed('connection closed before connecting', since(start)));
    });
  });
}
