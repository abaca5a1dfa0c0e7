import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// process.memoryUsage() of the operator as it runs, which Linux's figures
// (proc.ts) cannot split: the V8 heap, memory outside it (external), and of
// that the ArrayBuffers (Buffers). A preload module (NODE_OPTIONS --import)
// samples it every SAMPLE_MS and keeps the sample with the highest RSS (what
// the peak was made of) and the highest value of each field, written to a
// file each second and at exit. A few KB of heap and a timer; opt-in
// (--memory-usage) all the same.

const SAMPLE_MS = 100;
const WRITE_MS = 1_000;

export interface MemoryUsageMB {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface MemoryUsageTrace {
  /** The sample with the highest RSS. */
  atPeakRss: MemoryUsageMB;
  /** The highest value of each field (not from one sample). */
  max: MemoryUsageMB;
  /** The latest sample. */
  last: MemoryUsageMB;
  samples: number;
  /** One sample a second since the preload ran: [seconds, rss, heapUsed, heapTotal, external], MiB. */
  timeline?: [number, number, number, number, number][];
}

export function memoryUsageFile(dir: string, pid: number): string {
  return join(dir, `memory-usage.${pid}.json`);
}

/** Writes the preload into `dir`; returns the NODE_OPTIONS that load it. */
export async function memoryUsageNodeOptions(dir: string): Promise<string> {
  const preload = join(dir, 'memory-usage-preload.mjs');
  const source = `// Written by hack/bench/memory-usage.ts: process.memoryUsage() samples of this process.
import { writeFileSync } from 'node:fs';
const MB = 1024 * 1024;
const mb = (u) => ({ rss: u.rss / MB, heapTotal: u.heapTotal / MB, heapUsed: u.heapUsed / MB, external: u.external / MB, arrayBuffers: u.arrayBuffers / MB });
let atPeakRss, max, last, samples = 0;
const timeline = [];
const started = Date.now();
const r1 = (v) => Math.round(v * 10) / 10;
const sample = () => {
  last = mb(process.memoryUsage());
  samples++;
  const t = Math.floor((Date.now() - started) / 1000);
  if (timeline.length === 0 || timeline[timeline.length - 1][0] < t) timeline.push([t, r1(last.rss), r1(last.heapUsed), r1(last.heapTotal), r1(last.external)]);
  if (atPeakRss === undefined || last.rss > atPeakRss.rss) atPeakRss = last;
  max = max === undefined ? { ...last } : Object.fromEntries(Object.entries(last).map(([k, v]) => [k, Math.max(v, max[k])]));
};
const file = ${JSON.stringify(dir)} + '/memory-usage.' + process.pid + '.json';
const write = () => writeFileSync(file, JSON.stringify({ atPeakRss, max, last, samples, timeline }));
sample();
setInterval(sample, ${SAMPLE_MS}).unref();
setInterval(write, ${WRITE_MS}).unref();
process.on('exit', () => { sample(); write(); });
`;
  await writeFile(preload, source);
  return `--import=${pathToFileURL(preload).href}`;
}

/** What the preload wrote last, undefined when nothing yet. */
export async function readMemoryUsage(dir: string, pid: number): Promise<MemoryUsageTrace | undefined> {
  try {
    return JSON.parse(await readFile(memoryUsageFile(dir, pid), 'utf8')) as MemoryUsageTrace;
  } catch {
    return undefined;
  }
}

export function formatMemoryUsage(m: MemoryUsageMB): string {
  return `rss ${m.rss.toFixed(1)}, heap ${m.heapUsed.toFixed(1)}/${m.heapTotal.toFixed(1)} used/total, external ${m.external.toFixed(1)} (ArrayBuffers ${m.arrayBuffers.toFixed(1)}) MB`;
}

/** The timeline as `s:rss/heapUsed` pairs, one a second. */
export function formatMemoryTimeline(t: MemoryUsageTrace): string {
  return (t.timeline ?? []).map(([s, rss, heapUsed]) => `${s}:${rss.toFixed(0)}/${heapUsed.toFixed(0)}`).join(' ');
}
