import { createSocket } from 'node:dgram';
import { isIP, Socket } from 'node:net';
import { DnsWireError } from './wire.js';

// One DNS exchange with one server: UDP first, TCP (2-octet length prefix,
// RFC 1035 4.2.2) when the answer is truncated or the message is too big for
// UDP. Bounded in time; answers with another ID are ignored (spoofing, late
// replies).

export interface ServerAddress {
  host: string;
  port: number;
}

/** "host:port", "[v6]:port" or a bare host (port 53). */
export function parseServerAddress(text: string): ServerAddress {
  const trimmed = text.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (v6 !== null) return { host: v6[1] ?? '', port: v6[2] === undefined ? 53 : Number(v6[2]) };
  if (isIP(trimmed) === 6) return { host: trimmed, port: 53 };
  const [host = '', port] = trimmed.split(':');
  const n = port === undefined ? 53 : Number(port);
  if (host === '' || !Number.isInteger(n) || n < 1 || n > 65535) throw new DnsWireError(`"${text}" is not a nameserver address (host:port)`);
  return { host, port: n };
}

const idOf = (m: Uint8Array): number => ((m[0] ?? 0) << 8) | (m[1] ?? 0);
const truncated = (m: Uint8Array): boolean => ((m[2] ?? 0) & 0x02) !== 0;

function udpExchange(server: ServerAddress, message: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new DnsWireError(`no answer from ${server.host}:${server.port} (UDP) within ${timeoutMs} ms`)), timeoutMs);
    const finish = (result: Uint8Array | Error): void => {
      clearTimeout(timer);
      socket.close();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.on('error', (err) => finish(new DnsWireError(`${server.host}:${server.port} (UDP): ${err.message}`)));
    socket.on('message', (reply) => {
      if (reply.length >= 12 && idOf(reply) === idOf(message)) finish(new Uint8Array(reply));
    });
    socket.send(message, server.port, server.host, (err) => {
      if (err) finish(new DnsWireError(`${server.host}:${server.port} (UDP): ${err.message}`));
    });
  });
}

function tcpExchange(server: ServerAddress, message: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new DnsWireError(`no answer from ${server.host}:${server.port} (TCP) within ${timeoutMs} ms`)), timeoutMs);
    const finish = (result: Uint8Array | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    socket.on('error', (err) => finish(new DnsWireError(`${server.host}:${server.port} (TCP): ${err.message}`)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length >= 2 + length) finish(new Uint8Array(received.subarray(2, 2 + length)));
    });
    socket.on('close', () => finish(new DnsWireError(`${server.host}:${server.port} (TCP) closed the connection without a complete answer`)));
    socket.connect(server.port, server.host, () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(message.length);
      socket.write(Buffer.concat([prefix, message]));
    });
  });
}

/** Sends `message` and returns the server's answer. */
export async function exchange(server: ServerAddress, message: Uint8Array, timeoutMs = 5_000): Promise<Uint8Array> {
  if (message.length > 512) return tcpExchange(server, message, timeoutMs);
  const reply = await udpExchange(server, message, timeoutMs);
  return truncated(reply) ? tcpExchange(server, message, timeoutMs) : reply;
}
