import { randomBytes } from 'node:crypto';
import { POST_QUANTUM_GROUPS, X25519MLKEM768, postQuantumGroupById, postQuantumShare, type PostQuantumGroup } from '../post-quantum.js';
import { encodeClientHello, tls13ProbeClientHello } from '../wire/client-hello.js';
import type { KeyShareEntry } from '../wire/extensions.js';
import { isHelloRetryRequest, keyShareEntryOf, selectedVersion } from '../wire/server-hello.js';
import { accepted, failed, rejected, since, type JobOutcome, type ProbeTarget } from './outcome.js';
import { exchangeHello, serverHelloOf, type RawExchange } from './raw-hello.js';
import { TLS13_GROUPS, nodeDefaultTls13Suites } from './tls13-groups.js';

// Post-quantum key exchange by hand-built TLS 1.3 hellos (see ../post-quantum.ts
// for why shares we cannot decapsulate are enough):
// 1. each group offered alone, with a share: accepted when the ServerHello uses it;
// 2. a browser's offer (X25519MLKEM768 first, X25519 beside it, a share for each):
//    what a current browser gets;
// 3. the server's own pick: the classical groups listed first, then every
//    post-quantum group it accepted, a share for each — a server that follows
//    the client's order takes X25519, one that prefers post-quantum does not;
// 4. the retry: X25519MLKEM768 (or the first accepted group) listed first but a
//    share for X25519 only, as clients that only send one share do: the server
//    either takes X25519 at once or asks with a HelloRetryRequest for the
//    post-quantum group — a round trip it pays to get it.

/** What the server did with one hello: the group of its ServerHello, or the group a HelloRetryRequest asked for. */
export type GroupChoice = { kind: 'server-hello'; group: number } | { kind: 'hello-retry'; group: number };

/** Classical groups offered beside the post-quantum ones in the preference and retry hellos. */
const CLASSICAL_COMPANIONS = ['X25519', 'prime256v1'] as const;

function classicalEntry(name: (typeof CLASSICAL_COMPANIONS)[number]): KeyShareEntry {
  const group = TLS13_GROUPS[name];
  if (group === undefined) throw new Error(`no TLS 1.3 share known for ${name}`);
  return { group: group.id, keyExchange: group.share() };
}

/**
 * Pure: which group the answer to a TLS 1.3 hello names. `shared` lists the
 * groups a share was sent for (a ServerHello must use one of them), `offered`
 * all groups in supported_groups (a retry may ask for any other of them).
 */
export function classifyGroupChoice(offered: readonly number[], shared: readonly number[], offeredSuites: readonly number[], exchange: RawExchange, elapsedMs: number): JobOutcome<GroupChoice> {
  const answer = serverHelloOf(exchange, elapsedMs);
  if ('outcome' in answer) return answer.outcome;
  const { hello } = answer;
  const version = selectedVersion(hello);
  if (version !== 0x0304) return rejected(`server answered with version 0x${version.toString(16).padStart(4, '0')}`, elapsedMs);
  if (!offeredSuites.includes(hello.cipherSuite)) return failed(`server chose suite 0x${hello.cipherSuite.toString(16).padStart(4, '0')}, which was not offered`, elapsedMs);
  const entry = keyShareEntryOf(hello);
  if (entry === undefined) return failed('the server answered without a key share', elapsedMs);
  if (isHelloRetryRequest(hello)) {
    if (!offered.includes(entry.group) || shared.includes(entry.group)) return failed(`the server asked to retry with group 0x${entry.group.toString(16)}, which it may not`, elapsedMs);
    return accepted({ kind: 'hello-retry', group: entry.group }, elapsedMs);
  }
  if (!shared.includes(entry.group)) return failed(`the server used group 0x${entry.group.toString(16)}, for which no share was sent`, elapsedMs);
  // A server that took our share answers with its own: for a post-quantum group, a ciphertext of a fixed length.
  const pq = postQuantumGroupById(entry.group);
  if (pq !== undefined && entry.length !== pq.serverShareBytes) return failed(`the server's ${pq.name} share has ${entry.length} bytes, not ${pq.serverShareBytes}`, elapsedMs);
  return accepted({ kind: 'server-hello', group: entry.group }, elapsedMs);
}

/** One TLS 1.3 hello listing `groups` (in this order) with shares for `shares`. */
async function offer(target: ProbeTarget, groups: readonly number[], shares: readonly KeyShareEntry[], timeoutMs: number): Promise<JobOutcome<GroupChoice>> {
  const start = performance.now();
  const cipherSuites = nodeDefaultTls13Suites();
  const hello = tls13ProbeClientHello({ cipherSuites, groups, keyShares: shares, serverName: target.serverName, random: randomBytes(32), sessionId: randomBytes(32) });
  const exchange = await exchangeHello(target, encodeClientHello(hello), timeoutMs);
  return classifyGroupChoice(groups, shares.map((s) => s.group), cipherSuites, exchange, since(start));
}

const pqEntry = (group: PostQuantumGroup): KeyShareEntry => ({ group: group.id, keyExchange: postQuantumShare(group) });

/** Pure: a one-group offer is accepted when the server's hello uses that very group. */
export function acceptanceOf(group: PostQuantumGroup, outcome: JobOutcome<GroupChoice>): JobOutcome<null> {
  if (outcome.status !== 'accepted') return outcome;
  return outcome.value.kind === 'server-hello' && outcome.value.group === group.id ? { ...outcome, value: null } : failed(`the server answered a ${group.name}-only hello with group 0x${outcome.value.group.toString(16)}`, outcome.elapsedMs);
}

/** Accepted when a TLS 1.3 hello offering only `group` (with a share) gets a ServerHello using it. */
export async function probePostQuantumGroup(target: ProbeTarget, group: PostQuantumGroup, timeoutMs: number): Promise<JobOutcome<null>> {
  return acceptanceOf(group, await offer(target, [group.id], [pqEntry(group)], timeoutMs));
}

/** A browser's offer: X25519MLKEM768 and X25519, both with shares, the hybrid first. */
export function probeBrowserOffer(target: ProbeTarget, timeoutMs: number): Promise<JobOutcome<GroupChoice>> {
  const hybrid = postQuantumGroupById(X25519MLKEM768);
  if (hybrid === undefined) throw new Error('X25519MLKEM768 missing from the catalogue');
  const shares = [pqEntry(hybrid), classicalEntry('X25519')];
  return offer(target, [...shares.map((s) => s.group), TLS13_GROUPS.prime256v1?.id ?? 23], shares, timeoutMs);
}

/** The classical groups first, then `accepted` post-quantum groups, a share for each: the server's pick. */
export function probeServerPick(target: ProbeTarget, acceptedGroups: readonly PostQuantumGroup[], timeoutMs: number): Promise<JobOutcome<GroupChoice>> {
  const shares = [...CLASSICAL_COMPANIONS.map(classicalEntry), ...acceptedGroups.map(pqEntry)];
  return offer(target, shares.map((s) => s.group), shares, timeoutMs);
}

/** `group` listed first, X25519 second, a share for X25519 only: does the server retry for `group`? */
export function probeRetryFor(target: ProbeTarget, group: PostQuantumGroup, timeoutMs: number): Promise<JobOutcome<GroupChoice>> {
  const x25519 = classicalEntry('X25519');
  return offer(target, [group.id, x25519.group], [x25519], timeoutMs);
}

export interface PostQuantumObservation {
  groups: { group: string; outcome: JobOutcome<null> }[];
  browserOffer: JobOutcome<GroupChoice>;
  /** Only when some group was accepted. */
  serverPick: JobOutcome<GroupChoice> | undefined;
  /** Only when some group was accepted: the retry for the first of them. */
  retry: { group: string; outcome: JobOutcome<GroupChoice> } | undefined;
}

/** Runs the four kinds of hello, each under `limit`; groups first, the rest needs to know which were accepted. */
export async function probePostQuantum(target: ProbeTarget, timeoutMs: number, limit: <T>(task: () => Promise<T>) => Promise<T>): Promise<PostQuantumObservation> {
  const [groupOutcomes, browserOffer] = await Promise.all([
    Promise.all(POST_QUANTUM_GROUPS.map(async (group) => ({ group, outcome: await limit(() => probePostQuantumGroup(target, group, timeoutMs)) }))),
    limit(() => probeBrowserOffer(target, timeoutMs)),
  ]);
  const acceptedGroups = groupOutcomes.filter((g) => g.outcome.status === 'accepted').map((g) => g.group);
  const first = acceptedGroups[0];
  const [serverPick, retry] =
    first === undefined
      ? [undefined, undefined]
      : await Promise.all([limit(() => probeServerPick(target, acceptedGroups, timeoutMs)), limit(async () => ({ group: first.name, outcome: await probeRetryFor(target, first, timeoutMs) }))]);
  return { groups: groupOutcomes.map(({ group, outcome }) => ({ group: group.name, outcome })), browserOffer, serverPick, retry };
}
