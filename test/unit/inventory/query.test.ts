import { beforeAll, describe, expect, it } from 'vitest';
import { inventoryJson, writeInventoryJson } from '../../../src/inventory/json.js';
import { QueryError, filterInventory, parseAge, queryFromSearchParams } from '../../../src/inventory/query.js';
import { commonNameOf, renderInventoryTable } from '../../../src/cli/inventory-table.js';
import { CORRUPT_PEM } from '../../support/inventory-fixtures.js';
import { DAY_MS } from '../../support/pki.js';
import { build, secretOf, summary, testWorld, type World } from './world.js';

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

function world() {
  return build([
    secretOf(w.fine, { namespace: 'a', name: 'fine', ca: w.ca['ca.crt'] }),
    secretOf(w.expiring, { namespace: 'a', name: 'expiring' }),
    secretOf(w.expired, { namespace: 'b', name: 'expired', annotations: { 'cert-manager.io/certificate-name': 'old' } }),
    secretOf(w.fine, { namespace: 'b', name: 'fine-copy' }),
    summary({ namespace: 'b', name: 'corrupt', crt: CORRUPT_PEM, key: 'k' }),
  ]);
}

describe('parseAge', () => {
  it.each([
    ['30d', 30 * DAY_MS],
    ['2w', 14 * DAY_MS],
    ['1d12h', 36 * 3_600_000],
    ['72h', 72 * 3_600_000],
    ['90m', 90 * 60_000],
  ])('%s', (text, ms) => expect(parseAge(text)).toBe(ms));

  it.each(['', '30', 'd', '1.5d', 'soon', '12h1d'])('refuses %j', (text) => expect(() => parseAge(text)).toThrow(QueryError));
});

describe('filterInventory', () => {
  const ids = (inv: ReturnType<typeof world>) => inv.entries.map((e) => e.certificate?.commonName ?? e.id);

  it('by namespace keeps only locations there', () => {
    const inv = filterInventory(world(), { namespace: 'b' });
    expect(ids(inv)).toEqual(['secret:b/corrupt', 'expired', 'fine']);
    expect(inv.entries.find((e) => e.certificate?.commonName === 'fine')?.locations).toEqual([expect.objectContaining({ namespace: 'b', name: 'fine-copy' })]);
  });

  it('by expiring-within includes what already expired', () => {
    expect(ids(filterInventory(world(), { expiringWithinMs: 30 * DAY_MS }))).toEqual(['expired', 'expiring']);
  });

  it('by problem and by who manages', () => {
    expect(ids(filterInventory(world(), { problems: ['expired', 'unparsable'] }))).toEqual(['secret:b/corrupt', 'expired']);
    expect(ids(filterInventory(world(), { managed: ['other'] }))).toEqual(['expired']);
  });

  it('reads the same filters from a URL', () => {
    expect(queryFromSearchParams(new URLSearchParams('namespace=b&expiringWithin=30d&problem=expired,expiring&problem=unparsable&managed=unmanaged'))).toEqual({
      namespace: 'b',
      expiringWithinMs: 30 * DAY_MS,
      problems: ['expired', 'expiring', 'unparsable'],
      managed: ['unmanaged'],
    });
    expect(() => queryFromSearchParams(new URLSearchParams('problem=boom'))).toThrow(/unknown problem "boom"/);
  });
});

describe('renderers', () => {
  it('JSON flattens the facts, counts by primary problem, and holds no key', () => {
    const json = inventoryJson(world());
    expect(json.summary).toEqual({ entries: 5, byProblem: { unparsable: 1, expired: 1, expiring: 1, none: 2 }, byManaged: { unmanaged: 4, other: 1 } });
    const expiring = json.entries.find((e) => e.commonName === 'expiring');
    expect(expiring).toMatchObject({ notAfter: '2026-01-11T00:00:00.000Z', expiresInSeconds: 10 * 86_400, managed: 'unmanaged', primaryProblem: 'expiring', dnsNames: ['expiring.example.com'] });
    expect(JSON.stringify(json)).not.toContain(w.fine.keyPem.split('\n')[1] ?? 'unreachable');
  });

  it('the streamed JSON is the same text, whatever the chunk size', () => {
    const inv = world();
    const now = new Date('2026-01-02T00:00:00Z');
    for (const size of [1, 100, 64 * 1024]) {
      const chunks: string[] = [];
      writeInventoryJson(inv, now, (c) => chunks.push(c), size);
      expect(chunks.join('')).toBe(JSON.stringify(inventoryJson(inv, now)));
      if (size === 1) expect(chunks.length).toBe(inv.entries.length + 1);
    }
    expect(inventoryJson(inv, now).entries.find((e) => e.commonName === 'expiring')?.expiresInSeconds).toBe(9 * 86_400);
  });

  it('the table reads soonest expiry first, one line per certificate', () => {
    const lines = renderInventoryTable(world()).split('\n');
    expect(lines[0]).toMatch(/^EXPIRES \(UTC\)\s+IN\s+PROBLEMS\s+MANAGED BY\s+NAMES\s+ISSUER\s+LOCATION$/);
    expect(lines[1]).toMatch(/^-\s+-\s+unparsable\s+unmanaged\s+tls\.crt: PEM block 1 is not a valid X\.509 certificate.*b\/corrupt$/);
    expect(lines[2]).toMatch(/^2025-12-30 00:00\s+-2d\s+expired\s+cert-manager\s+expired\.example\.com\s+inventory test CA\s+b\/expired$/);
    expect(lines[3]).toMatch(/^2026-01-11 00:00\s+10d\s+expiring\s+unmanaged\s+expiring\.example\.com/);
    expect(lines[4]).toMatch(/fine\.example\.com\s+inventory test CA\s+a\/fine \(\+1\)$/);
    expect(lines[5]).toMatch(/inventory test CA \[CA\]\s+a\/fine \(ca\.crt\)$/);
    expect(lines.at(-1)).toBe('5 certificates: 1 expired, 1 expiring, 1 without a readable certificate');
  });

  it('commonNameOf', () => {
    expect(commonNameOf('O=certkeeper tests, CN=inventory test CA')).toBe('inventory test CA');
    expect(commonNameOf('O=No CN here')).toBe('O=No CN here');
  });
});
