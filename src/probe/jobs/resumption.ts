import type { TLSSocket } from 'node:tls';
import { accepted, rejected, since, type JobOutcome, type ProbeTarget } from './outcome.js';
import { tlsHandshake, type HandshakeOptions } from './tls-handshake.js';

// Session resumption, by session id (TLS 1.2 and older, tickets turned off
// on our side) and by ticket, with the latency of a full handshake next to a
// resumed one (median of a few rounds each).

export type ResumptionMechanism = 'sessionId' | 'ticket';

export interface ResumptionTiming {
  fullHandshakeMs: number;
  resumedHandshakeMs: number;
  rounds: number;
}

interface FirstHandshake {
  session: Buffer | undefined;
  ticketIssued: boolean;
  handshakeMs: number;
}

/** How long to wait after a TLS 1.3 handshake for the ticket (sent after the handshake) to arrive. */
const TICKET_WAIT_MS = 300;

function waitForSession(socket: TLSSocket, wanted: boolean): Promise<Buffer | undefined> {
  const now = socket.getSession();
  if (!wanted || (now !== undefined && socket.getProtocol() !== 'TLSv1.3')) return Promise.resolve(now);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(socket.getSession()), TICKET_WAIT_MS);
    socket.once('session', (session: Buffer) => {
      clearTimeout(timer);
      resolve(session);
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
  return Math.round((value ?? 0) * 10) / 10;
}

/**
 * `rounds` full handshakes, each followed by one resumption of its session.
 * Accepted when every resumption was accepted by the server.
 */
export async function probeResumption(
  target: ProbeTarget,
  base: HandshakeOptions,
  mechanism: ResumptionMechanism,
  rounds: number,
  timeoutMs: number,
): Promise<JobOutcome<ResumptionTiming>> {
  const start = performance.now();
  const options: HandshakeOptions = mechanism === 'sessionId' ? { ...base, noTickets: true } : base;
  const full: number[] = [];
  const resumed: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const first = await tlsHandshake<FirstHandshake>(target, options, timeoutMs, async (socket, context) => {
      const session = await waitForSession(socket, mechanism === 'ticket');
      return { session, ticketIssued: socket.getTLSTicket() !== undefined, handshakeMs: context.handshakeMs };
    });
    if (first.status !== 'accepted') return first;
    const { session, ticketIssued, handshakeMs } = first.value;
    if (session === undefined) return rejected('the server gave no session to resume', since(start));
    if (mechanism === 'ticket' && !ticketIssued) return rejected('the server issued no session ticket', since(start));
    const second = await tlsHandshake(target, { ...options, session }, timeoutMs, (socket, context) => ({ reused: socket.isSessionReused(), handshakeMs: context.handshakeMs }));
    if (second.status !== 'accepted') return second;
    if (!second.value.reused) return rejected(mechanism === 'ticket' ? 'the server did not resume from its ticket' : 'the server did not resume the session id', since(start));
    full.push(handshakeMs);
    resumed.push(second.value.handshakeMs);
  }
  return accepted({ fullHandshakeMs: median(full), resumedHandshakeMs: median(resumed), rounds }, since(start));
}
