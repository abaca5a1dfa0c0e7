import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layers of src/, bottom first. A module may import its own folder and
// any folder on a lower layer, never one on its own layer or above; and no
// files import each other in a circle. Domain model at the bottom,
// Kubernetes machinery only in kube/, wiring at the top.
const LAYERS: readonly (readonly string[])[] = [
  ['clock.ts', 'log.ts', 'backoff.ts', 'version.ts', 'text-order.ts'], // foundations: no imports of ours
  ['pki'], // X.509 and keys, pure of Kubernetes
  ['probe', 'metrics'], // the TLS prober (on pki); the metrics registry
  ['http'], // /healthz /readyz /metrics and routes (on the registry)
  ['api'], // zod schemas = CRDs and TS types (usage names from pki, suite names from probe)
  ['model', 'config.ts'], // the domain model; operator settings
  ['policy', 'kube', 'secrets'], // pure policy decisions; Kubernetes machinery; reading Secrets into the model
  ['issuers', 'endpoints'], // signers and ACME; live endpoint validation
  ['controllers', 'inventory'], // reconcilers and issuer drivers; the certificate inventory
  ['alerts'], // alert rules and Alertmanager delivery (read the inventory and endpoint results)
  ['cli', 'operator'], // entry points and wiring
  ['main.ts'],
];

const SRC = resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top folder (or root file) of src a file belongs to. */
const unitOf = (file: string): string => relative(SRC, file).split('/')[0] ?? '';

const layerOf = (unit: string): number => {
  const index = LAYERS.findIndex((layer) => layer.includes(unit));
  if (index < 0) throw new Error(`src/${unit} is in no layer of test/unit/architecture.test.ts: give it one`);
  return index;
};

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => resolve(dirname(file), (m[1] ?? '').replace(/\.js$/, '.ts')));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

describe('the layers of src/', () => {
  it('give every folder a place', () => {
    for (const f of files) expect(() => layerOf(unitOf(f))).not.toThrow();
  });

  it('are imported only downward', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = unitOf(file);
      for (const target of imports) {
        const to = unitOf(target);
        if (to !== from && layerOf(to) >= layerOf(from)) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('hold no import circle', () => {
    const state = new Map<string, 'open' | 'done'>();
    const circles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === 'open') circles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(SRC, f)).join(' -> '));
        else if (state.get(next) === undefined) visit(next, [...path, next]);
      }
      state.set(file, 'done');
    };
    for (const f of files) if (state.get(f) === undefined) visit(f, [f]);
    expect(circles).toEqual([]);
  });

  it('keep the Kubernetes client in kube/ and the wiring above it', () => {
    // Below kube/ nothing may talk to the API server: the model, policy and the libraries stay pure.
    const pure = new Set(['clock.ts', 'log.ts', 'backoff.ts', 'text-order.ts', 'pki', 'probe', 'metrics', 'http', 'api', 'model', 'config.ts', 'policy']);
    const offenders = files.filter((f) => pure.has(unitOf(f)) && /from '@kubernetes\/client-node'/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(SRC, f))).toEqual([]);
  });
});

// `certkeeper probe` with a built-in profile loads no zod (~9 MB of RSS): the
// files its command module reaches by value imports (type-only imports are
// erased; a dynamic import() is not followed) import no zod.
describe('the probe command', () => {
  const VALUE_IMPORT = /(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s+'([^']+)'/g;
  it('reaches no zod through its static imports', () => {
    const seen = new Set<string>();
    const withZod: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const m of readFileSync(file, 'utf8').matchAll(VALUE_IMPORT)) {
        const spec = m[1] ?? '';
        if (spec === 'zod' || spec.startsWith('zod/')) withZod.push(relative(SRC, file));
        else if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    visit(join(SRC, 'cli/probe.ts'));
    expect(seen.size).toBeGreaterThan(20);
    expect(withZod).toEqual([]);
  });
});
