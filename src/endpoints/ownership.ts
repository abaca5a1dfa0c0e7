import { createHash } from 'node:crypto';
import { compareText } from '../text-order.js';

// Which replica probes which target: weighted rendezvous (highest random
// weight) hashing over the live members. Every replica computes the same
// owner from the same member list without talking to the others, and when a
// member joins, leaves or changes its weight only the targets it gains or
// held move — the rest keep their owner, their schedule and their last
// result.
//
// Weights exist for the leader: besides its share of the probes it imports
// the others' results and writes every status and event, so it takes a
// smaller share (--probe-sharing-leader-weight) rather than be the slowest
// replica of every scan.

/** A live member and the share it asks for: 1 is a full share; a plain identity weighs 1. */
export type Member = string | { readonly identity: string; readonly weight: number };

interface Weighted {
  readonly identity: string;
  readonly weight: number;
}

const TWO_POW_53 = 2 ** 53;

function normalize(m: Member): Weighted {
  return typeof m === 'string' ? { identity: m, weight: 1 } : m;
}

/** A stable 64-bit hash of (member, target). */
function hash(member: string, target: string): bigint {
  // A cryptographic hash, so a tenant who names Services cannot pile its targets onto one replica on purpose.
  return createHash('sha256').update(member).update('\u0000').update(target).digest().readBigUInt64BE(0);
}

/**
 * The member's score for a target; the lowest wins. -ln(u) of a uniform u
 * in (0, 1) is exponential, and the minimum of exponentials divided by their
 * weights falls on each member in proportion to its weight. With equal
 * weights the order is the hashes' order, so unweighted ownership is the
 * plain highest-hash rule.
 */
function score(h: bigint, weight: number): number {
  const u = (Number(h >> 11n) + 0.5) / TWO_POW_53;
  return -Math.log(u) / weight;
}

/** The owner of `target` among `members`; undefined when there are none. Order of `members` does not matter. */
export function ownerOf(target: string, members: readonly Member[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  let bestHash = -1n;
  for (const m of members) {
    const { identity, weight } = normalize(m);
    const h = hash(identity, target);
    const s = score(h, weight);
    // Equal scores (rounding, or practically never equal hashes) go to the higher hash, then the smaller name, so every replica agrees.
    if (s < bestScore || (s === bestScore && (h > bestHash || (h === bestHash && best !== undefined && identity < best)))) {
      best = identity;
      bestScore = s;
      bestHash = h;
    }
  }
  return best;
}

/** Members by identity, each once (the last weight given wins), sorted by identity. */
function unique(members: Iterable<Member>): Weighted[] {
  const byId = new Map<string, Weighted>();
  for (const m of members) {
    const w = normalize(m);
    byId.set(w.identity, w);
  }
  return [...byId.values()].sort((a, b) => compareText(a.identity, b.identity));
}

/** Owner by target for many targets at once. */
export function assignOwners(targets: Iterable<string>, members: readonly Member[]): Map<string, string> {
  const list = unique(members);
  const out = new Map<string, string>();
  if (list.length === 0) return out;
  for (const t of targets) out.set(t, ownerOf(t, list) as string);
  return out;
}

/** A membership view: `owns(key)` for one replica, cached per member list. */
export class Ownership {
  private members: Weighted[] = [];
  private readonly memo = new Map<string, string>();

  /** 1 until this replica leads (setSelfWeight). */
  private selfWeight = 1;

  constructor(readonly self: string) {}

  /**
   * Replaces the live member list; returns whether it changed. Self is
   * always counted, with the weight it knows it has: a replica owns work
   * before its own lease is seen, and a lease listed before its latest
   * renewal does not take back a weight just set.
   */
  setMembers(members: Iterable<Member>): boolean {
    const next = unique([...members, { identity: this.self, weight: this.selfWeight }]);
    if (next.length === this.members.length && next.every((m, i) => m.identity === this.members[i]?.identity && m.weight === this.members[i]?.weight)) return false;
    this.members = next;
    this.memo.clear();
    return true;
  }

  /** This replica's own weight changed (it became the leader); its lease carries it to the others. Returns whether the view changed. */
  setSelfWeight(weight: number): boolean {
    this.selfWeight = weight;
    return this.setMembers(this.members);
  }

  /** The identities of the live members, sorted. */
  get current(): readonly string[] {
    return this.members.length === 0 ? [this.self] : this.members.map((m) => m.identity);
  }

  /** The share this replica asks for. */
  get ownWeight(): number {
    return this.selfWeight;
  }

  /** The live members with their weights, sorted by identity. */
  get weighted(): readonly Weighted[] {
    return this.members.length === 0 ? [{ identity: this.self, weight: this.selfWeight }] : this.members;
  }

  owner(target: string): string {
    let v = this.memo.get(target);
    if (v === undefined) {
      // There is always a member (self is always counted), so there is always an owner.
      v = ownerOf(target, this.weighted) ?? this.self;
      // Bounded by the plan (the memo is cleared on every membership change and rebuilt lazily).
      if (this.memo.size > 100_000) this.memo.clear();
      this.memo.set(target, v);
    }
    return v;
  }

  owns(target: string): boolean {
    return this.owner(target) === this.self;
  }
}
