import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

/** Every component of the environment listens here and nowhere else. */
export const LOOPBACK = '127.0.0.1';

function listenOnRandomPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function udpPortIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind({ address: LOOPBACK, port, exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

export interface FreePortOptions {
  /** Also require the UDP port of the same number to be free (a DNS server needs both). */
  udp?: boolean;
}

/**
 * Picks `count` distinct free TCP ports on loopback: binds port 0 for each,
 * reads what the kernel chose, and closes them only after all are chosen, so
 * one call never hands out the same port twice.
 */
export async function freePorts(count: number, options: FreePortOptions = {}): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    let attempts = 0;
    while (ports.length < count) {
      if (++attempts > count * 20) throw new Error(`could not find ${count} free loopback ports`);
      const server = await listenOnRandomPort();
      held.push(server);
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('unexpected listen address');
      if (options.udp === true && !(await udpPortIsFree(address.port))) continue;
      ports.push(address.port);
    }
    return ports;
  } finally {
    await Promise.all(held.map(close));
  }
}

export async function freePort(options: FreePortOptions = {}): Promise<number> {
  const [port] = await freePorts(1, options);
  if (port === undefined) throw new Error('no free port');
  return port;
}
