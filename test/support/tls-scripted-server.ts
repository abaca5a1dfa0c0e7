import { createServer, type Server, type Socket } from 'node:net';
import { decodeClientHello, type ClientHello } from '../../src/probe/wire/client-hello.js';

// A loopback TCP server that plays a scripted TLS server: it reads one
// ClientHello, records it, and answers as told (bytes, possibly dribbled one
// at a time; a hang-up; or silence). For unit tests of the hand-built-hello
// job against answers no real server here gives (an SSL 3.0 ServerHello,
// RC4, garbage).

export type ScriptedAnswer =
  | { kind: 'bytes'; bytes: Buffer | ((hello: ClientHello) => Buffer); dribble?: boolean }
  | { kind: 'close' }
  | { kind: 'silence' };

export interface ScriptedServer {
  port: number;
  hellos: ClientHello[];
  close(): Promise<void>;
}

function answer(socket: Socket, script: ScriptedAnswer, hello: ClientHello): void {
  switch (script.kind) {
    case 'close':
      socket.end();
      return;
    case 'silence':
      return;
    case 'bytes': {
      const bytes = typeof script.bytes === 'function' ? script.bytes(hello) : script.bytes;
      if (script.dribble !== true) {
        socket.write(bytes);
        return;
      }
      let i = 0;
      const next = (): void => {
        if (i >= bytes.length || socket.destroyed) return;
        socket.write(bytes.subarray(i, i + 1), () => setTimeout(next, 1));
        i++;
      };
      next();
    }
  }
}

export async function startScriptedServer(script: ScriptedAnswer): Promise<ScriptedServer> {
  const hellos: ClientHello[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const decoded = decodeClientHello(received);
      if (decoded.kind === 'incomplete') return;
      if (decoded.kind === 'malformed') {
        socket.destroy();
        return;
      }
      hellos.push(decoded.hello);
      answer(socket, script, decoded.hello);
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    hellos,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
