// Who keeps a heap's memory alive: the dominator tree of a heap graph and
// each object's retained size (its own size plus everything reachable only
// through it), with the Cooper–Harvey–Kennedy iterative algorithm ("A Simple,
// Fast Dominance Algorithm", 2001). Pure: heap.ts feeds it a V8 snapshot.

/** A heap graph in flat arrays: node i's successors are `targets[firstEdge[i] .. firstEdge[i + 1])`; node 0 is the root. */
export interface HeapGraph {
  selfSize: ArrayLike<number>;
  firstEdge: ArrayLike<number>;
  targets: ArrayLike<number>;
}

export interface Dominators {
  /** Immediate dominator of each node; the root's is itself, an unreachable node's -1. */
  idom: Int32Array;
  /** Self size plus the retained sizes of the nodes it immediately dominates; 0 when unreachable. */
  retained: Float64Array;
}

export function dominators(g: HeapGraph): Dominators {
  const n = g.selfSize.length;
  // Post-order of a depth-first walk from the root (iterative: heaps are deep).
  const post = new Int32Array(n).fill(-1); // node -> post-order number
  const order = new Int32Array(n); // post-order number -> node
  const visited = new Uint8Array(n);
  const stack = new Int32Array(n);
  const nextEdge = new Int32Array(n);
  let top = 0;
  let count = 0;
  if (n > 0) {
    stack[top++] = 0;
    visited[0] = 1;
    nextEdge[0] = g.firstEdge[0] ?? 0;
  }
  while (top > 0) {
    const v = stack[top - 1] ?? 0;
    const end = g.firstEdge[v + 1] ?? 0;
    let e = nextEdge[v] ?? 0;
    while (e < end && visited[g.targets[e] ?? 0] === 1) e++;
    if (e < end) {
      const w = g.targets[e] ?? 0;
      nextEdge[v] = e + 1;
      visited[w] = 1;
      nextEdge[w] = g.firstEdge[w] ?? 0;
      stack[top++] = w;
    } else {
      top--;
      post[v] = count;
      order[count++] = v;
    }
  }
  // Predecessors of reachable nodes, as flat arrays.
  const predCount = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (post[v] === -1) continue;
    for (let e = g.firstEdge[v] ?? 0; e < (g.firstEdge[v + 1] ?? 0); e++) {
      const w = (g.targets[e] ?? 0) + 1;
      predCount[w] = (predCount[w] ?? 0) + 1;
    }
  }
  for (let i = 0; i < n; i++) predCount[i + 1] = (predCount[i + 1] ?? 0) + (predCount[i] ?? 0);
  const preds = new Int32Array(predCount[n] ?? 0);
  const fill = predCount.slice(0, n);
  for (let v = 0; v < n; v++) {
    if (post[v] === -1) continue;
    for (let e = g.firstEdge[v] ?? 0; e < (g.firstEdge[v + 1] ?? 0); e++) {
      const w = g.targets[e] ?? 0;
      const at = fill[w] ?? 0;
      preds[at] = v;
      fill[w] = at + 1;
    }
  }
  // Immediate dominators, by post-order number, until nothing changes.
  const idomPost = new Int32Array(count).fill(-1);
  if (count > 0) idomPost[count - 1] = count - 1; // the root finishes last
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (a < b) a = idomPost[a] ?? b;
      while (b < a) b = idomPost[b] ?? a;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let p = count - 2; p >= 0; p--) {
      const v = order[p] ?? 0;
      let candidate = -1;
      for (let i = predCount[v] ?? 0; i < (predCount[v + 1] ?? 0); i++) {
        const q = post[preds[i] ?? 0] ?? -1;
        if (q === -1 || idomPost[q] === -1) continue;
        candidate = candidate === -1 ? q : intersect(q, candidate);
      }
      if (candidate !== -1 && idomPost[p] !== candidate) {
        idomPost[p] = candidate;
        changed = true;
      }
    }
  }
  const idom = new Int32Array(n).fill(-1);
  const retained = new Float64Array(n);
  for (let p = 0; p < count; p++) {
    const v = order[p] ?? 0;
    idom[v] = order[idomPost[p] ?? p] ?? v;
    retained[v] = g.selfSize[v] ?? 0;
  }
  // A dominator finishes after every node it dominates: one pass in post-order sums them up.
  for (let p = 0; p < count - 1; p++) {
    const v = order[p] ?? 0;
    const d = idom[v] ?? 0;
    retained[d] = (retained[d] ?? 0) + (retained[v] ?? 0);
  }
  return { idom, retained };
}

/**
 * The nodes that hold the most, most specific first: by retained size, but a
 * node is left out when one node it dominates retains nearly all of it
 * (`share`), so a chain of wrappers is shown once, by its innermost link.
 */
export function topRetainers(d: Dominators, limit: number, isCandidate: (node: number) => boolean, share = 0.95): number[] {
  const n = d.idom.length;
  const largestChild = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const p = d.idom[v] ?? -1;
    if (p === -1 || p === v) continue;
    largestChild[p] = Math.max(largestChild[p] ?? 0, d.retained[v] ?? 0);
  }
  const candidates: number[] = [];
  for (let v = 0; v < n; v++) {
    if ((d.idom[v] ?? -1) === -1 || !isCandidate(v)) continue;
    if ((largestChild[v] ?? 0) >= share * (d.retained[v] ?? 0)) continue;
    candidates.push(v);
  }
  return candidates.sort((a, b) => (d.retained[b] ?? 0) - (d.retained[a] ?? 0)).slice(0, limit);
}
