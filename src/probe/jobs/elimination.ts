import { WIRE_VERSION, type ProtocolVersion } from '../protocols.js';
import { formatSuiteId, type CipherSuite } from '../suites.js';
import { type JobOutcome, type ProbeTarget } from './outcome.js';
import { offerRaw, type RawAcceptance } from './raw-hello.js';

// Suite enumeration by elimination, as testssl.sh and sslscan do it: offer
// every candidate in one hand-built hello, read which suite the ServerHello
// picks, take it out, offer the rest, until the server refuses. N accepted
// suites cost N+1 connections instead of one per candidate, and no handshake
// completes on our side. The picks also come out in the server's own order
// when it enforces one (it always takes its favourite of what is offered).

export interface EliminationPick<T> {
  suite: number;
  /** The offer's outcome that picked it. */
  outcome: Extract<JobOutcome<T>, { status: 'accepted' }>;
}

export interface Elimination<T> {
  /** Suites the server picked, in the order it picked them. */
  picks: EliminationPick<T>[];
  /**
   * How the loop ended: the server's refusal of what was left (every one of
   * those suites is then refused), or the error that stopped it. undefined
   * when every candidate was picked.
   */
  end: Exclude<JobOutcome<never>, { status: 'accepted' }> | undefined;
  /** Candidates neither picked nor refused: left for one-at-a-time probing after an error. */
  undecided: number[];
  /** The outcome of the first offer (every candidate), untouched; undefined when there were no candidates. */
  first: JobOutcome<T> | undefined;
}

/**
 * Pure loop over an injected `offer`; `onPick` hears each pick as it happens. An offer answered with a suite that was
 * not offered, or picked twice, is an error: the loop stops there rather than
 * guess, and the caller probes what is left one by one.
 */
export async function eliminate<T>(
  candidates: readonly number[],
  offer: (suites: readonly number[]) => Promise<JobOutcome<T>>,
  chosen: (value: T) => number,
  onPick: (suite: number) => void = () => undefined,
): Promise<Elimination<T>> {
  const picks: EliminationPick<T>[] = [];
  let first: JobOutcome<T> | undefined;
  let remaining = [...candidates];
  while (remaining.length > 0) {
    const outcome = await offer(remaining);
    first ??= outcome;
    if (outcome.status === 'rejected') return { picks, end: outcome, undecided: [], first };
    if (outcome.status === 'error') return { picks, end: outcome, undecided: remaining, first };
    const suite = chosen(outcome.value);
    if (!remaining.includes(suite)) {
      const end = { status: 'error' as const, error: `server chose suite ${formatSuiteId(suite)}, which was not (or no longer) offered`, elapsedMs: outcome.elapsedMs };
      return { picks, end, undecided: remaining, first };
    }
    picks.push({ suite, outcome });
    onPick(suite);
    remaining = remaining.filter((s) => s !== suite);
  }
  return { picks, end: undefined, undecided: [], first };
}

/** Elimination with hand-built hellos of `version` (SSL 3.0 to TLS 1.2); each offer runs through `schedule` (the scan's connection limit). */
export function eliminateRaw(
  target: ProbeTarget,
  version: ProtocolVersion,
  candidates: readonly CipherSuite[],
  timeoutMs: number,
  schedule: <R>(task: () => Promise<R>) => Promise<R>,
  onPick?: (suite: number) => void,
): Promise<Elimination<RawAcceptance>> {
  if (version === 'TLSv1.3') throw new Error('elimination by hand-built hello covers SSL 3.0 to TLS 1.2');
  return eliminate(
    candidates.map((s) => s.id),
    (suites) => schedule(() => offerRaw(target, { version: WIRE_VERSION[version], cipherSuites: suites }, timeoutMs)),
    (acceptance) => acceptance.cipherSuite,
    onPick,
  );
}
