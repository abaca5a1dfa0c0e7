import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { EndpointResult } from '../../../src/endpoints/results.js';
import { decodeSharedResults, encodeSharedResults, staleSenders } from '../../../src/endpoints/shared-results.js';

const result = (probedAt: number, extra: Partial<EndpointResult> = {}): EndpointResult => ({
  probedAt,
  durationMs: 12,
  expected: { 'team-a/web': 'ab'.repeat(32) },
  reachable: true,
  grade: 'A',
  served: {
    fingerprintSHA256: 'cd'.repeat(32),
    notAfter: '2027-01-01T00:00:00Z',
    facts: { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z'), subject: 'CN=web' } as unknown as NonNullable<EndpointResult['served']>['facts'],
  },
  since: probedAt,
  ...extra,
});

describe('shared results', () => {
  it('round-trips every field', () => {
    const entries: [string, EndpointResult][] = [
      ['team-a/web:443@10.0.0.1#web.example', result(1_000)],
      ['team-a/web:443@10.0.0.2#web.example', result(2_000, { reachable: false, error: 'connection refused', errorReason: 'connect', grade: undefined })],
    ];
    const { data, dropped } = encodeSharedResults('replica-1', 5_000, entries);
    expect(dropped).toBe(0);
    const back = decodeSharedResults(data);
    if ('error' in back) throw new Error(back.error);
    expect(back.sender).toBe('replica-1');
    expect(back.at).toBe(5_000);
    // Dates come back as Dates (the inventory and alerts compute with them).
    expect([...back.results]).toEqual(entries);
    expect(back.results.get('team-a/web:443@10.0.0.1#web.example')?.served?.facts.notAfter).toBeInstanceOf(Date);
  });

  it('keeps the latest-probed results when the set does not fit, and says how many it left out', () => {
    // Random-looking errors do not compress: a few hundred results exceed a small bound.
    const entries: [string, EndpointResult][] = Array.from({ length: 400 }, (_, i) => [`ns/s:443@10.0.${i >> 8}.${i & 255}#`, result(i, { error: Math.random().toString(36).repeat(8) })]);
    const { data, dropped } = encodeSharedResults('r', 0, entries, 8_000);
    expect(data.length).toBeLessThanOrEqual(8_000);
    expect(dropped).toBeGreaterThan(0);
    const back = decodeSharedResults(data);
    if ('error' in back) throw new Error(back.error);
    expect(back.results.size).toBe(400 - dropped);
    const oldestKept = Math.min(...[...back.results.values()].map((r) => r.probedAt));
    expect(oldestKept).toBe(dropped);
  });

  it.each([
    ['not gzip', Buffer.from('hello')],
    ['not JSON', gzipSync('{')],
    ['another version', gzipSync(JSON.stringify({ v: 2, sender: 'r', at: 0, results: [] }))],
    ['a result without its fields', gzipSync(JSON.stringify({ v: 1, sender: 'r', at: 0, results: [['k', { reachable: 'yes' }]] }))],
    ['a served leaf without valid dates', gzipSync(JSON.stringify({ v: 1, sender: 'r', at: 0, results: [['k', { probedAt: 1, durationMs: 1, expected: {}, reachable: true, since: 1, served: { fingerprintSHA256: 'a', notAfter: 'x', facts: { notBefore: 'never', notAfter: 'x' } } }]] }))],
    ['no sender', gzipSync(JSON.stringify({ v: 1, sender: '', at: 0, results: [] }))],
  ])('refuses %s', (_what, data) => {
    expect(decodeSharedResults(data)).toHaveProperty('error');
  });
});

describe('staleSenders', () => {
  it('names senders that are not live members and have been quiet long enough, once each', () => {
    const docs = [
      { sender: 'gone-long-ago', at: 0 },
      { sender: 'gone-long-ago', at: 1_000 },
      { sender: 'gone-just-now', at: 95_000 },
      { sender: 'live', at: 0 },
    ];
    expect(staleSenders(docs, ['live'], 100_000, 30_000)).toEqual(['gone-long-ago']);
    expect(staleSenders(docs, ['live', 'gone-long-ago'], 100_000, 30_000)).toEqual([]);
  });
});
