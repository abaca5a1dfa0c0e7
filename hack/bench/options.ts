import { parseArgs } from 'node:util';

// Command-line settings of `npm run bench -- [flags]`.

export const BENCH_KEY_ALGORITHMS = ['ECDSA', 'RSA'] as const;
export type BenchKeyAlgorithm = (typeof BENCH_KEY_ALGORITHMS)[number];

export interface BenchOptions extends ClusterFlagValues {
  /** Certificates to create and wait for. */
  count: number;
  keyAlgorithm: BenchKeyAlgorithm;
  /** The operator's --workers. */
  workers: number;
  /** Certificate creations in flight at once. */
  createConcurrency: number;
  /** Give up when not every Certificate is Ready this long after the operator started. */
  timeoutSeconds: number;
  /** Quiet time after the last Ready before the idle measurement (trailing work lands here). */
  settleSeconds: number;
  /** Length of the idle measurement. */
  idleSeconds: number;
  /** The operator's --log-level. */
  logLevel: string;
  /** Write a V8 CPU profile of the operator into this folder (through node:inspector) and summarise it. */
  cpuProfDir: string | undefined;
  /** Take a V8 heap snapshot of the operator into this folder after the idle phase, and summarise it. */
  heapSnapshotDir: string | undefined;
  /**
   * Take that snapshot while the backlog drains, once this percentage of the
   * Certificates is Ready, instead of after the idle phase (what is retained
   * mid-work; writing it pauses the operator, so the run's timings are off).
   */
  heapSnapshotAtPercent: number | undefined;
  /** Extra NODE_OPTIONS for the operator process (e.g. --max-old-space-size=96, --import ./patch.mjs). */
  nodeOptions: string | undefined;
  /** Node flags instead of the image's (OPERATOR_NODE_FLAGS), for flags NODE_OPTIONS refuses; [] for none. */
  nodeFlags: string[] | undefined;
  /** Environment instead of the image's (OPERATOR_ENV), e.g. MALLOC_ARENA_MAX=8; {} for none. */
  operatorEnv: Record<string, string> | undefined;
  /** Secrets (the inventory scenario's) in the cluster beside the Certificates, created before the operator starts; 0 for none. */
  secrets: number;
  /** Of `secrets`, how many are kubernetes.io/tls. */
  tlsSecrets: number;
  /** Sample the operator's process.memoryUsage() (a preload module) and report what its peak was made of. */
  memoryUsage: boolean;
  /** Do not scrape the operator's /metrics (heap and reconcile figures are then unknown). */
  noMetrics: boolean;
}

export const BENCH_USAGE = `usage: npm run bench -- [flags]
  --count N               Certificates to issue (default 1000)
  --key-algorithm ALG     ECDSA (P-256, default) or RSA (2048)
  --workers W             operator workers (default 16, as the operator)
  --json FILE             also write the JSON result to FILE
  --create-concurrency C  creations in flight (default 20)
  --timeout S             give up after S seconds without every Certificate Ready (default 600)
  --settle S              pause after the last Ready before the idle phase (default 5)
  --idle S                idle phase length (default 10)
  --log-level L           operator log level (default info)
  --cpu-prof DIR          profile the operator (V8 CPU profile) into DIR and print the hottest code
  --heap-snapshot DIR     after the idle phase, write a heap snapshot of the operator into DIR and print its largest groups
  --heap-snapshot-at PCT  take that snapshot mid-drain instead, once PCT % are Ready (1-99; the pause skews the run's timings)
  --node-options=OPTS     extra NODE_OPTIONS for the operator (e.g. --node-options=--max-old-space-size=96)
  --node-flags=FLAGS      node flags for the operator (default the image's: --max-semi-space-size=2 --heap-growing-percent=30; "" for none)
  --operator-env=K=V,...  the operator's environment instead of the image's (default MALLOC_ARENA_MAX=1; "" for none)
  --secrets N             also N Secrets in the cluster, read by the operator's inventory while the backlog drains (default 0;
                          issue 11's memory target: --secrets 10000 --tls-secrets 2000)
  --tls-secrets M         of those, M kubernetes.io/tls (default a fifth of --secrets)
  --memory-usage          sample the operator's process.memoryUsage() every 100 ms (a preload) and print its heap,
                          external and ArrayBuffers at the peak RSS, at the most and at the end
  --no-metrics            do not scrape the operator's /metrics (to see what the scrapes cost it)
  --keep-dir              keep the environment folder (logs, audit.log) afterwards
  --skip-build            do not run npm run build first`;

export class UsageError extends Error {}

/** `K=V,K2=V2` as an environment; a UsageError for an entry without a name. */
export function environmentList(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--operator-env wants NAME=VALUE entries separated by commas, got ${JSON.stringify(entry)}`);
    env[entry.slice(0, eq).trim()] = entry.slice(eq + 1);
  }
  return env;
}

/** `--flag`'s value as an integer in [min, max], `fallback` when absent; a UsageError naming the flag otherwise. */
export function positiveInt(flag: string, text: string | undefined, fallback: number, { min = 1, max = 1_000_000 } = {}): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** What CLUSTER_FLAGS say, once parsed. */
export interface ClusterFlagValues {
  /** Also write the JSON result here. */
  json: string | undefined;
  /** Skip `npm run build` (dist/ must be current). */
  skipBuild: boolean;
  /** Keep the scenario's folder (logs) afterwards. */
  keepDir: boolean;
}

export function clusterFlagValues(values: { json?: string; 'skip-build'?: boolean; 'keep-dir'?: boolean }): ClusterFlagValues {
  return { json: values.json, skipBuild: values['skip-build'] === true, keepDir: values['keep-dir'] === true };
}

/** The flags every scenario that starts a cluster takes, for parseArgs. */
export const CLUSTER_FLAGS = {
  json: { type: 'string' },
  'skip-build': { type: 'boolean' },
  'keep-dir': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const FLAGS = {
  count: { type: 'string' },
  'key-algorithm': { type: 'string' },
  workers: { type: 'string' },
  'create-concurrency': { type: 'string' },
  timeout: { type: 'string' },
  settle: { type: 'string' },
  idle: { type: 'string' },
  'log-level': { type: 'string' },
  'cpu-prof': { type: 'string' },
  'heap-snapshot': { type: 'string' },
  'heap-snapshot-at': { type: 'string' },
  'node-options': { type: 'string' },
  'node-flags': { type: 'string' },
  'operator-env': { type: 'string' },
  secrets: { type: 'string' },
  'tls-secrets': { type: 'string' },
  'memory-usage': { type: 'boolean' },
  'no-metrics': { type: 'boolean' },
  ...CLUSTER_FLAGS,
} as const;

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: FLAGS }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions | 'help' {
  const values = parseFlags(argv);
  if (values.help === true) return 'help';
  if (values['heap-snapshot-at'] !== undefined && values['heap-snapshot'] === undefined) throw new UsageError('--heap-snapshot-at needs --heap-snapshot DIR');
  const algorithm = (values['key-algorithm'] ?? 'ECDSA').toUpperCase();
  if (!(BENCH_KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new UsageError(`--key-algorithm must be ECDSA or RSA, got ${JSON.stringify(values['key-algorithm'])}`);
  }
  const secrets = positiveInt('secrets', values.secrets, 0, { min: 0, max: 100_000 });
  const tlsSecrets = positiveInt('tls-secrets', values['tls-secrets'], Math.floor(secrets / 5), { min: 0, max: 100_000 });
  if (tlsSecrets > secrets) throw new UsageError(`--tls-secrets (${tlsSecrets}) cannot exceed --secrets (${secrets})`);
  return {
    count: positiveInt('count', values.count, 1000, { max: 100_000 }),
    keyAlgorithm: algorithm as BenchKeyAlgorithm,
    workers: positiveInt('workers', values.workers, 16, { max: 64 }),
    createConcurrency: positiveInt('create-concurrency', values['create-concurrency'], 20, { max: 500 }),
    timeoutSeconds: positiveInt('timeout', values.timeout, 600, { max: 24 * 3600 }),
    settleSeconds: positiveInt('settle', values.settle, 5, { min: 0, max: 600 }),
    idleSeconds: positiveInt('idle', values.idle, 10, { max: 3600 }),
    logLevel: values['log-level'] ?? 'info',
    cpuProfDir: values['cpu-prof'],
    heapSnapshotDir: values['heap-snapshot'],
    heapSnapshotAtPercent: values['heap-snapshot-at'] === undefined ? undefined : positiveInt('heap-snapshot-at', values['heap-snapshot-at'], 50, { max: 99 }),
    nodeOptions: values['node-options'],
    nodeFlags: values['node-flags']?.split(' ').filter((flag) => flag !== ''),
    operatorEnv: values['operator-env'] === undefined ? undefined : environmentList(values['operator-env']),
    secrets,
    tlsSecrets,
    memoryUsage: values['memory-usage'] === true,
    noMetrics: values['no-metrics'] === true,
    ...clusterFlagValues(values),
  };
}

/**
 * A scenario's flags parsed by `parse`; or the exit code when there is nothing
 * to run: 0 after printing `usage` for --help, 2 after a usage error.
 */
export function parseScenarioArgs<T>(argv: string[], parse: (argv: string[]) => T | 'help', usage: string): T | number {
  let parsed: T | 'help';
  try {
    parsed = parse(argv);
  } catch (error) {
    // parseArgs throws TypeErrors for unknown flags; every other error is a bug, not a usage error.
    if (!(error instanceof UsageError || error instanceof TypeError)) throw error;
    process.stderr.write(`${error.message}\n${usage}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return parsed;
}
