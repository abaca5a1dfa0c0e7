import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { BANNER, builtinsByRequire } from '../../../hack/build.js';

// The bundle's built-ins are required, not imported: an ESM import of node:http
// runs its lazy getters, and its WebSocket getter loads undici (+14 MB on Node 24).
describe('the bundle loads Node built-ins through require()', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('keeps no ESM import of a node: module, and the code still runs, without undici loaded', async () => {
    dir = mkdtempSync(join(tmpdir(), 'certkeeper-built-ins-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      [
        "import { createServer } from 'node:http';",
        "import * as fs from 'node:fs';",
        "import { promisify } from 'node:util';",
        // A dependency written as ESM imports built-ins by their bare names.
        "import { URL as Url } from 'url';",
        "const loaded = (process as unknown as { moduleLoadList: string[] }).moduleLoadList.filter((m) => m.includes('undici'));",
        "console.log(JSON.stringify({ server: typeof createServer, exists: fs.existsSync('/'), promisify: typeof promisify, url: typeof Url, undici: loaded }));",
      ].join('\n'),
    );
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      banner: { js: BANNER },
      plugins: [builtinsByRequire],
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]?.text ?? '';
    // The banner's own createRequire import is the one node: import left.
    expect(code.replace(BANNER, '')).not.toMatch(/from\s*["'](node:|url)/);
    writeFileSync(join(dir, 'out.mjs'), code);
    const printed = JSON.parse(execFileSync(process.execPath, [join(dir, 'out.mjs')], { encoding: 'utf8' })) as unknown;
    expect(printed).toEqual({ server: 'function', exists: true, promisify: 'function', url: 'function', undici: [] });
  });
});
