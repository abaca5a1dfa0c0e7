import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCrdFiles } from '../../../src/api/crd-files.js';

// The chart (helm installs charts/certkeeper/crds/) and the plain manifests
// (operator/crds/) ship copies of the generated CRDs; a copy that lags would
// install an older schema than the operator expects.
const root = join(import.meta.dirname, '..', '..', '..');

describe.each(['charts/certkeeper/crds', 'operator/crds'])('%s', (dir) => {
  it('holds exactly the CRDs `npm run generate` writes to crds/', () => {
    const generated = renderCrdFiles();
    const copies = readdirSync(join(root, dir)).filter((f) => f.endsWith('.yaml')).sort();
    expect(copies).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) {
      expect(readFileSync(join(root, dir, name), 'utf8'), `${dir}/${name} differs from the generated CRD: run npm run generate`).toBe(text);
    }
  });
});
