import { describe, expect, it } from 'vitest';
import { dominators, topRetainers, type HeapGraph } from '../../../hack/bench/retainers.js';

// The bench's heap-snapshot retainers: dominator tree and retained sizes.

function graph(sizes: number[], edges: Record<number, number[]>): HeapGraph {
  const firstEdge: number[] = [];
  const targets: number[] = [];
  sizes.forEach((_, v) => {
    firstEdge.push(targets.length);
    targets.push(...(edges[v] ?? []));
  });
  firstEdge.push(targets.length);
  return { selfSize: sizes, firstEdge, targets };
}

describe('dominators', () => {
  it('charges an object reachable only through another to that one', () => {
    // 0 -> 1 -> 2 -> 3; 0 -> 4
    const d = dominators(graph([0, 10, 20, 30, 5], { 0: [1, 4], 1: [2], 2: [3] }));
    expect([...d.idom]).toEqual([0, 0, 1, 2, 0]);
    expect([...d.retained]).toEqual([65, 60, 50, 30, 5]);
  });

  it('charges an object shared by two holders to their common dominator', () => {
    // 0 -> 1, 0 -> 2, both -> 3 (shared), 3 -> 4
    const d = dominators(graph([0, 1, 2, 100, 7], { 0: [1, 2], 1: [3], 2: [3], 3: [4] }));
    expect([...d.idom]).toEqual([0, 0, 0, 0, 3]);
    expect(d.retained[1]).toBe(1);
    expect(d.retained[2]).toBe(2);
    expect(d.retained[3]).toBe(107);
    expect(d.retained[0]).toBe(110);
  });

  it('handles cycles and leaves unreachable objects out', () => {
    // 0 -> 1 -> 2 -> 1 (cycle), 2 -> 3; node 4 unreachable (4 -> 3)
    const d = dominators(graph([0, 4, 6, 8, 50], { 0: [1], 1: [2], 2: [1, 3], 4: [3] }));
    expect([...d.idom]).toEqual([0, 0, 1, 2, -1]);
    expect([...d.retained]).toEqual([18, 18, 14, 8, 0]);
  });

  it('follows a loop entered from two sides to the right dominator', () => {
    // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 4, 3 <-> 4
    const d = dominators(graph([0, 1, 1, 1, 1], { 0: [1, 2], 1: [3], 2: [4], 3: [4], 4: [3] }));
    expect([...d.idom]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('topRetainers', () => {
  it('names the innermost link of a chain of wrappers, then the next largest', () => {
    // 0 -> 1 (wrapper) -> 2 (holds it all: 3 and 4) ; 0 -> 5
    const d = dominators(graph([0, 1, 1, 60, 40, 30], { 0: [1, 5], 1: [2], 2: [3, 4] }));
    const top = topRetainers(d, 3, (v) => v !== 0);
    expect(top).toEqual([2, 3, 4]);
  });
});
