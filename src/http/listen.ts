import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// Listening and closing, shared by the operator's endpoint and the HTTP-01
// solver: both must report a taken port clearly and close promptly even with
// keep-alive clients (Prometheus scrapers, CA validators) connected.

export interface ListeningServer {
  server: Server;
  /** The bound port (useful when 0 was asked for). */
  port: number;
}

/** Listens on host:port; `what` names the server in the error when the port cannot be bound. */
export async function listenHttp(
  what: string,
  port: number,
  host: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<ListeningServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`${what}: cannot listen on ${host}:${port}: ${err.message}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

/** Stops accepting and drops idle keep-alive connections, which would otherwise hold close() open. */
export async function closeHttp(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
