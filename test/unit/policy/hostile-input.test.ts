import { describe, expect, it } from 'vitest';
import { domainMatchesGlob } from '../../../src/policy/domain-glob.js';
import { certificatePemBlocks } from '../../../src/pki/pem.js';

// Tenants write names, globs reach us from policies, and ca.crt bundles from
// any Secret: matching and splitting must stay linear on hostile input. These
// tests check the answers (the cost is in `npm run bench`, never timed here).

/** The reference semantics, as the label-by-label definition reads (exponential on purpose: small inputs only). */
function reference(name: string, glob: string): boolean {
  const labels = name.toLowerCase().split('.');
  const pattern = glob.toLowerCase().split('.');
  const label = (l: string, p: string) =>
    p.includes('*') ? new RegExp(`^${p.split('*').map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[a-z0-9-]*')}$`).test(l) : l === p;
  const go = (i: number, j: number): boolean => {
    if (j === pattern.length) return i === labels.length;
    const p = pattern[j] ?? '';
    if (p === '**') {
      for (let k = i + 1; k <= labels.length; k++) if (go(k, j + 1)) return true;
      return false;
    }
    const l = labels[i];
    if (l === undefined) return false;
    if (l === '*') return p === '*' && go(i + 1, j + 1);
    return label(l, p) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

describe('domain globs', () => {
  it('agree with the reference on 20,000 random names and globs, odd characters included', () => {
    const random = seeded(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    const word = (alphabet: string, max: number) => Array.from({ length: 1 + Math.floor(random() * max) }, () => pick([...alphabet])).join('');
    for (let n = 0; n < 20_000; n++) {
      const name = Array.from({ length: 1 + Math.floor(random() * 4) }, () => (random() < 0.1 ? '*' : word('ab-_', 5))).join('.');
      const glob = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(['*', '**', word('ab*_', 4), word('ab', 3)])).join('.');
      expect(domainMatchesGlob(name, glob), `${name} ~ ${glob}`).toBe(reference(name, glob));
    }
  });

  it('answer a glob of many "**" against a long name (exponential for a plain recursion)', () => {
    const name = `${'a.'.repeat(60)}example.com`;
    expect(domainMatchesGlob(name, `${'**.'.repeat(30)}example.com`)).toBe(true);
    expect(domainMatchesGlob(name, `${'**.'.repeat(30)}example.org`)).toBe(false);
    expect(domainMatchesGlob(`${'a'.repeat(63)}.example.com`, `${'a*'.repeat(30)}b.example.com`)).toBe(false);
  });
});

describe('certificatePemBlocks', () => {
  const block = (body: string) => `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----`;

  it('pairs each BEGIN with the first END after it, skipping text between', () => {
    expect(certificatePemBlocks(`# root\n${block('AAAA')}\nnoise\n${block('BBBB')}\n`)).toEqual([block('AAAA'), block('BBBB')]);
    expect(certificatePemBlocks('no pem at all')).toEqual([]);
    expect(certificatePemBlocks(`${block('AAAA')}\n-----BEGIN CERTIFICATE-----\nunterminated`)).toEqual([block('AAAA')]);
  });

  it('finds nothing in 100,000 BEGIN markers without an END (quadratic for a lazy regex)', () => {
    expect(certificatePemBlocks('-----BEGIN CERTIFICATE-----\n'.repeat(100_000))).toEqual([]);
  });
});
