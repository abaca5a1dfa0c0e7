import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// A V8 heap snapshot of the operator (node --heapsnapshot-signal), summarised:
// what the heap holds, grouped by constructor (objects) or by kind (strings,
// code, arrays), largest first, with counts. Self sizes: the groups say which
// kinds of objects hold the memory; which of them keeps the rest alive needs
// the snapshot itself in DevTools (kept with --keep-dir).

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

export interface HeapSummary {
  file: string;
  totalMB: number;
  nodes: number;
  groups: HeapGroup[];
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
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
    groups: [...groups]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .slice(0, top)
      .map(([name, g]) => ({ name, count: g.count, selfMB: mb(g.bytes) })),
  };
}

export function formatHeapSummary(s: HeapSummary): string {
  return [
    `heap snapshot ${s.file}: ${s.totalMB} MB in ${s.nodes} objects; largest groups by self size:`,
    ...s.groups.map((g) => `  ${g.selfMB.toFixed(1).padStart(7)} MB  ${String(g.count).padStart(8)}  ${g.name}`),
  ].join('\n');
}
