import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installedTool } from '../env/tools.js';

// TLS servers on Node.js 24 (OpenSSL 3.5): the real post-quantum servers the
// probe tests scan. `ecdhCurve` is OpenSSL's group list, so
// 'X25519MLKEM768:X25519' is OpenSSL 3.5's own way to serve the hybrid and
// 'X25519' a classical server on the same OpenSSL. The binary comes from
// hack/install-node-pq.sh (installed on first use; a failure to install
// fails the caller, never skips it).

/** Path of the Node.js 24 binary, installing it into the tools cache if needed. */
export function nodePqBinary(): Promise<string> {
  return installedTool('install-node-pq.sh');
}

export interface NodeTlsServerConfig {
  /** OpenSSL group list, e.g. 'X25519MLKEM768:X25519'. */
  ecdhCurve: string;
  chainPem: string;
  keyPem: string;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface NodeTlsServer {
  host: string;
  port: number;
  /** The OpenSSL version the server runs on. */
  openssl: string;
  stop(): Promise<void>;
}

// Runs in the Node 24 child: the config arrives on argv as JSON, the port goes to stdout.
const SERVER_SCRIPT = `
const tls = require('node:tls');
const config = JSON.parse(process.argv[2]);
const server = tls.createServer({ cert: config.chainPem, key: config.keyPem, ecdhCurve: config.ecdhCurve,
  minVersion: config.minVersion ?? 'TLSv1.2', maxVersion: config.maxVersion ?? 'TLSv1.3' }, (socket) => {
  // Keep the connection a moment, as a real server would, so a client can renegotiate on it.
  // An error (a reset, or node's renegotiation limit: three per ten minutes) ends that connection, as in a server that logs it.
  socket.on('error', () => socket.destroy());
  socket.resume();
  setTimeout(() => socket.end(), 3000).unref();
});
server.on('tlsClientError', () => {});
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port, openssl: process.versions.openssl }) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

export async function startNodeTlsServer(config: NodeTlsServerConfig, dir: string): Promise<NodeTlsServer> {
  const node = await nodePqBinary();
  const script = join(dir, `node-tls-server-${process.pid}-${Math.random().toString(36).slice(2)}.cjs`);
  await writeFile(script, SERVER_SCRIPT);
  const child: ChildProcess = spawn(node, [script, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = await new Promise<{ port: number; openssl: string }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the Node 24 TLS server did not start within 10 s: ${stderr}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { port: number; openssl: string });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the Node 24 TLS server exited (${code ?? 'signal'}): ${stderr}`));
    });
  });
  return {
    host: '127.0.0.1',
    port: ready.port,
    openssl: ready.openssl,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
