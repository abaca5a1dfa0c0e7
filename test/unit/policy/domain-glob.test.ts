import { describe, expect, it } from 'vitest';
import { domainAllowed, domainMatchesGlob } from '../../../src/policy/domain-glob.js';

describe('domainMatchesGlob', () => {
  it.each([
    ['a.example.com', 'a.example.com', true],
    ['A.Example.com', 'a.example.COM', true],
    ['a.example.com', 'b.example.com', false],
    ['a.example.com', '*.example.com', true],
    ['example.com', '*.example.com', false],
    ['a.b.example.com', '*.example.com', false],
    ['a.b.example.com', '**.example.com', true],
    ['a.example.com', '**.example.com', true],
    ['example.com', '**.example.com', false],
    ['web-1.example.com', 'web-*.example.com', true],
    ['api-1.example.com', 'web-*.example.com', false],
    ['*.example.com', '*.example.com', true],
    ['*.example.com', '**.example.com', true],
    ['*.example.com', 'web-*.example.com', false],
    ['*.example.com', 'a.example.com', false],
    ['a.example.com.evil.org', '*.example.com', false],
    ['aexample.com', '*.example.com', false],
    ['aexample.com', '*example.com', true],
    ['x.a.team.example.com', '**.team.example.com', true],
    ['a.example.com', '**', true],
  ])('%s against %s is %s', (name, glob, expected) => {
    expect(domainMatchesGlob(name, glob)).toBe(expected);
  });

  it('domainAllowed needs one matching glob', () => {
    expect(domainAllowed('a.x.com', ['*.y.com', '*.x.com'])).toBe(true);
    expect(domainAllowed('a.z.com', ['*.y.com', '*.x.com'])).toBe(false);
    expect(domainAllowed('a.z.com', [])).toBe(false);
  });
});
