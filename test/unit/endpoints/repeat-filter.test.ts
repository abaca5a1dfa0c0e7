import { describe, expect, it } from 'vitest';
import { RepeatFilter } from '../../../src/endpoints/sharing.js';

describe('RepeatFilter (one log line per lasting problem of a shared-results ConfigMap)', () => {
  it('passes a complaint once, again when it changes, and again after the source was fine', () => {
    const f = new RepeatFilter();
    expect(f.isNew('a-results', 'not gzip')).toBe(true);
    expect(f.isNew('a-results', 'not gzip')).toBe(false);
    expect(f.isNew('b-results', 'not gzip')).toBe(true);
    expect(f.isNew('a-results', 'web/x: bad grade')).toBe(true);
    expect(f.isNew('a-results', 'web/x: bad grade')).toBe(false);
    f.clear('a-results');
    expect(f.isNew('a-results', 'web/x: bad grade')).toBe(true);
    expect(f.isNew('b-results', 'not gzip')).toBe(false);
  });
});
