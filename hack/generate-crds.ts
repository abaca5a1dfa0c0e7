// Writes crds/*.yaml from the zod schemas in src/api (npm run generate).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdFiles } from '../src/api/crd-files.js';

const dir = join(import.meta.dirname, '..', 'crds');
mkdirSync(dir, { recursive: true });
const files = renderCrdFiles();
for (const stale of readdirSync(dir)) {
  if (stale.endsWith('.yaml') && !files.has(stale)) rmSync(join(dir, stale));
}
for (const [name, text] of files) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote crds/${name}`);
}
