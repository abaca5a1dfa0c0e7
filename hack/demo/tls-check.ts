import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { summarizeCertificate } from '../../src/pki/certificates.js';
import { x509 } from '../../src/pki/x509.js';
import { LOOPBACK } from '../env/ports.js';

// A real TLS server with the issued key pair, and a client that trusts only
// the CA the Secret names: the handshake is the proof the certificate works.

const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface HandshakeInput {
  certificatePem: string;
  privateKeyPem: string;
  /** The only trust anchor the client accepts. */
  caPem: string;
  /** SNI the client sends, and the name it verifies the certificate against. */
  serverName: string;
}

export interface HandshakeResult {
  port: number;
  /** socket.authorized: the chain verified against caPem and the name matched. */
  authorized: boolean;
  authorizationError: string | undefined;
  protocol: string;
  cipher: string;
  /** The leaf the server presented. */
  subject: string;
  issuer: string;
  dnsNames: string[];
  notAfter: Date;
  /** SHA-256 of the served leaf (DER), lower-case hex, no colons. */
  fingerprintSHA256: string;
  /** What the server said once the handshake was done. */
  greeting: string;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function connectClient(port: number, input: HandshakeInput): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // `ca` replaces Node's built-in roots: nothing but the Secret's ca.crt is trusted.
    const socket = connect({ host: LOOPBACK, port, servername: input.serverName, ca: input.caPem });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(new Error(`TLS handshake with ${LOOPBACK}:${port} (SNI ${input.serverName}) failed: ${error.message}`, { cause: error }));
    });
  });
}

async function readAll(socket: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}

/** Serves the key pair on a free loopback port, connects once, and reports what the client saw. */
export async function handshake(input: HandshakeInput): Promise<HandshakeResult> {
  const server = createServer({ cert: input.certificatePem, key: input.privateKeyPem }, (socket) => {
    socket.end(`hello from ${socket.servername === false ? 'a server without SNI' : socket.servername}, over TLS\n`);
  });
  // A client that gives up mid-handshake must not crash the demo.
  server.on('tlsClientError', () => undefined);
  const port = await listen(server);
  let socket: TLSSocket | undefined;
  try {
    socket = await connectClient(port, input);
    const greeting = readAll(socket);
    const peer = socket.getPeerCertificate();
    if (peer.raw === undefined) throw new Error('the server presented no certificate');
    const summary = summarizeCertificate(new x509.X509Certificate(Uint8Array.from(peer.raw)));
    const cipher = socket.getCipher();
    return {
      port,
      authorized: socket.authorized,
      authorizationError: socket.authorizationError?.message,
      protocol: socket.getProtocol() ?? 'unknown',
      cipher: cipher.standardName,
      subject: summary.subject,
      issuer: summary.issuer,
      dnsNames: summary.dnsNames,
      notAfter: summary.notAfter,
      fingerprintSHA256: createHash('sha256').update(peer.raw).digest('hex'),
      greeting: (await greeting).trim(),
    };
  } finally {
    socket?.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
