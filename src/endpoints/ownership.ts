import { createHash } from 'node:crypto';

// Which replica probes which target: rendezvous (highest random weight)
// hashing over the live members. Every replica computes the same owner from
// the same member list without talking to the others, and when a member
// joins or leaves only the targets it gains or held move — the rest keep
// their owner, their schedule and their last result.

/** A stable 64-bit weight of (member, target): the owner is the member with the highest. */
function weight(member: string, target: string): bigint {
  // A cryptographic hash, so a tenant who names Services cannot pile its targets onto one replica on purpose.
  return createHash('sha256').update(member).update('\u0000').update(target).digest().readBigUInt64BE(0);
}

/** The owner of `target` among `members`; undefined when there are none. Order of `members` does not matter. */
export function ownerOf(target: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const m of members) {
    const w = weight(m, target);
    // Ties (practically never) go to the smaller name, so every replica agrees.
    if (w > bestWeight || (w === bestWeight && best !== undefined && m < best)) {
      best = m;
      bestWeight = w;
    }
  }
  return best;
}

/** Owner by target for many targets at once. */
export function assignOwners(targets: Iterable<string>, members: readonly string[]): Map<string, string> {
  const unique = [...new Set(members)].sort();
  const out = new Map<string, string>();
  if (unique.length === 0) return out;
  for (const t of targets) out.set(t, ownerOf(t, unique) as string);
  return out;
}

/** A membership view: `owns(key)` for one replica, cached per member list. */
export class Ownership {
  private members: string[] = [];
  private readonly memo = new Map<string, string>();

  constructor(readonly self: string) {}

  /** Replaces the live member list; returns whether it changed. Self is always counted: a replica owns work even before its own lease is seen. */
  setMembers(members: Iterable<string>): boolean {
    const next = [...new Set([...members, this.self])].sort();
    if (next.length === this.members.length && next.every((m, i) => m === this.members[i])) return false;
    this.members = next;
    this.memo.clear();
    return true;
  }

  get current(): readonly string[] {
    return this.members.length === 0 ? [this.self] : this.members;
  }

  owner(target: string): string {
    let v = this.memo.get(target);
    if (v === undefined) {
      // current is never empty (self is always a member), so there is always an owner.
      v = ownerOf(target, this.current) ?? this.self;
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
