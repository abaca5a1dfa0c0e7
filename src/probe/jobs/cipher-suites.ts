import { getCiphers } from 'node:tls';
import { WIRE_VERSION, type ProtocolVersion } from '../protocols.js';
import { suiteByName, type CipherSuite } from '../suites.js';
import { LEGACY_CIPHERS, ephemeralKeyOf, negotiatedOf, pinnedVersion, type EphemeralKey } from './handshake-info.js';
import { accepted, failed, mapAccepted, rejected, since, type JobOutcome, type ProbeTarget } from './outcome.js';
import { eliminateRaw } from './elimination.js';
import { offerRaw, type RawAcceptance } from './raw-hello.js';
import { tlsHandshake } from './tls-handshake.js';

// Which suites a version accepts. SSL 3.0 to TLS 1.2: by elimination with
// hand-built hellos (N+1 connections for N accepted suites), then one full
// handshake per accepted TLS 1.2 suite node's OpenSSL can offer, which
// confirms it and tells the DH/ECDH group used — the same handshake a
// one-suite probe makes, so the findings are those of one-at-a-time probing.
// TLS 1.3 suites: one node handshake each (a TLS 1.3 hello needs a real key
// share). Then, per version, whether the server imposes its own order, and which.

export interface SuiteProbe {
  via: 'node' | 'raw';
  /** The group of the key exchange, known after a full handshake. */
  ephemeralKey: EphemeralKey | undefined;
}

let nodeSuites: ReadonlySet<string> | undefined;

/** Whether node's bundled OpenSSL can offer `suite` (getCiphers lists lower-case OpenSSL names). */
export function nodeCanOffer(suite: CipherSuite): boolean {
  nodeSuites ??= new Set(getCiphers());
  return nodeSuites.has(suite.openssl.toLowerCase());
}

function rawSuite(target: ProbeTarget, version: ProtocolVersion, suite: CipherSuite, timeoutMs: number): Promise<JobOutcome<SuiteProbe>> {
  return offerRaw(target, { version: WIRE_VERSION[version], cipherSuites: [suite.id] }, timeoutMs).then((outcome) =>
    mapAccepted(outcome, () => ({ via: 'raw' as const, ephemeralKey: undefined })),
  );
}

export async function probeSuite(target: ProbeTarget, version: ProtocolVersion, suite: CipherSuite, timeoutMs: number): Promise<JobOutcome<SuiteProbe>> {
  if (version !== 'TLSv1.3' && !(version === 'TLSv1.2' && nodeCanOffer(suite))) return rawSuite(target, version, suite, timeoutMs);
  const handshake = (ciphers: string) =>
    tlsHandshake(target, { ...pinnedVersion(version), ciphers }, timeoutMs, (socket) => {
      const negotiated = negotiatedOf(socket);
      if (negotiated.cipherSuite !== suite.name) throw new Error(`offered ${suite.name} only, server chose ${negotiated.cipherSuite}`);
      return { via: 'node' as const, ephemeralKey: ephemeralKeyOf(socket) };
    });
  const viaNode = await handshake(suite.openssl);
  // OpenSSL 3.5 (node 24) will not even offer TLS_AES_128_CCM_8_SHA256 above security level 0;
  // the level sits in the TLS 1.2 list, which a TLS 1.3-only handshake never uses otherwise.
  if (viaNode.status === 'error' && version === 'TLSv1.3' && viaNode.error.includes('NO_CIPHERS_AVAILABLE')) return handshake(`${suite.openssl}:${LEGACY_CIPHERS}`);
  // node's OpenSSL may refuse to finish what the server accepted (a DH group or key below its
  // security level): the ServerHello of a hand-built hello still tells whether the suite is accepted.
  if (viaNode.status === 'error' && version === 'TLSv1.2' && !viaNode.error.startsWith('cannot connect')) return rawSuite(target, version, suite, timeoutMs);
  return viaNode;
}

export interface VersionSuites {
  /** One outcome per candidate, in candidate order. */
  outcomes: { suite: CipherSuite; outcome: JobOutcome<SuiteProbe> }[];
  /** The hand-built hello offering every candidate, as the server answered it (SSL 3.0 to TLS 1.2). */
  fullOffer: JobOutcome<RawAcceptance> | undefined;
  /** Accepted suites in the order the server picked them, when the elimination ran to its end. */
  pickOrder: number[] | undefined;
}

/**
 * Every candidate suite of `version` (a version the server accepts), each
 * connection run through `schedule` (the scan's connection limit). When an
 * elimination offer errors (timeout, a suite that was not offered), or the
 * very first offer of every suite is refused, the suites not yet decided are
 * probed one at a time instead, as before.
 */
export async function probeVersionSuites(
  target: ProbeTarget,
  version: ProtocolVersion,
  candidates: readonly CipherSuite[],
  timeoutMs: number,
  schedule: <R>(task: () => Promise<R>) => Promise<R>,
): Promise<VersionSuites> {
  const oneByOne = (suite: CipherSuite): Promise<JobOutcome<SuiteProbe>> => schedule(() => probeSuite(target, version, suite, timeoutMs));
  if (version === 'TLSv1.3') {
    const outcomes = await Promise.all(candidates.map(async (suite) => ({ suite, outcome: await oneByOne(suite) })));
    return { outcomes, fullOffer: undefined, pickOrder: undefined };
  }
  // A picked suite node can offer is confirmed by its own handshake, started as soon as it is picked
  // so the confirmations overlap the rest of the elimination.
  const confirmations = new Map<number, Promise<JobOutcome<SuiteProbe>>>();
  const elimination = await eliminateRaw(target, version, candidates, timeoutMs, schedule, (id) => {
    const suite = candidates.find((s) => s.id === id);
    if (suite !== undefined && version === 'TLSv1.2' && nodeCanOffer(suite)) confirmations.set(id, oneByOne(suite));
  });
  const { picks, first } = elimination;
  // Only accepted versions get here: a refusal of every suite at once is then the server balking at
  // the hello (its size, a long suite list), not an answer about the suites. Ask one at a time.
  const refusedOutright = picks.length === 0 && elimination.end?.status === 'rejected';
  const end = refusedOutright ? undefined : elimination.end;
  const undecided = refusedOutright ? candidates.map((s) => s.id) : elimination.undecided;
  const outcomes = await Promise.all(
    candidates.map(async (suite) => {
      const pick = picks.find((p) => p.suite === suite.id);
      if (pick === undefined && undecided.includes(suite.id)) return { suite, outcome: await oneByOne(suite) };
      if (pick === undefined) {
        // Refused as part of what was left: the server would not pick it from any subset either.
        return { suite, outcome: end ?? failed<SuiteProbe>('elimination left the suite undecided', 0) };
      }
      const confirmation = confirmations.get(suite.id);
      if (confirmation !== undefined) return { suite, outcome: await confirmation };
      return { suite, outcome: mapAccepted<RawAcceptance, SuiteProbe>(pick.outcome, () => ({ via: 'raw', ephemeralKey: undefined })) };
    }),
  );
  const accepted = new Set(outcomes.filter((o) => o.outcome.status === 'accepted').map((o) => o.suite.id));
  const clean = !refusedOutright && (end === undefined || end.status === 'rejected');
  return { outcomes, fullOffer: first, pickOrder: clean ? picks.map((p) => p.suite).filter((id) => accepted.has(id)) : undefined };
}

export interface ServerPreference {
  /** undefined when fewer than two suites are accepted: there is nothing to order. */
  enforced: boolean | undefined;
  /** The server's order, most preferred first, when it enforces one; else empty. */
  order: number[];
}

async function chosenSuite(target: ProbeTarget, version: ProtocolVersion, offer: readonly CipherSuite[], timeoutMs: number): Promise<JobOutcome<number>> {
  if (version !== 'TLSv1.3') {
    return mapAccepted(await offerRaw(target, { version: WIRE_VERSION[version], cipherSuites: offer.map((s) => s.id) }, timeoutMs), (a) => a.cipherSuite);
  }
  const outcome = await tlsHandshake(target, { ...pinnedVersion(version), ciphers: offer.map((s) => s.name).join(':') }, timeoutMs, (socket) => negotiatedOf(socket).cipherSuite);
  if (outcome.status !== 'accepted') return outcome;
  const suite = suiteByName(outcome.value);
  return suite === undefined ? failed(`server chose unknown suite ${outcome.value}`, outcome.elapsedMs) : accepted(suite.id, outcome.elapsedMs);
}

/**
 * Offers the accepted suites in one order and then reversed: a server that
 * picks the same suite both times enforces its own order, which is then read
 * by offering what is left after each pick (TLS 1.2 and older; for TLS 1.3
 * only whether it enforces one) — or taken from `pickOrder`, the accepted
 * suites in the order an elimination saw them picked, when given.
 */
export async function probeServerPreference(
  target: ProbeTarget,
  version: ProtocolVersion,
  acceptedSuites: readonly CipherSuite[],
  timeoutMs: number,
  pickOrder?: readonly number[],
): Promise<JobOutcome<ServerPreference>> {
  const start = performance.now();
  if (acceptedSuites.length < 2) return accepted({ enforced: undefined, order: [] }, since(start));
  // Servers with OpenSSL's PRIORITIZE_CHACHA (haproxy's default) take ChaCha20 whenever the client
  // lists it first, even while enforcing their order otherwise: compare without ChaCha20 when possible.
  const withoutChacha = acceptedSuites.filter((s) => !s.cipher.startsWith('CHACHA20'));
  const sample = withoutChacha.length >= 2 ? withoutChacha : acceptedSuites;
  const forward = await chosenSuite(target, version, sample, timeoutMs);
  if (forward.status !== 'accepted') return forward;
  const backward = await chosenSuite(target, version, [...sample].reverse(), timeoutMs);
  if (backward.status !== 'accepted') return backward;
  if (forward.value !== backward.value) return accepted({ enforced: false, order: [] }, since(start));
  if (version === 'TLSv1.3') return accepted({ enforced: true, order: [] }, since(start));
  // A server that enforces its order picked its favourite of what was left at each step of the
  // elimination: that sequence is its order, no need to ask again.
  if (pickOrder !== undefined && pickOrder.length === acceptedSuites.length && acceptedSuites.every((s) => pickOrder.includes(s.id))) {
    return accepted({ enforced: true, order: [...pickOrder] }, since(start));
  }
  const first = await chosenSuite(target, version, acceptedSuites, timeoutMs);
  if (first.status !== 'accepted') return first;
  const order = [first.value];
  let remaining = acceptedSuites.filter((s) => s.id !== first.value);
  while (remaining.length > 1) {
    const next = await chosenSuite(target, version, remaining, timeoutMs);
    if (next.status === 'error') return next;
    if (next.status === 'rejected') return rejected(`server refused a subset of the suites it accepted one by one: ${next.reason}`, since(start));
    order.push(next.value);
    remaining = remaining.filter((s) => s.id !== next.value);
  }
  order.push(...remaining.map((s) => s.id));
  return accepted({ enforced: true, order }, since(start));
}
