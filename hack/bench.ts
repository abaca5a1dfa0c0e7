/**
 * `npm run bench -- [--count N] [--key-algorithm ECDSA|RSA] [--workers W] [--json out.json]`
 *
 * Measures the compiled operator issuing N Certificates from a CA against a
 * real kube-apiserver: time until all are Ready, its CPU and peak memory, the
 * API requests it makes (from the apiserver's audit log), and what it does
 * when idle. Not a test: it measures and prints. Progress goes to stderr;
 * stdout gets the report and the JSON result. See hack/bench/.
 */
import { writeFile } from 'node:fs/promises';
import { BENCH_USAGE, parseBenchOptions, UsageError } from './bench/options.js';
import { formatProfile } from './bench/profile.js';
import { formatReport } from './bench/report.js';
import { BenchFailure, runBench } from './bench/run.js';
import { inventoryScenarioArgs, runInventoryScenario } from './bench/inventory.js';
import { acmeScenarioArgs, runAcmeScenario } from './bench/acme.js';
import { scenarioArgs } from './bench/scenario.js';
import { runEndpointsScenario } from './bench/endpoints.js';

const SIGNAL_REPEAT_MS = 1_000;

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

async function main(): Promise<number> {
  const inventoryArgs = inventoryScenarioArgs(process.argv.slice(2));
  if (inventoryArgs !== undefined) return runInventoryScenario(inventoryArgs, log);
  const acmeArgs = acmeScenarioArgs(process.argv.slice(2));
  if (acmeArgs !== undefined) return runAcmeScenario(acmeArgs, log);
  const endpointsArgs = scenarioArgs(process.argv.slice(2), 'endpoints');
  if (endpointsArgs !== undefined) return runEndpointsScenario(endpointsArgs, log);
  const probeArgs = scenarioArgs(process.argv.slice(2), 'probe');
  if (probeArgs !== undefined) return (await import('./bench/probe.js')).runProbeBench(probeArgs);
  let options;
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n${BENCH_USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${BENCH_USAGE}\n`);
    return 0;
  }

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
    const { result, profiles } = await runBench(options, abort.signal, log);
    const json = JSON.stringify(result, null, 2);
    process.stdout.write(`\n${formatReport(result)}\n`);
    for (const profile of profiles) process.stdout.write(`\n${formatProfile(profile)}\n`);
    process.stdout.write(`\n${json}\n`);
    if (options.json !== undefined) {
      await writeFile(options.json, `${json}\n`);
      log(`JSON written to ${options.json}`);
    }
    return 0;
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
