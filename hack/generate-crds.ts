// Writes crds/*.yaml from the zod schemas in src/api (npm run generate), and
// the same files into the Helm chart (charts/certkeeper/crds/) and the plain
// manifests (operator/crds/), which ship them; a unit test keeps all three equal.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrdFiles } from '../src/api/crd-files.js';

const root = join(import.meta.dirname, '..');
const files = renderCrdFiles();
for (const target of ['crds', 'charts/certkeeper/crds', 'operator/crds']) {
  const dir = join(root, target);
  mkdirSync(dir, { recursive: true });
  for (const stale of readdirSync(dir)) {
    if (stale.endsWith('.yaml') && !files.has(stale)) rmSync(join(dir, stale));
  }
  for (const [name, text] of files) {
    writeFileSync(join(dir, name), text);
    console.log(`wrote ${target}/${name}`);
  }
}
