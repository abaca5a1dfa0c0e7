/**
 * `npm run bench -- [--count N] [--key-algorithm ECDSA|RSA] [--workers W] [--json out.json]`
 * `npm run bench -- --scenario inventory|acme|endpoints|probe|startup|scale-out|shared-results [flags]`
 *
 * Measures the compiled operator issuing N Certificates from a CA against a
 * real kube-apiserver: time until all are Ready, its CPU and peak memory, the
 * API requests it makes (from the apiserver's audit log), and what it does
 * when idle; the scenarios measure other work the same way. Not a test: it
 * measures and prints. Progress goes to stderr; stdout gets the report and
 * the JSON result. See hack/bench/.
 */
import { writeFile } from 'node:fs/promises';
import { BENCH_USAGE, parseBenchOptions, parseScenarioArgs } from './bench/options.js';
import { formatProfile } from './bench/profile.js';
import { formatHeapSummary } from './bench/heap.js';
import { formatReport } from './bench/report.js';
import { BenchFailure, runBench } from './bench/run.js';
import { runInventoryScenario } from './bench/inventory.js';
import { runAcmeScenario } from './bench/acme.js';
import { scenarioArgs } from './bench/scenario.js';
import { runEndpointsScenario } from './bench/endpoints.js';

const SIGNAL_REPEAT_MS = 1_000;

type Log = (line: string) => void;

const log: Log = (line) => {
  process.stderr.write(`[bench] ${line}\n`);
};

/** The Certificates bench (no --scenario): issuance from a CA, then an idle phase. */
async function runCertificates(argv: string[], signal: AbortSignal): Promise<number> {
  const options = parseScenarioArgs(argv, parseBenchOptions, BENCH_USAGE);
  if (typeof options === 'number') return options;
  const { result, profiles, heap } = await runBench(options, signal, log);
  const json = JSON.stringify(heap === undefined ? result : { ...result, heapSnapshot: heap }, null, 2);
  process.stdout.write(`\n${formatReport(result)}\n`);
  for (const profile of profiles) process.stdout.write(`\n${formatProfile(profile)}\n`);
  if (heap !== undefined) process.stdout.write(`\n${formatHeapSummary(heap)}\n`);
  process.stdout.write(`\n${json}\n`);
  if (options.json !== undefined) {
    await writeFile(options.json, `${json}\n`);
    log(`JSON written to ${options.json}`);
  }
  return 0;
}

const SCENARIOS: Record<string, (argv: string[], signal: AbortSignal, log: Log) => Promise<number>> = {
  inventory: runInventoryScenario,
  acme: runAcmeScenario,
  endpoints: runEndpointsScenario,
  probe: async (argv) => (await import('./bench/probe.js')).runProbeBench(argv),
  startup: async (argv, signal, log) => (await import('./bench/startup.js')).runStartupScenario(argv, signal, log),
  'scale-out': async (argv, signal, l) => (await import('./bench/scale-out.js')).runScaleOutScenario(argv, signal, l),
  'shared-results': async (argv, signal, l) => (await import('./bench/shared-results.js')).runSharedResultsScenario(argv, signal, l),
};

/** The scenario asked for with --scenario, or the Certificates bench, with the remaining arguments. */
function pick(argv: readonly string[]): { run: (argv: string[], signal: AbortSignal) => Promise<number>; args: string[] } {
  for (const [name, run] of Object.entries(SCENARIOS)) {
    const args = scenarioArgs(argv, name);
    if (args !== undefined) return { run: (a, signal) => run(a, signal, log), args };
  }
  return { run: runCertificates, args: [...argv] };
}

async function main(): Promise<number> {
  const { run, args } = pick(process.argv.slice(2));
  const abort = new AbortController();
  let firstSignalAt: number | undefined;
  const onSignal = (name: NodeJS.Signals): void => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      log(`${name}: stopping the operator and the environment (again to exit at once)`);
      abort.abort(new Error(`interrupted by ${name}`));
    } else if (Date.now() - firstSignalAt > SIGNAL_REPEAT_MS) {
      // The environment's and the bench's exit hooks SIGKILL every child.
      process.exit(130);
    }
    // A repeat within SIGNAL_REPEAT_MS is the same Ctrl-C: the terminal signals
    // the whole process group and tsx relays it to this process once more.
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run(args, abort.signal);
  } catch (error) {
    if (abort.signal.aborted) {
      log('interrupted; everything it started is stopped');
      return 130;
    }
    const message = error instanceof BenchFailure ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`[bench] FAILED: ${message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main();
