import { readdir, readFile, writeFile } from 'node:fs/promises';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// A summary of a V8 .cpuprofile (node --cpu-prof): where the operator's CPU
// time went, by area (a package, a folder of src/, node internals, GC) and
// by function, self and inclusive. The operator runs as a bundle (dist/), so
// frames are first mapped back through its source maps to the file each
// function came from: src/... for certkeeper, node_modules/... for a package.

/** Sent to a profiled operator when every Certificate is Ready: it saves the issuance profile and starts the next. */
export const PROFILE_SPLIT_SIGNAL = 'SIGUSR2';

/**
 * Node 20 refuses --cpu-prof in NODE_OPTIONS, and the operator is started by
 * hack/env with no way to add node flags; --import is allowed. So the
 * operator gets a preload module, written into `dir` now, that profiles it
 * through node:inspector from the first import. On PROFILE_SPLIT_SIGNAL it
 * saves `CPU.<pid>.1-until-ready.cpuprofile` and starts again; at exit it
 * saves `CPU.<pid>.2-after-ready.cpuprofile` (or `1-whole-run` if never
 * split). Returns the NODE_OPTIONS that load it.
 */
export async function cpuProfilerNodeOptions(dir: string, samplingIntervalUs = 1000): Promise<string> {
  const preload = join(dir, 'cpu-profiler-preload.mjs');
  const source = `// Written by hack/bench/profile.ts: V8 CPU profiles of this process.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: ${samplingIntervalUs} });
session.post('Profiler.start');
let split = false;
// Same-thread inspector sessions answer synchronously, so a save completes before the next line.
const save = (label) =>
  session.post('Profiler.stop', (error, result) => {
    if (error === null && result !== undefined) {
      writeFileSync(${JSON.stringify(dir)} + '/CPU.' + process.pid + '.' + label + '.cpuprofile', JSON.stringify(result.profile));
    }
  });
process.on(${JSON.stringify(PROFILE_SPLIT_SIGNAL)}, () => {
  if (split) return;
  split = true;
  save('1-until-ready');
  session.post('Profiler.start');
});
process.on('exit', () => save(split ? '2-after-ready' : '1-whole-run'));
`;
  await writeFile(preload, source);
  return `--import=${pathToFileURL(preload).href}`;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber?: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface TimeShare {
  name: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  byArea: TimeShare[];
  selfTop: TimeShare[];
  /** Inclusive time of the operator's own functions (src/). */
  inclusiveTop: TimeShare[];
}

function isCpuProfile(value: unknown): value is CpuProfile {
  const p = value as Partial<CpuProfile> | null;
  return Array.isArray(p?.nodes) && Array.isArray(p.samples) && Array.isArray(p.timeDeltas);
}

function pathOf(url: string): string {
  return url.startsWith('file://') ? fileURLToPath(url) : url;
}

/** "node_modules/@peculiar/x509", "src/kube/", "src/main.ts", "node:internal", "(garbage collector)" (dist/... for a frame no source map explains). */
export function areaOf(frame: CallFrame): string {
  const path = pathOf(frame.url);
  if (path === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (modules?.[1] !== undefined) return `node_modules/${modules[1]}`;
  const own = /\/(src|dist)\/([^/]+)(\/|$)/.exec(path);
  if (own?.[1] !== undefined && own[2] !== undefined) return /\.[jt]s$/.test(own[2]) ? `${own[1]}/${own[2]}` : `${own[1]}/${own[2]}/`;
  if (path.startsWith('node:')) return path.split('/')[0] ?? path;
  return path;
}

/** A frame of certkeeper's own code (not a package's). */
function isOwnCode(frame: CallFrame): boolean {
  return /\/(src|dist)\//.test(pathOf(frame.url)) && !frame.url.includes('node_modules');
}

/**
 * The profile with every frame in a bundle file that has a source map moved
 * to where its function came from (file, line). Frames the maps do not
 * cover keep the bundle's position.
 */
async function mapProfileToSources(profile: CpuProfile): Promise<CpuProfile> {
  const maps = new Map<string, { map: SourceMap; dir: string } | undefined>();
  const mapOf = async (url: string): Promise<{ map: SourceMap; dir: string } | undefined> => {
    if (!maps.has(url)) {
      const file = `${fileURLToPath(url)}.map`;
      const loaded = await readFile(file, 'utf8').then(
        (text) => ({ map: new SourceMap(JSON.parse(text) as SourceMapPayload), dir: dirname(file) }),
        () => undefined,
      );
      maps.set(url, loaded);
    }
    return maps.get(url);
  };
  const nodes: ProfileNode[] = [];
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const found = frame.url.startsWith('file://') && frame.url.endsWith('.js') ? await mapOf(frame.url) : undefined;
    const entry = found?.map.findEntry(frame.lineNumber, frame.columnNumber ?? 0);
    if (found === undefined || entry === undefined || !('originalSource' in entry)) {
      nodes.push(node);
      continue;
    }
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : isAbsolute(entry.originalSource) ? entry.originalSource : resolve(found.dir, entry.originalSource);
    nodes.push({ ...node, callFrame: { ...frame, url: pathToFileURL(source).href, lineNumber: entry.originalLine, columnNumber: entry.originalColumn } });
  }
  return { ...profile, nodes };
}

function functionLabel(frame: CallFrame): string {
  const path = pathOf(frame.url);
  const short = path.replace(/^.*node_modules\//, '').replace(/^.*\/(src|dist)\//, '$1/');
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return short === '' ? name : `${name} ${short}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, number>, totalMs: number, n: number): TimeShare[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({ name, ms: us / 1000, percent: totalMs === 0 ? 0 : (100 * us) / 1000 / totalMs }));
}

export function summarizeCpuProfile(profile: unknown, file: string, n = 15): ProfileSummary {
  if (!isCpuProfile(profile)) throw new Error(`${file} is not a V8 CPU profile`);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfByNode = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    totalUs += delta;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + delta);
  });
  const byArea = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfByNode) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const area = areaOf(node.callFrame);
    if (area === '(idle)') continue;
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const label = functionLabel(node.callFrame);
    selfByFunction.set(label, (selfByFunction.get(label) ?? 0) + us);
    // Each operator function on this stack, once even when recursive.
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (frame !== undefined && isOwnCode(frame)) onStack.add(functionLabel(frame));
    }
    for (const label2 of onStack) inclusive.set(label2, (inclusive.get(label2) ?? 0) + us);
  }
  const idleUs = [...selfByNode].reduce((sum, [id, us]) => (byId.get(id)?.callFrame.functionName === '(idle)' ? sum + us : sum), 0);
  const busyMs = (totalUs - idleUs) / 1000;
  return {
    file,
    totalMs: busyMs,
    byArea: top(byArea, busyMs, n),
    selfTop: top(selfByFunction, busyMs, n),
    inclusiveTop: top(inclusive, busyMs, n),
  };
}

/** Summaries of every .cpuprofile in `dir`. */
export async function summarizeProfiles(dir: string): Promise<ProfileSummary[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const summaries: ProfileSummary[] = [];
  for (const f of files) {
    const path = join(dir, f);
    const profile = JSON.parse(await readFile(path, 'utf8')) as unknown;
    summaries.push(summarizeCpuProfile(isCpuProfile(profile) ? await mapProfileToSources(profile) : profile, path));
  }
  return summaries;
}

export function formatProfile(summary: ProfileSummary): string {
  const lines = [`CPU profile ${summary.file}: ${(summary.totalMs / 1000).toFixed(1)} s busy`];
  const section = (title: string, shares: readonly TimeShare[]): void => {
    lines.push(`  ${title}:`);
    for (const s of shares) lines.push(`    ${s.percent.toFixed(1).padStart(5)}%  ${(s.ms / 1000).toFixed(2).padStart(7)} s  ${s.name}`);
  };
  section('self time by area', summary.byArea);
  section('self time by function', summary.selfTop);
  section('inclusive time, operator code (src/)', summary.inclusiveTop);
  return lines.join('\n');
}
