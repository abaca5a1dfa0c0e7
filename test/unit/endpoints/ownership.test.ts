import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { assignOwners, Ownership, ownerOf } from '../../../src/endpoints/ownership.js';

const targets = Array.from({ length: 3_000 }, (_, i) => `ns-${i % 17}/svc-${i}:443@10.0.${i >> 8}.${i & 255}#svc-${i}.example`);

function counts(owners: Map<string, string>): Map<string, number> {
  const c = new Map<string, number>();
  for (const o of owners.values()) c.set(o, (c.get(o) ?? 0) + 1);
  return c;
}

describe('ownerOf (rendezvous hashing)', () => {
  it('has no owner without members, and the only member owns everything', () => {
    expect(ownerOf('a', [])).toBeUndefined();
    expect(ownerOf('a', ['r1'])).toBe('r1');
  });

  it('does not depend on the order of the members', () => {
    for (const t of targets.slice(0, 200)) expect(ownerOf(t, ['a', 'b', 'c'])).toBe(ownerOf(t, ['c', 'a', 'b']));
  });

  it('is deterministic across calls', () => {
    expect(assignOwners(targets, ['a', 'b', 'c'])).toEqual(assignOwners(targets, ['a', 'b', 'c']));
  });

  it.each([2, 3, 5, 8])('spreads %i members within 15 %% of an even share', (n) => {
    const members = Array.from({ length: n }, (_, i) => `certkeeper-${i}-${'x'.repeat(i)}`);
    const c = counts(assignOwners(targets, members));
    expect(c.size).toBe(n);
    for (const v of c.values()) expect(Math.abs(v - targets.length / n)).toBeLessThan(0.15 * (targets.length / n));
  });

  it('moves only the departed member\'s targets when one leaves', () => {
    const before = assignOwners(targets, ['a', 'b', 'c']);
    const after = assignOwners(targets, ['a', 'c']);
    for (const t of targets) {
      if (before.get(t) !== 'b') expect(after.get(t)).toBe(before.get(t));
      else expect(['a', 'c']).toContain(after.get(t));
    }
  });

  it('moves targets only to the newcomer when one joins, about its fair share', () => {
    const before = assignOwners(targets, ['a', 'b']);
    const after = assignOwners(targets, ['a', 'b', 'c']);
    let moved = 0;
    for (const t of targets) {
      if (after.get(t) !== before.get(t)) {
        expect(after.get(t)).toBe('c');
        moved++;
      }
    }
    expect(Math.abs(moved - targets.length / 3)).toBeLessThan(0.15 * (targets.length / 3));
  });

  it('ignores duplicate members', () => {
    expect(assignOwners(targets.slice(0, 50), ['a', 'b', 'a'])).toEqual(assignOwners(targets.slice(0, 50), ['b', 'a']));
  });
});

describe('ownerOf with weights', () => {
  // The plain rule, written out: the member whose sha256(member NUL target) starts with the highest 64 bits.
  const highestHash = (target: string, members: string[]) =>
    [...members].sort().reduce((best, m) => {
      const h = (x: string) => createHash('sha256').update(x).update('\u0000').update(target).digest().readBigUInt64BE(0);
      return h(m) > h(best) ? m : best;
    });

  it('is the plain highest-hash rule when every weight is 1, given or not', () => {
    const members = ['certkeeper-0', 'certkeeper-1', 'certkeeper-2'];
    for (const t of targets) {
      expect(ownerOf(t, members)).toBe(highestHash(t, members));
      expect(ownerOf(t, members.map((identity) => ({ identity, weight: 1 })))).toBe(highestHash(t, members));
      expect(ownerOf(t, members.map((identity) => ({ identity, weight: 0.5 })))).toBe(highestHash(t, members));
    }
  });

  it.each([
    [[0.85, 1, 1]],
    [[0.5, 1, 1]],
    [[0.2, 1, 1, 1, 1]],
    [[1, 0.3]],
  ])('gives each member a share in proportion to its weight: %j', (weights) => {
    const many = Array.from({ length: 30_000 }, (_, i) => `ns/svc-${i}:443@10.1.${i >> 8}.${i & 255}`);
    const members = weights.map((weight, i) => ({ identity: `replica-${i}`, weight }));
    const c = counts(assignOwners(many, members));
    const total = weights.reduce((a, b) => a + b, 0);
    for (const [i, w] of weights.entries()) {
      const expected = (many.length * w) / total;
      expect(Math.abs((c.get(`replica-${i}`) ?? 0) - expected)).toBeLessThan(0.05 * expected);
    }
  });

  it('moves targets only away from a member whose weight falls (so only back to it when it rises again)', () => {
    const full = assignOwners(targets, ['a', 'b', 'c']);
    const less = assignOwners(targets, [{ identity: 'a', weight: 0.7 }, 'b', 'c']);
    let moved = 0;
    for (const t of targets) {
      if (full.get(t) === less.get(t)) continue;
      moved++;
      expect(full.get(t)).toBe('a');
      expect(['b', 'c']).toContain(less.get(t));
    }
    // From a third of the targets to 0.7/2.7 of them.
    expect(Math.abs(moved - targets.length * (1 / 3 - 0.7 / 2.7))).toBeLessThan(0.3 * targets.length * (1 / 3 - 0.7 / 2.7));
  });

  it('does not depend on the order of weighted members', () => {
    const m = [{ identity: 'a', weight: 0.85 }, 'b', { identity: 'c', weight: 0.4 }];
    for (const t of targets.slice(0, 300)) expect(ownerOf(t, m)).toBe(ownerOf(t, [m[2], m[0], m[1]] as typeof m));
  });
});

describe('Ownership', () => {
  it('gives every target exactly one owner among replicas that share a view', () => {
    const members = ['r1', 'r2', 'r3'];
    const views = members.map((m) => {
      const o = new Ownership(m);
      o.setMembers(members);
      return o;
    });
    for (const t of targets) expect(views.filter((v) => v.owns(t))).toHaveLength(1);
  });

  it('counts itself before it sees its own lease, and reports whether the view changed', () => {
    const o = new Ownership('r1');
    expect(o.current).toEqual(['r1']);
    expect(o.owns('x')).toBe(true);
    expect(o.setMembers(['r2'])).toBe(true);
    expect(o.current).toEqual(['r1', 'r2']);
    expect(o.setMembers(['r2', 'r1'])).toBe(false);
    const owned = targets.filter((t) => o.owns(t)).length;
    expect(owned).toBeGreaterThan(0);
    expect(owned).toBeLessThan(targets.length);
    // A member leaves: the memo is not stale.
    expect(o.setMembers([])).toBe(true);
    expect(targets.every((t) => o.owns(t))).toBe(true);
  });

  it('agrees with the others once they see the weight the leader asked for, and keeps its own weight against an older lease', () => {
    const seen = [{ identity: 'leader', weight: 0.85 }, { identity: 'r2', weight: 1 }, { identity: 'r3', weight: 1 }];
    const leader = new Ownership('leader');
    expect(leader.setSelfWeight(0.85)).toBe(true);
    // A list made before its renewal still shows weight 1: its own weight stands.
    expect(leader.setMembers([{ identity: 'leader', weight: 1 }, 'r2', 'r3'])).toBe(true);
    expect(leader.setMembers(seen)).toBe(false);
    expect(leader.weighted).toEqual(seen);
    const others = ['r2', 'r3'].map((id) => {
      const o = new Ownership(id);
      o.setMembers(seen);
      return o;
    });
    const views = [leader, ...others];
    let led = 0;
    for (const t of targets) {
      expect(views.filter((v) => v.owns(t))).toHaveLength(1);
      if (leader.owns(t)) led++;
    }
    expect(led).toBeLessThan(targets.length / 3);
    expect(led).toBeGreaterThan(targets.length * 0.25);
  });
});
