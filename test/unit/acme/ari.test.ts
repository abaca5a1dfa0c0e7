import { describe, expect, it } from 'vitest';
import { ariCertId, nextRenewalInfoFetch, renewalTimeInWindow } from '../../../src/issuers/acme/ari.js';
import { parseRenewalInfo } from '../../../src/issuers/acme/session.js';
import { ariRenewal } from '../../../src/controllers/certificate/renewal.js';

describe('ARI CertID (RFC 9773 4.1)', () => {
  it('is base64url(AKI keyIdentifier) "." base64url(serial with its DER sign octet) — the RFC example', () => {
    expect(ariCertId('69885b6b87464041e1b37b847ba0ae2cde01c8d4', '87654321')).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it.each<[string, string]>([
    ['01', 'AQ'],
    ['7f', 'fw'],
    ['80', 'AIA'],
    ['abc', 'Crw'], // odd length: a leading zero nibble
    ['00ff', 'AP8'],
  ])('serial %s → %s', (serial, encoded) => {
    expect(ariCertId('00', serial).split('.')[1]).toBe(encoded);
  });
});

describe('renewal inside the window', () => {
  const start = new Date('2026-06-01T00:00:00Z');
  const end = new Date('2026-06-03T00:00:00Z');

  it('is inside [start, end), in whole seconds, and the same every time for the same seed', () => {
    for (const seed of ['a', 'b', 'uid-1', 'uid-2/serial']) {
      const at = renewalTimeInWindow(start, end, seed);
      expect(at.getTime()).toBeGreaterThanOrEqual(start.getTime());
      expect(at.getTime()).toBeLessThan(end.getTime());
      expect(at.getTime() % 1000).toBe(0);
      expect(renewalTimeInWindow(start, end, seed)).toEqual(at);
    }
    const spread = new Set(Array.from({ length: 50 }, (_, i) => renewalTimeInWindow(start, end, `cert-${i}`).getTime()));
    expect(spread.size).toBeGreaterThan(45);
  });

  it('applies only to the certificate the window was fetched for', () => {
    const info = { serialNumber: 'ab', windowStart: start.toISOString(), windowEnd: end.toISOString(), fetchedTime: '2026-05-01T00:00:00Z', nextFetchTime: '2026-05-01T06:00:00Z' };
    expect(ariRenewal(info, { serialNumber: 'ab' }, 'uid')).toMatchObject({ basis: 'ARI' });
    expect(ariRenewal(info, { serialNumber: 'cd' }, 'uid')).toBeUndefined();
    expect(ariRenewal({ ...info, windowEnd: info.windowStart }, { serialNumber: 'ab' }, 'uid')).toBeUndefined();
    expect(ariRenewal(undefined, { serialNumber: 'ab' }, 'uid')).toBeUndefined();
  });
});

describe('when to ask again', () => {
  const bounds = { minMs: 60_000, maxMs: 86_400_000 };
  it.each<[string, number | undefined, number]>([
    ['Retry-After within bounds', 6 * 3_600_000, 6 * 3_600_000],
    ['Retry-After too short: one minute', 5_000, 60_000],
    ['Retry-After too long: one day', 7 * 86_400_000, 86_400_000],
    ['no Retry-After: the maximum', undefined, 86_400_000],
  ])('%s', (_name, retryAfter, expected) => {
    expect(nextRenewalInfoFetch(1_000, retryAfter, bounds)).toBe(1_000 + expected);
  });

  it('a maximum below the minimum wins (tests poll every few seconds)', () => {
    expect(nextRenewalInfoFetch(0, 6 * 3_600_000, { minMs: 60_000, maxMs: 2_000 })).toBe(2_000);
  });
});

describe('renewalInfo answers', () => {
  it('reads the suggested window and explanation', () => {
    expect(parseRenewalInfo({ suggestedWindow: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' }, explanationURL: 'https://ca.example/why' })).toEqual({
      start: new Date('2026-01-01T00:00:00Z'),
      end: new Date('2026-01-02T00:00:00Z'),
      explanationURL: 'https://ca.example/why',
    });
  });

  it.each<[string, unknown]>([
    ['not an object', 'x'],
    ['no window', {}],
    ['end before start', { suggestedWindow: { start: '2026-01-02T00:00:00Z', end: '2026-01-01T00:00:00Z' } }],
    ['unreadable times', { suggestedWindow: { start: 'soon', end: 'later' } }],
  ])('refuses %s', (_name, data) => {
    expect(parseRenewalInfo(data)).toBeUndefined();
  });
});
