import { failed, mapAccepted, type JobOutcome, type ProbeTarget } from './outcome.js';
import { tlsHandshake, type HandshakeOptions } from './tls-handshake.js';

// For HTTP endpoints: one GET / over TLS, reading only the response head.

export interface HttpHead {
  status: number;
  /** The Strict-Transport-Security header, undefined when absent. */
  strictTransportSecurity: string | undefined;
}

const MAX_HEAD_BYTES = 32 * 1024;

/** Pure: status and HSTS header of a raw HTTP/1.1 response head. */
export function parseHttpHead(head: string): HttpHead | undefined {
  const [statusLine, ...lines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1];
  if (status === undefined) return undefined;
  const hsts = lines.find((line) => /^strict-transport-security\s*:/i.test(line));
  return { status: Number(status), strictTransportSecurity: hsts?.slice(hsts.indexOf(':') + 1).trim() };
}

export async function probeHttpHead(target: ProbeTarget, base: HandshakeOptions, timeoutMs: number): Promise<JobOutcome<HttpHead>> {
  const outcome = await tlsHandshake(target, { ...base, alpnProtocols: ['http/1.1'] }, timeoutMs, (socket) => {
    return new Promise<string>((resolve, reject) => {
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        received += chunk;
        const end = received.indexOf('\r\n\r\n');
        if (end >= 0) resolve(received.slice(0, end));
        else if (received.length > MAX_HEAD_BYTES) reject(new Error(`no end of the HTTP head in ${MAX_HEAD_BYTES} bytes`));
      });
      socket.once('end', () => reject(new Error('connection closed before the HTTP head ended')));
      const name = target.serverName ?? target.host;
      const host = `${name.includes(':') ? `[${name}]` : name}${target.port === 443 ? '' : `:${target.port}`}`;
      socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: certkeeper-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n`);
    });
  });
  if (outcome.status !== 'accepted') return outcome;
  const head = parseHttpHead(outcome.value);
  return head === undefined ? failed('the answer is not HTTP/1.x', outcome.elapsedMs) : mapAccepted(outcome, () => head);
}
