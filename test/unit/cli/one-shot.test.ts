import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// bin/certkeeper.js tunes V8 for one-shot commands before the bundle loads.
// It runs here as it ships, in front of a stand-in dist/main.js that makes a
// function hot and keeps young objects alive, then reports what V8 did:
// whether it marked that function for an optimizing compiler (--trace-opt)
// and how large the young generation grew. (Node's own path functions may be
// marked before bin/certkeeper.js runs, when the path it is installed at is
// long: nothing a script can set comes earlier.) A flag V8 stopped knowing
// would be refused (an "unrecognized flag" line on the output) and its
// effect would be gone.

const BIN = resolve(import.meta.dirname, '../../../bin/certkeeper.js');
// Node 20's V8 has Maglev but does not turn it on by default.
const MAGLEV_BY_DEFAULT = Number(process.versions.node.split('.')[0]) >= 22;

const STAND_IN_MAIN = `
import { getHeapSpaceStatistics } from 'node:v8';
function hot(n) { let s = 0; for (let i = 0; i < 50; i++) s += (n * i) % 7; return s; }
let sum = 0;
for (let i = 0; i < 200000; i++) sum += hot(i);
const kept = new Array(60000);
for (let i = 0; i < 300000; i++) kept[i % kept.length] = { i, text: 'x' + i };
const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
console.log('stand-in ' + JSON.stringify({ sum, kept: kept.length, newSpaceMiB: (young?.space_size ?? NaN) / 2 ** 20 }));
`;

interface Run {
  /** --trace-opt's lines marking the stand-in's hot function, by compiler. */
  optimized: { maglev: string[]; turbofan: string[] };
  newSpaceMiB: number;
  output: string;
}

describe('bin/certkeeper.js', () => {
  let dir: string;
  const run = (command: string): Run => {
    const child = spawnSync(process.execPath, ['--trace-opt', join(dir, 'bin', 'certkeeper.js'), command], { encoding: 'utf8', timeout: 60_000 });
    const output = `${child.stdout}${child.stderr}`;
    if (child.status !== 0) throw new Error(`exit ${String(child.status)}:\n${output.slice(-2000)}`);
    const line = output.split('\n').find((l) => l.startsWith('stand-in '));
    if (line === undefined) throw new Error(`the stand-in bundle printed nothing:\n${output.slice(-2000)}`);
    const { newSpaceMiB } = JSON.parse(line.slice('stand-in '.length)) as { newSpaceMiB: number };
    const marked = (compiler: string) => output.split('\n').filter((l) => l.includes('<JSFunction hot ') && l.includes(`for optimization to ${compiler}`));
    return { optimized: { maglev: marked('MAGLEV'), turbofan: marked('TURBOFAN') }, newSpaceMiB, output };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'certkeeper-bin-'));
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    copyFileSync(BIN, join(dir, 'bin', 'certkeeper.js'));
    writeFileSync(join(dir, 'dist', 'main.js'), STAND_IN_MAIN);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves the operator to V8: its hot code is optimized and its young generation grows', () => {
    const operator = run('operator');
    if (MAGLEV_BY_DEFAULT) expect(operator.optimized.maglev.length).toBeGreaterThan(0);
    expect(operator.optimized.turbofan.length).toBeGreaterThan(0);
    expect(operator.newSpaceMiB).toBeGreaterThan(2);
  });

  it.each(['probe', 'renew', '--version'])('runs %s, of bounded work, without optimizing compilers and with the young generation at its first size', (command) => {
    const oneShot = run(command);
    expect(oneShot.output).not.toMatch(/unrecognized flag/i);
    expect(oneShot.optimized).toEqual({ maglev: [], turbofan: [] });
    expect(oneShot.newSpaceMiB).toBeLessThanOrEqual(2);
  });

  it.each(['status', 'inventory'])('runs %s, whose work grows with the cluster, with Maglev but not Turbofan, and the young generation at its first size', (command) => {
    const oneShot = run(command);
    expect(oneShot.output).not.toMatch(/unrecognized flag/i);
    if (MAGLEV_BY_DEFAULT) expect(oneShot.optimized.maglev.length).toBeGreaterThan(0);
    expect(oneShot.optimized.turbofan).toEqual([]);
    expect(oneShot.newSpaceMiB).toBeLessThanOrEqual(2);
  });
});
