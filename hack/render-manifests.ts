// Writes operator/ (kubectl apply -k operator/) from charts/certkeeper with its
// default values: npx tsx hack/render-manifests.ts. Builds helm on first use.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { OPERATOR_DIR, renderPlainManifests } from './chart.js';
import { ensureTools } from './env/tools.js';

function listFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

const { helm } = await ensureTools();
const files = await renderPlainManifests(helm);
// Files of templates that no longer render would otherwise linger and still be applied.
for (const stale of listFiles(OPERATOR_DIR)) {
  if (!files.has(relative(OPERATOR_DIR, stale))) rmSync(stale);
}
for (const [name, text] of files) {
  const path = join(OPERATOR_DIR, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote operator/${name}`);
}
