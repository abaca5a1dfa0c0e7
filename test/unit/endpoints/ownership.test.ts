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
});
