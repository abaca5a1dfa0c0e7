import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { EndpointResult } from '../../../src/endpoints/results.js';
import { decodeSharedResults, SharedResultsEncoder, staleSenders } from '../../../src/endpoints/shared-results.js';

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

function readAll(data: Buffer): { sender: string; at: number; results: [string, EndpointResult][] } {
  const back = decodeSharedResults(data);
  if ('error' in back) throw new Error(back.error);
  const results = [...back.results].map(([key, entry]): [string, EndpointResult] => {
    const read = entry.read();
    if (!read.ok) throw new Error(read.error);
    expect(entry.probedAt).toBe(read.result.probedAt);
    return [key, read.result];
  });
  return { sender: back.sender, at: back.at, results };
}

const gz = (doc: unknown) => gzipSync(JSON.stringify(doc));

describe('shared results', () => {
  it('round-trips every field, an unreachable result (with an error field of its own) too', () => {
    const entries: [string, EndpointResult][] = [
      ['team-a/web:443@10.0.0.1#web.example', result(1_000)],
      ['team-a/web:443@10.0.0.2#web.example', result(2_000, { reachable: false, error: 'connection refused', errorReason: 'connect', grade: undefined })],
    ];
    const { data, dropped } = new SharedResultsEncoder().encode('replica-1', 5_000, entries);
    expect(dropped).toBe(0);
    const back = readAll(data);
    expect(back.sender).toBe('replica-1');
    expect(back.at).toBe(5_000);
    // Dates come back as Dates (the inventory and alerts compute with them).
    expect(back.results).toEqual(entries);
    expect(back.results[0]?.[1].served?.facts.notAfter).toBeInstanceOf(Date);
  });

  it('writes each result once, however often it is published', () => {
    let reads = 0;
    const counted = result(1_000);
    Object.defineProperty(counted, 'durationMs', { enumerable: true, get: () => (reads++, 12) });
    const encoder = new SharedResultsEncoder();
    const first = encoder.encode('r', 1, [['a', counted]]);
    const second = encoder.encode('r', 2, [['a', counted], ['b', result(2_000)]]);
    expect(reads).toBe(1);
    expect(readAll(first.data).results).toEqual([['a', result(1_000)]]);
    expect(readAll(second.data).results).toEqual([
      ['a', result(1_000)],
      ['b', result(2_000)],
    ]);
    // A new result for the same target is a new object, written afresh.
    expect(readAll(encoder.encode('r', 3, [['a', result(3_000)]]).data).results).toEqual([['a', result(3_000)]]);
  });

  it('reads a result only when asked', () => {
    const data = gz({ v: 2, sender: 'r', at: 0, results: [['k', 5, '{not json']] });
    const back = decodeSharedResults(data);
    if ('error' in back) throw new Error(back.error);
    expect(back.results.get('k')?.probedAt).toBe(5);
    expect(back.results.get('k')?.read()).toEqual({ ok: false, error: 'a result that is not JSON' });
  });

  it('keeps the latest-probed results when the set does not fit, and says how many it left out', () => {
    // Random-looking errors do not compress: a few hundred results exceed a small bound.
    const entries: [string, EndpointResult][] = Array.from({ length: 400 }, (_, i) => [`ns/s:443@10.0.${i >> 8}.${i & 255}#`, result(i, { error: Math.random().toString(36).repeat(8) })]);
    const { data, dropped } = new SharedResultsEncoder().encode('r', 0, entries, 8_000);
    expect(data.length).toBeLessThanOrEqual(8_000);
    expect(dropped).toBeGreaterThan(0);
    const back = readAll(data);
    expect(back.results.length).toBe(400 - dropped);
    expect(Math.min(...back.results.map(([, r]) => r.probedAt))).toBe(dropped);
  });

  it('reads the documents of replicas from before version 2 (a rollout)', () => {
    const entries: [string, EndpointResult][] = [['team-a/web:443@10.0.0.1#web.example', result(1_000)]];
    expect(readAll(gz({ v: 1, sender: 'old', at: 7, results: entries })).results).toEqual(entries);
  });

  it.each([
    ['not gzip', Buffer.from('hello')],
    ['not JSON', gzipSync('{')],
    ['another version', gz({ v: 3, sender: 'r', at: 0, results: [] })],
    ['no sender', gz({ v: 2, sender: '', at: 0, results: [] })],
    ['an entry without its probedAt', gz({ v: 2, sender: 'r', at: 0, results: [['k', '{}']] })],
    ['a result as an object in version 2', gz({ v: 2, sender: 'r', at: 0, results: [['k', 1, { probedAt: 1 }]] })],
  ])('refuses a document with %s', (_what, data) => {
    expect(decodeSharedResults(data)).toHaveProperty('error');
  });

  const served = { fingerprintSHA256: 'a', notAfter: 'x', facts: { notBefore: 'never', notAfter: 'x' } };
  it.each([
    ['without its fields', 2, { reachable: 'yes' }],
    ['whose served leaf has no valid dates', 1, { probedAt: 1, durationMs: 1, expected: {}, reachable: true, since: 1, served }],
    ['whose probedAt is not its entry\'s', 2, { ...result(1) }],
  ])('refuses a result %s, and only that one', (_what, v, bad) => {
    const good = result(3);
    const results = v === 2 ? [['bad', 2, JSON.stringify(bad)], ['good', 3, JSON.stringify(good)]] : [['bad', bad], ['good', good]];
    const back = decodeSharedResults(gz({ v, sender: 'r', at: 0, results }));
    if ('error' in back) throw new Error(back.error);
    expect(back.results.get('bad')?.read()).toMatchObject({ ok: false });
    expect(back.results.get('good')?.read()).toMatchObject({ ok: true, result: { probedAt: 3 } });
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
