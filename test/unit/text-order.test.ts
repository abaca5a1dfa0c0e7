import { describe, expect, it } from 'vitest';
import { compareText } from '../../src/text-order.js';

describe('compareText', () => {
  it('orders by code unit, the same on every runtime and locale', () => {
    expect(['b', 'a-b', 'a', 'B', 'a.b', 'a0', 'é', 'z'].sort(compareText)).toEqual(['B', 'a', 'a-b', 'a.b', 'a0', 'b', 'z', 'é']);
    expect(compareText('x', 'x')).toBe(0);
  });

  it('agrees with localeCompare on lowercase DNS-1123 names (policy and namespace names)', () => {
    const names = ['web-2', 'web', 'web-10', 'api', 'a1', 'a-1', 'team-b', 'team-a'];
    expect([...names].sort(compareText)).toEqual([...names].sort((a, b) => a.localeCompare(b)));
  });
});
