import { describe, expect, it } from 'vitest';
import type { AcmeSolverSpec } from '../../../src/api/tlspolicy.js';
import { selectSolver, solverSpecificity } from '../../../src/issuers/acme/solver-selection.js';

const http = (selector?: AcmeSolverSpec['selector']): AcmeSolverSpec => ({ ...(selector === undefined ? {} : { selector }), http01: { ingress: {} } });
const dns = (selector?: AcmeSolverSpec['selector']): AcmeSolverSpec => ({ ...(selector === undefined ? {} : { selector }), dns01: { rfc2136: { nameserver: '127.0.0.1:53' } } });

describe('selectSolver (cert-manager precedence)', () => {
  const solvers: AcmeSolverSpec[] = [
    http(), // 0: catch-all
    dns({ dnsZones: ['example.com'] }), // 1
    dns({ dnsZones: ['sub.example.com'] }), // 2: longer zone
    http({ dnsNames: ['exact.example.com'] }), // 3: exact name
    http({ dnsNames: ['both.example.com'], dnsZones: ['sub.example.com'] }), // 4
    http({}), // 5: empty selector = catch-all, but listed later
  ];
  it.each<[string, number, string]>([
    ['other.org', 0, 'http-01'],
    ['a.example.com', 1, 'dns-01'],
    ['example.com', 1, 'dns-01'],
    ['a.sub.example.com', 2, 'dns-01'],
    ['sub.example.com', 2, 'dns-01'],
    ['exact.example.com', 3, 'http-01'],
    ['both.example.com', 4, 'http-01'],
    ['*.example.com', 1, 'dns-01'],
    ['*.sub.example.com', 2, 'dns-01'],
    ['EXACT.example.com.', 3, 'http-01'],
  ])('%s → solver %i (%s)', (name, index, type) => {
    expect(selectSolver('p', solvers, name)).toMatchObject({ index, type });
  });

  it('a dnsNames entry naming the wildcard itself matches only the wildcard', () => {
    const list = [dns({ dnsZones: ['example.com'] }), dns({ dnsNames: ['*.example.com'] })];
    expect(selectSolver('p', list, '*.example.com')).toMatchObject({ index: 1 });
    expect(selectSolver('p', list, 'www.example.com')).toMatchObject({ index: 0 });
  });

  it('wildcards need DNS-01 and say so', () => {
    const result = selectSolver('web', [http(), http({ dnsZones: ['example.com'] })], '*.example.com');
    expect('error' in result && result.error).toBe('"*.example.com" is a wildcard name, which only DNS-01 can prove, and no dns01 solver of TLSPolicy "web" matches it (only http01 ones do)');
  });

  it('says when no solver is configured or none matches', () => {
    const none = selectSolver('p', undefined, 'a.example.com');
    expect('error' in none && none.error).toMatch(/has no ACME solvers/);
    const unmatched = selectSolver('p', [http({ dnsZones: ['example.org'] })], 'a.example.com');
    expect('error' in unmatched && unmatched.error).toMatch(/no solver of TLSPolicy "p" matches "a.example.com"/);
  });

  it('a zone does not match a name that merely ends with the same letters', () => {
    expect(solverSpecificity(dns({ dnsZones: ['example.com'] }), 'badexample.com')).toBeUndefined();
    expect(solverSpecificity(dns({ dnsZones: ['example.com'] }), 'x.example.com')).toBe(3);
    expect(solverSpecificity(dns({ dnsZones: ['com'] }), 'x.example.com')).toBe(2);
  });

  it('a solver with neither http01 nor dns01 is never chosen', () => {
    expect(selectSolver('p', [{ selector: { dnsNames: ['a.example.com'] } }, http()], 'a.example.com')).toMatchObject({ index: 1 });
  });
});
