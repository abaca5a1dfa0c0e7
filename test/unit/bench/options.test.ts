import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseArgs } from 'node:util';
import { CLUSTER_FLAGS, parseBenchOptions, parseScenarioArgs, positiveInt, UsageError } from '../../../hack/bench/options.js';

// How every bench scenario reads its flags: one integer rule, one exit code
// per outcome (run, --help = 0, usage error = 2).

const USAGE = 'usage: npm run bench -- --scenario demo [--count N]';

function parse(argv: string[]): { count: number; keepDir: boolean } | 'help' {
  const { values } = parseArgs({ args: argv, strict: true, options: { count: { type: 'string' }, ...CLUSTER_FLAGS } });
  if (values.help === true) return 'help';
  return { count: positiveInt('count', values.count, 7, { max: 100 }), keepDir: values['keep-dir'] === true };
}

describe('positiveInt', () => {
  it('takes the fallback when the flag is absent, and integers in range', () => {
    expect(positiveInt('count', undefined, 7)).toBe(7);
    expect(positiveInt('count', '100', 7, { max: 100 })).toBe(100);
    expect(positiveInt('settle', '0', 5, { min: 0 })).toBe(0);
  });

  it.each(['0', '101', '1.5', 'ten', ''])('refuses %j, naming the flag and the range', (text) => {
    expect(() => positiveInt('count', text, 7, { max: 100 })).toThrow(new UsageError(`--count must be an integer from 1 to 100, got ${JSON.stringify(text)}`));
  });
});

describe('parseScenarioArgs', () => {
  const out = vi.spyOn(process.stdout, 'write').mockReturnValue(true);
  const err = vi.spyOn(process.stderr, 'write').mockReturnValue(true);
  afterEach(() => {
    out.mockClear();
    err.mockClear();
  });

  it('returns the parsed flags when there is something to run', () => {
    expect(parseScenarioArgs(['--count', '3', '--keep-dir'], parse, USAGE)).toEqual({ count: 3, keepDir: true });
    expect(out).not.toHaveBeenCalled();
    expect(err).not.toHaveBeenCalled();
  });

  it('prints the usage on stdout and exits 0 for --help', () => {
    expect(parseScenarioArgs(['--help'], parse, USAGE)).toBe(0);
    expect(out).toHaveBeenCalledWith(`${USAGE}\n`);
  });

  it.each([
    [['--count', '500'], '--count must be an integer from 1 to 100, got "500"'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('exits 2 for %j, saying why and how to call it', (argv, why) => {
    expect(parseScenarioArgs(argv, parse, USAGE)).toBe(2);
    expect(err).toHaveBeenCalledTimes(1);
    const printed = String(err.mock.calls[0]?.[0]);
    expect(printed.startsWith(why)).toBe(true);
    expect(printed.endsWith(`\n${USAGE}\n`)).toBe(true);
  });

  it('lets any other error through: a bug is not a usage error', () => {
    const broken = (): never => {
      throw new RangeError('bug');
    };
    expect(() => parseScenarioArgs([], broken, USAGE)).toThrow('bug');
  });
});

describe('parseBenchOptions: the mid-drain heap snapshot', () => {
  it('is off unless asked for, and takes a percentage with a folder', () => {
    const plain = parseBenchOptions(['--heap-snapshot', '/tmp/h']);
    expect(plain !== 'help' && plain.heapSnapshotAtPercent).toBeUndefined();
    const mid = parseBenchOptions(['--heap-snapshot', '/tmp/h', '--heap-snapshot-at', '50']);
    expect(mid !== 'help' && mid.heapSnapshotAtPercent).toBe(50);
  });

  it('refuses a percentage without a folder, and one outside 1-99', () => {
    expect(() => parseBenchOptions(['--heap-snapshot-at', '50'])).toThrow(new UsageError('--heap-snapshot-at needs --heap-snapshot DIR'));
    expect(() => parseBenchOptions(['--heap-snapshot', '/tmp/h', '--heap-snapshot-at', '100'])).toThrow(UsageError);
    expect(() => parseBenchOptions(['--heap-snapshot', '/tmp/h', '--heap-snapshot-at', '0'])).toThrow(UsageError);
  });
});

describe('parseBenchOptions: Secrets beside the backlog', () => {
  const pick = (argv: string[]) => {
    const o = parseBenchOptions(argv);
    if (o === 'help') throw new Error('help');
    return { secrets: o.secrets, tlsSecrets: o.tlsSecrets, memoryUsage: o.memoryUsage };
  };

  it('holds none by default', () => {
    expect(pick([])).toEqual({ secrets: 0, tlsSecrets: 0, memoryUsage: false });
  });

  it("takes issue 11's 10,000 Secrets of which 2,000 TLS, and a fifth TLS when unsaid", () => {
    expect(pick(['--secrets', '10000', '--tls-secrets', '2000', '--memory-usage'])).toEqual({ secrets: 10_000, tlsSecrets: 2_000, memoryUsage: true });
    expect(pick(['--secrets', '501'])).toEqual({ secrets: 501, tlsSecrets: 100, memoryUsage: false });
    expect(pick(['--secrets', '10', '--tls-secrets', '0'])).toEqual({ secrets: 10, tlsSecrets: 0, memoryUsage: false });
  });

  it('scrapes /metrics unless told not to', () => {
    expect(parseBenchOptions([])).toMatchObject({ noMetrics: false });
    expect(parseBenchOptions(['--no-metrics'])).toMatchObject({ noMetrics: true });
  });

  it('refuses more TLS Secrets than Secrets', () => {
    expect(() => parseBenchOptions(['--tls-secrets', '5'])).toThrow(new UsageError('--tls-secrets (5) cannot exceed --secrets (0)'));
    expect(() => parseBenchOptions(['--secrets', '10', '--tls-secrets', '11'])).toThrow(UsageError);
  });
});

describe('--operator-env', () => {
  const env = (argv: string[]) => {
    const o = parseBenchOptions(argv);
    return o === 'help' ? 'help' : o.operatorEnv;
  };

  it("runs the operator with the image's environment unless told otherwise", () => {
    expect(env([])).toBeUndefined();
    expect(env(['--operator-env=MALLOC_ARENA_MAX=8,MALLOC_TRIM_THRESHOLD_=131072'])).toEqual({ MALLOC_ARENA_MAX: '8', MALLOC_TRIM_THRESHOLD_: '131072' });
    expect(env(['--operator-env='])).toEqual({});
    expect(env(['--operator-env=A=x=y'])).toEqual({ A: 'x=y' });
  });

  it('refuses an entry without a name', () => {
    expect(() => parseBenchOptions(['--operator-env=MALLOC_ARENA_MAX'])).toThrow(UsageError);
    expect(() => parseBenchOptions(['--operator-env==1'])).toThrow(UsageError);
  });
});

