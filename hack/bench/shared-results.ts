/**
 * `npm run bench -- --scenario shared-results [--results N] [--runs R]`
 *
 * What probe sharing's documents cost (src/endpoints/shared-results.ts): a
 * replica writes one for every change during a scan, holding every result it
 * owns, and the leader reads each one. One real full-scan result (the
 * "intermediate" nginx fixture, judged by one policy) is copied N times, one
 * per address, as the scale-out bench's 1,000 identical addresses make them.
 * Timed in this process, median of R after a warm-up:
 * - writing: version 1 (each result an object in one JSON document, default
 *   gzip level; rebuilt here as the replicas before it wrote it) against
 *   version 2, with a new encoder (every result written) and a warm one (the
 *   same results again: the common case during a scan);
 * - reading at the leader: version 1 read whole; version 2 when it holds
 *   every result already (nothing is read past the entries) and when it holds
 *   none (every result read).
 * Prints and writes JSON; asserts nothing.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { EndpointResult } from '../../src/endpoints/results.js';
import { decodeSharedResults, SharedResultsEncoder } from '../../src/endpoints/shared-results.js';
import { probeFullScan } from '../../src/endpoints/probe.js';
import { startFixtureSet } from '../tls/fixtures.js';
import { parseScenarioArgs, positiveInt } from './options.js';
import { fullScanTarget } from './scan-target.js';
import { median } from './stats.js';

export const SHARED_RESULTS_USAGE = `usage: npm run bench -- --scenario shared-results [flags]
  --results N   results per document (default 350: a third of the scale-out bench's 1,000)
  --runs R      timed repetitions of each step, median printed (default 30)
  --json FILE   also write the JSON result to FILE`;

interface Step {
  name: string;
  ms: number;
  bytes?: number;
}

function timed(runs: number, action: () => void): number {
  for (let i = 0; i < 5; i++) action();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    action();
    ms.push(performance.now() - t);
  }
  return Math.round(median(ms) * 1000) / 1000;
}

async function oneRealResult(): Promise<Omit<EndpointResult, 'since'>> {
  const set = await startFixtureSet(['intermediate']);
  try {
    const { server, serverName } = set.fixture('intermediate');
    const target = fullScanTarget({ namespace: 'bench', service: 'web', port: 443, address: server.host, targetPort: server.port, serverName, policy: 'bench-policy' });
    return await probeFullScan(target, { now: () => new Date() });
  } finally {
    await set.stop();
  }
}

function readAll(data: Buffer): void {
  const doc = decodeSharedResults(data);
  if ('error' in doc) throw new Error(doc.error);
  for (const entry of doc.results.values()) if (!entry.read().ok) throw new Error('unreadable result');
}

interface Options {
  results: number;
  runs: number;
  json: string | undefined;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({ args: argv, strict: true, options: { results: { type: 'string' }, runs: { type: 'string' }, json: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help === true) return 'help';
  return { results: positiveInt('results', values.results, 350, { max: 20_000 }), runs: positiveInt('runs', values.runs, 30, { max: 10_000 }), json: values.json };
}

export async function runSharedResultsScenario(argv: string[], _signal: AbortSignal, log: (line: string) => void): Promise<number> {
  const options = parseScenarioArgs(argv, parse, SHARED_RESULTS_USAGE);
  if (typeof options === 'number') return options;
  const { results: n, runs } = options;
  log('one full scan of the intermediate nginx fixture');
  const real = await oneRealResult();
  // One object per address, as each replica holds them (the same outcome, its own times).
  const entries: [string, EndpointResult][] = Array.from({ length: n }, (_, i) => [
    `bench-${i % 10}/scale-${String(i).padStart(4, '0')}:443@10.250.${i >> 8}.${i & 255}#`,
    { ...real, probedAt: real.probedAt + i * 37, durationMs: real.durationMs + (i % 97), since: real.probedAt + i * 37 },
  ]);
  const v1 = (): Buffer => gzipSync(JSON.stringify({ v: 1, sender: 'bench', at: 0, results: entries }));
  const warm = new SharedResultsEncoder();
  const v1Data = v1();
  const v2Data = warm.encode('bench', 0, entries).data;
  const steps: Step[] = [
    { name: 'write, version 1 (before)', ms: timed(runs, v1), bytes: v1Data.length },
    { name: 'write, version 2, every result new', ms: timed(runs, () => new SharedResultsEncoder().encode('bench', 0, entries)), bytes: v2Data.length },
    { name: 'write, version 2, results written before', ms: timed(runs, () => warm.encode('bench', 0, entries)) },
    { name: 'leader reads version 1 (whole)', ms: timed(runs, () => readAll(v1Data)) },
    { name: 'leader reads version 2, holding every result', ms: timed(runs, () => decodeSharedResults(v2Data)) },
    { name: 'leader reads version 2, holding none', ms: timed(runs, () => readAll(v2Data)) },
  ];
  const result = { results: n, runs, resultJsonBytes: JSON.stringify(entries[0]?.[1]).length, node: process.version, steps };
  process.stdout.write(
    [
      `certkeeper bench, shared results: documents of ${n} results (one real full-scan result of ${result.resultJsonBytes} bytes of JSON, copied), median of ${runs}, node ${process.version}`,
      ...steps.map((s) => `  ${s.name.padEnd(48)} ${s.ms.toFixed(2).padStart(7)} ms${s.bytes === undefined ? '' : `  (${s.bytes} bytes gzipped)`}`),
      '',
      JSON.stringify(result, null, 2),
      '',
    ].join('\n'),
  );
  if (options.json !== undefined) await writeFile(options.json, `${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
