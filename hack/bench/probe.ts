/**
 * `npm run bench -- --scenario probe [--runs N] [--servers modern,intermediate,old] [--no-testssl] [--no-sslyze]`
 * (or `npx tsx hack/bench/probe.ts [flags]`)
 *
 * Times a full scan of one endpoint by certkeeper's prober (median of N, after
 * a warm-up) next to sslscan (median of N), sslyze 6.3 with the checks the
 * prober shares with it (median of N; hack/install-sslyze.sh) and testssl.sh
 * `-p -E` (once: it takes tens of seconds) on the same loopback nginx/haproxy.
 * Prints only.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { probeEndpoint } from '../../src/probe/probe.js';
import { FIXTURE_NAMES, startFixtureSet, type FixtureName } from '../tls/fixtures.js';
import { runSslscan, runTestssl } from '../tls/scanners.js';
import { runSslyze } from '../tls/sslyze.js';
import { median } from './stats.js';

async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

function isFixtureName(value: string): value is FixtureName {
  return FIXTURE_NAMES.some((n) => n === value);
}

export async function runProbeBench(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { runs: { type: 'string' }, servers: { type: 'string' }, 'no-testssl': { type: 'boolean' }, 'no-sslyze': { type: 'boolean' } } });
  const runs = Number(values.runs ?? '9');
  const names = (values.servers ?? 'modern,intermediate,old').split(',').filter(isFixtureName);
  const set = await startFixtureSet(names);
  const rows: string[][] = [['endpoint', 'certkeeper median', 'min', 'max', 'sslscan median', 'sslyze median', 'testssl -p -E', 'testssl / certkeeper']];
  try {
    for (const name of names) {
      const { server, serverName } = set.fixture(name);
      const target = { host: server.host, port: server.port, serverName };
      await probeEndpoint(target);
      const ours: number[] = [];
      for (let i = 0; i < runs; i++) ours.push(await timed(() => probeEndpoint(target)));
      const theirs: number[] = [];
      for (let i = 0; i < runs; i++) theirs.push(await timed(() => runSslscan(server.port, serverName)));
      const sslyze: number[] = [];
      if (values['no-sslyze'] !== true) for (let i = 0; i < runs; i++) sslyze.push((await runSslyze(server.port, serverName, `${set.dir}/bench-sslyze-${name}`)).ms);
      const testssl = values['no-testssl'] === true ? undefined : await timed(() => runTestssl(server.port, `${set.dir}/bench-${name}`));
      const m = median(ours);
      rows.push([
        `${name} (${server.software})`,
        `${m.toFixed(0)} ms`,
        `${Math.min(...ours).toFixed(0)} ms`,
        `${Math.max(...ours).toFixed(0)} ms`,
        `${median(theirs).toFixed(0)} ms`,
        sslyze.length === 0 ? 'skipped' : `${median(sslyze).toFixed(0)} ms`,
        testssl === undefined ? 'skipped' : `${(testssl / 1000).toFixed(1)} s`,
        testssl === undefined ? '' : `${(testssl / m).toFixed(0)}x`,
      ]);
      process.stderr.write(`[bench] ${name} done\n`);
    }
  } finally {
    await set.stop();
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  console.log(`\n${runs} runs each after one warm-up; full scan = versions, every suite per version, order, groups (post-quantum ones too), chain, OCSP, ALPN, resumption (3 rounds), renegotiation, EMS, TLS_FALLBACK_SCSV, Heartbleed, CCS injection. sslyze: versions, suites, curves, EMS, renegotiation, fallback, Heartbleed, CCS injection.`);
  return 0;
}

// Run directly (npx tsx hack/bench/probe.ts), not when hack/bench.ts imports it.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await runProbeBench(process.argv.slice(2));
