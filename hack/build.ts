import { rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';

// `npm run build`: the operator and the CLI as one tree-shaken ESM bundle in
// dist/ — what the image ships, the chart runs, and the demo, the bench and the
// image test start. Loading ~1,000 separate modules of node_modules cost the
// operator ~0.5 CPU-s and tens of MB at start-up (module records, and the
// source text V8 keeps of each); a bundle holds only the code reachable from
// src/main.ts. Type checking stays with tsc (`npm run typecheck`; `npm run
// build` runs it first).
//
// - Code splitting keeps main.ts's dynamic import() per command: `certkeeper
//   --version` loads main.js and one small chunk, `probe` no Kubernetes code.
//   Every chunk lands directly in dist/, the depth src/version.ts expects.
// - CommonJS dependencies call require() for Node's built-ins and read
//   __dirname: each chunk gets both (ESM has neither), see BANNER.
// - Optional plug-ins of @cyclonedx/cyclonedx-library are left out (see
//   ABSENT_OPTIONAL).
// - Source maps without the sources, beside the chunks: with
//   NODE_OPTIONS=--enable-source-maps stack traces name src/ files and lines
//   (off by default: Node parses every chunk's map at load, ~10 MB).
// - Whitespace and syntax are minified (less source text for V8 to keep);
//   identifiers are not, so function and class names in logs and traces
//   stay as written.

const REPO = join(import.meta.dirname, '..');
const OUT = join(REPO, 'dist');

/**
 * Optional plug-ins of @cyclonedx/cyclonedx-library (XML and JSON-schema
 * validation, which certkeeper does not use): the library tries to load each
 * at start inside a try. They are not dependencies of certkeeper (ajv is a
 * dev dependency), so the bundle gets a module in their place that throws as
 * a missing one would: the library sees none, in the image and on a
 * developer's machine alike, and the bench measures what ships.
 */
const ABSENT_OPTIONAL = ['libxmljs2', 'xmlbuilder2', 'ajv', 'ajv-formats', 'ajv-formats-draft2019'];

const absentOptional: Plugin = {
  name: 'absent-optional-plug-ins',
  setup(b) {
    const filter = new RegExp(`^(${ABSENT_OPTIONAL.join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find module '${args.path}' (not in certkeeper's bundle)`)}), { code: 'MODULE_NOT_FOUND' });`,
      loader: 'js',
    }));
  },
};

/**
 * Each chunk's CommonJS shims: require() for the built-ins CommonJS dependencies
 * load, and __dirname/__filename, which some read at load time (e.g. a schema
 * folder of @cyclonedx/cyclonedx-library, used only by its validators).
 */
export const BANNER = [
  "import { createRequire as __certkeeperCreateRequire } from 'node:module';",
  "import { fileURLToPath as __certkeeperFileURLToPath } from 'node:url';",
  'const require = __certkeeperCreateRequire(import.meta.url);',
  'const __filename = __certkeeperFileURLToPath(import.meta.url);',
  "const __dirname = __certkeeperFileURLToPath(new URL('.', import.meta.url));",
].join(' ');

/** Node's built-in modules by any name a bundled module may import them by: `node:http`, `http`, `fs/promises`. */
const BUILTIN = new RegExp(`^(node:.+|${builtinModules.map((m) => m.replace(/[/.]/g, '\\$&')).join('|')})$`);

/**
 * Node's built-ins, imported as ESM (`import { createServer } from
 * 'node:http'`), get a module facade that reads every export once, lazy
 * getters included: node:http's `WebSocket` then loads undici (+14 MB of RSS
 * on Node 24, for a class certkeeper never uses), node:util's and node:fs's
 * getters ~2–3 MB more. Through require() a getter runs only when its property
 * is read. So every import of a built-in in the bundle (certkeeper's own
 * `node:` imports, and ESM dependencies' `url`, `vm`) becomes a CommonJS
 * module of one line, `module.exports = require('…')`, whose properties the
 * importers read where they use them (esbuild's interop), and require() of a
 * built-in stays external (the banner's require).
 */
export const builtinsByRequire: Plugin = {
  name: 'built-ins-by-require',
  setup(b) {
    b.onResolve({ filter: BUILTIN }, (args) =>
      args.kind === 'require-call' ? { path: args.path, external: true } : { path: args.path, namespace: 'built-in' },
    );
    b.onLoad({ filter: /.*/, namespace: 'built-in' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

/** Bundles src/ into dist/ (replacing it); says what it wrote. The demo calls this directly; `npm run build` type-checks first. */
export async function buildBundle(): Promise<string> {
  const started = Date.now();
  await rm(OUT, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: REPO,
    entryPoints: { main: 'src/main.ts' },
    outdir: OUT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    minifyWhitespace: true,
    minifySyntax: true,
    treeShaking: true,
    legalComments: 'linked',
    plugins: [absentOptional, builtinsByRequire],
    // node-fetch 2's URL code (whatwg-url, tr46) requires Node's punycode module, deprecated
    // (DEP0040: a warning at every start on Node 22+); the same code from the npm package instead.
    alias: { punycode: 'punycode/' },
    banner: { js: BANNER },
    metafile: true,
    logLevel: 'warning',
  });
  return `dist/: ${describe(result.metafile)} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
}

function describe(meta: Metafile): string {
  const js = Object.entries(meta.outputs).filter(([file]) => file.endsWith('.js'));
  const bytes = js.reduce((sum, [, out]) => sum + out.bytes, 0);
  return `${js.length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB of JavaScript`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildBundle().then(
    (done) => console.log(`[build] ${done}`),
    (error: unknown) => {
      console.error(`[build] ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
