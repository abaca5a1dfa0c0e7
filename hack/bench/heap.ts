import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dominators, topRetainers } from './retainers.js';

// A V8 heap snapshot of the operator (node --heapsnapshot-signal), summarised:
// what the heap holds, grouped by constructor (objects) or by kind (strings,
// code, arrays), largest first, with counts (self sizes); and the top
// retainers: the objects whose retained size (what would be freed with them,
// from the dominator tree, retainers.ts) is largest, each with what holds it.

/** Sent to an operator started with heapSnapshotNodeOptions: it writes a snapshot into the folder. */
export const HEAP_SNAPSHOT_SIGNAL = 'SIGUSR1';

export function heapSnapshotNodeOptions(dir: string): string {
  return `--heapsnapshot-signal=${HEAP_SNAPSHOT_SIGNAL} --diagnostic-dir=${dir}`;
}

export interface HeapGroup {
  name: string;
  count: number;
  selfMB: number;
}

export interface HeapRetainer {
  /** The object: constructor name, or (kind) and name. */
  name: string;
  /** What holds it: its immediate dominator and, when direct, the edge from it. */
  heldBy: string;
  retainedMB: number;
}

export interface HeapSummary {
  file: string;
  totalMB: number;
  nodes: number;
  groups: HeapGroup[];
  retainers: HeapRetainer[];
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Waits for a complete .heapsnapshot to appear in `dir` (its size stops changing). */
export async function waitForHeapSnapshot(dir: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    const file = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot'));
    if (file !== undefined) {
      const size = (await stat(join(dir, file))).size;
      if (size > 0 && size === last) return join(dir, file);
      last = size;
    }
    await sleep(1_000);
  }
  throw new Error(`no heap snapshot in ${dir} after ${timeoutMs / 1000} s`);
}

export async function summarizeHeapSnapshot(file: string, top = 20): Promise<HeapSummary> {
  const snapshot = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt] ?? 0] ?? 'unknown';
    const size = snapshot.nodes[i + sizeAt] ?? 0;
    total += size;
    // Objects and closures by constructor name; everything else by kind (every string is its own name).
    const name = type === 'object' || type === 'closure' ? `${snapshot.strings[snapshot.nodes[i + nameAt] ?? 0] ?? '?'}${type === 'closure' ? ' (closure)' : ''}` : `(${type})`;
    const group = groups.get(name) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += size;
    groups.set(name, group);
  }
  const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  return {
    file,
    totalMB: mb(total),
    nodes: snapshot.nodes.length / width,
    retainers: retainersOf(snapshot, top),
    groups: [...groups]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([name, g]) => ({ name, count: g.count, selfMB: mb(g.bytes) })),
  };
}

/** The objects retaining the most (weak edges do not retain), described with what holds each. */
function retainersOf(snapshot: Snapshot, top: number): HeapRetainer[] {
  const { node_fields: fields, node_types: nodeTypes, edge_fields: edgeFields, edge_types: edgeTypes } = snapshot.snapshot.meta;
  const width = fields.length;
  const edgeWidth = edgeFields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) => fields.indexOf(f)) as [number, number, number, number];
  const [edgeTypeAt, edgeNameAt, toAt] = ['type', 'name_or_index', 'to_node'].map((f) => edgeFields.indexOf(f)) as [number, number, number];
  const weak = edgeTypes[0].indexOf('weak');
  const named = new Set(['context', 'property', 'internal', 'shortcut', 'weak'].map((t) => edgeTypes[0].indexOf(t)));
  const count = snapshot.nodes.length / width;
  const selfSize = new Float64Array(count);
  const firstEdge = new Int32Array(count + 1);
  const edgeStart = new Int32Array(count + 1); // into snapshot.edges, by edge
  const targets: number[] = [];
  let edge = 0;
  for (let v = 0; v < count; v++) {
    selfSize[v] = snapshot.nodes[v * width + sizeAt] ?? 0;
    firstEdge[v] = targets.length;
    edgeStart[v] = edge;
    const edges = snapshot.nodes[v * width + edgeCountAt] ?? 0;
    for (let e = 0; e < edges; e++, edge++) {
      if (snapshot.edges[edge * edgeWidth + edgeTypeAt] === weak) continue;
      targets.push((snapshot.edges[edge * edgeWidth + toAt] ?? 0) / width);
    }
  }
  firstEdge[count] = targets.length;
  edgeStart[count] = edge;
  const d = dominators({ selfSize, firstEdge, targets });
  const typeOf = (v: number): string => nodeTypes[0][snapshot.nodes[v * width + typeAt] ?? 0] ?? 'unknown';
  const nameOf = (v: number): string => snapshot.strings[snapshot.nodes[v * width + nameAt] ?? 0] ?? '?';
  const describe = (v: number): string => {
    const type = typeOf(v);
    if (type === 'object') return nameOf(v);
    if (type === 'closure') return `${nameOf(v) === '' ? '(anonymous)' : nameOf(v)}()`;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return `(${type}) ${JSON.stringify(nameOf(v).slice(0, 40))}`;
    return `(${type}) ${nameOf(v)}`.trimEnd();
  };
  const edgeName = (from: number, to: number): string | undefined => {
    for (let e = edgeStart[from] ?? 0; e < (edgeStart[from + 1] ?? 0); e++) {
      if ((snapshot.edges[e * edgeWidth + toAt] ?? 0) / width !== to) continue;
      const type = snapshot.edges[e * edgeWidth + edgeTypeAt] ?? 0;
      const name = snapshot.edges[e * edgeWidth + edgeNameAt] ?? 0;
      return named.has(type) ? `.${snapshot.strings[name] ?? '?'}` : `[${name}]`;
    }
    return undefined;
  };
  const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
  return topRetainers(d, top, (v) => typeOf(v) !== 'synthetic').map((v) => {
    const holder = d.idom[v] ?? 0;
    return { name: describe(v), heldBy: `${describe(holder)}${edgeName(holder, v) ?? ' (through several paths)'}`, retainedMB: mb(d.retained[v] ?? 0) };
  });
}

export function formatHeapSummary(s: HeapSummary): string {
  return [
    `heap snapshot ${s.file}: ${s.totalMB} MB in ${s.nodes} objects; largest groups by self size:`,
    ...s.groups.map((g) => `  ${g.selfMB.toFixed(1).padStart(7)} MB  ${String(g.count).padStart(8)}  ${g.name}`),
    'top retainers (retained size: what would be freed with the object; a chain of wrappers shows its innermost link):',
    ...s.retainers.map((r) => `  ${r.retainedMB.toFixed(1).padStart(7)} MB  ${r.name}  <- ${r.heldBy}`),
  ].join('\n');
}
