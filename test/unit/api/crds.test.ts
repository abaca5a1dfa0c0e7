import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCrdFiles } from '../../../src/api/crd-files.js';

const crdDir = join(import.meta.dirname, '..', '..', '..', 'crds');

describe('crds/', () => {
  it('holds exactly what `npm run generate` produces', () => {
    const generated = renderCrdFiles();
    const committed = readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort();
    expect(committed).toEqual([...generated.keys()].sort());
    for (const [name, text] of generated) {
      expect(readFileSync(join(crdDir, name), 'utf8'), `crds/${name} is stale: run npm run generate`).toBe(text);
    }
  });

  it('uses no JSON-Schema keyword a structural schema forbids', () => {
    for (const text of renderCrdFiles().values()) {
      expect(text).not.toMatch(/\b(anyOf|oneOf|allOf|\$ref|\$schema|additionalProperties: false)\b/);
    }
  });
});
