import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import type { CertificateGuardrails } from '../../../src/api/tlspolicy.js';
import { caConstraintsOf, effectiveSpec } from '../../../src/policy/effective-spec.js';
import { guardrailViolations, restrictsNames } from '../../../src/policy/guardrails.js';
import { emailDomainAllowed, ipInRanges, uriMatches } from '../../../src/policy/identity.js';
import { certificate, tlsPolicy, withPolicySpec, withSpec, type CertificateOption } from '../../support/builders.js';

// Every identity a certificate can carry, against a policy that restricts
// names: a kind the policy does not list is denied, so no identity type is a
// way around another. CA certificates and signing usages are denied unless allowed.

function violations(guardrails: CertificateGuardrails, ...options: CertificateOption[]) {
  const spec = effectiveSpec(certificate('web', ...options).spec, undefined);
  return guardrailViolations({ policyName: 'team-a', spec, guardrails }).map((v) => v.reason);
}

const teamA: CertificateGuardrails = { allowedDomains: ['**.team-a.example.com'] };
const only = (spec: Parameters<typeof withSpec>[0]) => withSpec({ dnsNames: [], ...spec });

describe('identity guardrails', () => {
  it.each<[string, CertificateGuardrails, CertificateOption[], string[]]>([
    // the ways around a DNS-only policy, each closed
    ['an IP under a DNS-only policy', teamA, [only({ dnsNames: ['web.team-a.example.com'], ipAddresses: ['10.0.0.1'] })], [Reason.IPAddressNotAllowed]],
    ['another team\'s SPIFFE ID under a DNS-only policy', teamA, [only({ uris: ['spiffe://cluster.local/ns/team-b/sa/api'] })], [Reason.URINotAllowed]],
    ['a mailbox under a DNS-only policy', teamA, [only({ emailAddresses: ['ceo@example.com'] })], [Reason.EmailNotAllowed]],
    ['a subject under a DNS-only policy', teamA, [withSpec({ dnsNames: ['a.team-a.example.com'], subject: { organizations: ['Team B'] } })], [Reason.SubjectNotAllowed]],
    ['a subject the policy allows', { ...teamA, allowSubject: true }, [withSpec({ dnsNames: ['a.team-a.example.com'], subject: { organizations: ['Team A'] } })], []],
    // a policy that lists another kind denies DNS names it does not list
    ['a DNS name under an IP-only policy', { allowedIPRanges: ['10.0.0.0/8'] }, [withSpec({ dnsNames: ['x.example.com'], ipAddresses: ['10.1.2.3'] })], [Reason.DomainNotAllowed]],
    ['IPs inside and outside the ranges', { allowedIPRanges: ['10.0.0.0/8', 'fd00::/8'] }, [only({ ipAddresses: ['10.9.9.9', 'fd00::1', '192.168.1.1'] })], [Reason.IPAddressNotAllowed]],
    ['IPs all inside', { allowedIPRanges: ['10.0.0.0/8', 'fd00::/8'] }, [only({ ipAddresses: ['10.9.9.9', 'fd00::1'] })], []],
    ['URIs of the team\'s own namespace', { allowedURIs: ['spiffe://cluster.local/ns/team-a/**'] }, [only({ uris: ['spiffe://cluster.local/ns/team-a/sa/web'] })], []],
    ['"*" stops at a slash', { allowedURIs: ['spiffe://cluster.local/ns/team-a/*'] }, [only({ uris: ['spiffe://cluster.local/ns/team-a/sa/web'] })], [Reason.URINotAllowed]],
    ['a mailbox at an allowed domain', { allowedEmailDomains: ['team-a.example.com'] }, [only({ emailAddresses: ['ops@team-a.example.com'] })], []],
    ['a mailbox at a look-alike domain', { allowedEmailDomains: ['team-a.example.com'] }, [only({ emailAddresses: ['ops@team-a.example.com.evil.org'] })], [Reason.EmailNotAllowed]],
    // CA and usages: denied by default, with or without name restrictions
    ['a CA under a policy without guardrails', {}, [withSpec({ isCA: true })], [Reason.CANotAllowed]],
    ['a CA the policy allows', { allowCA: true }, [withSpec({ isCA: true })], []],
    ['code signing by default', {}, [withSpec({ usages: ['digital signature', 'code signing'] })], [Reason.UsageNotAllowed]],
    ['code signing when listed', { allowedUsages: ['digital signature', 'code signing'] }, [withSpec({ usages: ['digital signature', 'code signing'] })], []],
    ['aliases compare as one usage', { allowedUsages: ['signing', 's/mime'] }, [withSpec({ usages: ['digital signature', 'email protection'] })], []],
    ['server and client auth by default', {}, [withSpec({ usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'] })], []],
    // nothing restricted: other identities stay free, as before
    ['IPs, URIs and mailboxes under an unrestricted policy', { maxDuration: '2160h' }, [withSpec({ ipAddresses: ['10.0.0.1'], uris: ['urn:x'], emailAddresses: ['a@b.c'], subject: { organizations: ['O'] } })], []],
  ])('%s', (_name, guardrails, options, expected) => {
    expect(violations(guardrails, ...options)).toEqual(expected);
  });

  it('says which entries are refused and what the policy lists', () => {
    const spec = effectiveSpec(certificate('web', only({ ipAddresses: ['10.0.0.1'] })).spec, undefined);
    const [v] = guardrailViolations({ policyName: 'team-a', spec, guardrails: teamA });
    expect(v?.message).toBe('TLSPolicy "team-a" does not allow ipAddresses "10.0.0.1": allowedIPRanges is not listed, so none is allowed');
  });

  it('counts a policy as restricting names once it lists any kind', () => {
    expect([{}, { maxDuration: '1h' }, { allowedDomains: [] }, { allowedIPRanges: ['10.0.0.0/8'] }, { allowedURIs: [] }, { allowedEmailDomains: ['x'] }].map((g) => restrictsNames(g))).toEqual([
      false,
      false,
      true,
      true,
      true,
      true,
    ]);
  });
});

describe('matchers', () => {
  it.each<[string, string[], boolean]>([
    ['10.1.2.3', ['10.0.0.0/8'], true],
    ['11.1.2.3', ['10.0.0.0/8'], false],
    ['10.0.0.0', ['10.0.0.0/32'], true],
    ['2001:db8::1', ['2001:db8::/32'], true],
    ['2001:db9::1', ['2001:db8::/32'], false],
    ['10.1.2.3', ['2001:db8::/32'], false],
    ['not an ip', ['0.0.0.0/0'], false],
    ['10.1.2.3', ['garbage', '10.0.0.0/8'], true],
  ])('ipInRanges(%s, %j) = %s', (ip, cidrs, expected) => {
    expect(ipInRanges(ip, cidrs)).toBe(expected);
  });

  it.each<[string, string, boolean]>([
    ['spiffe://td/ns/a/sa/web', 'spiffe://td/ns/a/**', true],
    ['spiffe://td/ns/a/sa/web', 'spiffe://td/ns/a/*', false],
    ['spiffe://td/ns/a/sa', 'spiffe://td/ns/a/*', true],
    ['spiffe://td/ns/ab/sa', 'spiffe://td/ns/a/**', false],
    ['https://x.example/p?q=1', 'https://x.example/**', true],
    ['urn:a', 'urn:a', true],
    ['urn:a', 'urn:*', true],
    ['', '**', true],
    ['x'.repeat(2000), `${'**x'.repeat(300)}y`, false],
  ])('uriMatches(%s, %s) = %s', (uri, pattern, expected) => {
    expect(uriMatches(uri, pattern)).toBe(expected);
  });

  it('matches a mailbox by its domain, as allowedDomains reads domains', () => {
    expect(emailDomainAllowed('a@team-a.example.com', ['team-a.example.com'])).toBe(true);
    expect(emailDomainAllowed('a@x.team-a.example.com', ['**.team-a.example.com'])).toBe(true);
    expect(emailDomainAllowed('a@team-a.example.com', ['**.team-a.example.com'])).toBe(false);
    expect(emailDomainAllowed('no-at-sign', ['**'])).toBe(false);
  });
});

describe('an allowed CA is bounded', () => {
  it('gets pathLen 0 and the fixed suffixes of the allowed names as name constraints', () => {
    expect(caConstraintsOf({ allowCA: true, allowedDomains: ['**.team-a.example.com', 'web-*.team-a.example.com', 'api.example.org'], allowedIPRanges: ['10.0.0.0/8'] })).toEqual({
      pathLength: 0,
      permittedDNSDomains: ['team-a.example.com', 'api.example.org'],
      permittedIPRanges: ['10.0.0.0/8'],
    });
    // "**" has no fixed suffix: DNS names cannot be constrained, pathLen still holds.
    expect(caConstraintsOf({ allowCA: true, allowedDomains: ['**'] })).toEqual({ pathLength: 0 });
  });

  it('is part of the effective spec only for an allowed CA, and its change re-issues', () => {
    const policy = tlsPolicy('ca', withPolicySpec({ certificates: { allowCA: true, allowedDomains: ['**.a.example'] } }));
    const ca = effectiveSpec(certificate('sub', withSpec({ isCA: true, dnsNames: ['x.a.example'] })).spec, policy);
    expect(ca.caConstraints).toEqual({ pathLength: 0, permittedDNSDomains: ['a.example'] });
    expect(effectiveSpec(certificate('leaf').spec, policy).caConstraints).toBeUndefined();
  });
});
