import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import type { CertificateGuardrails } from '../../../src/api/tlspolicy.js';
import { effectiveSpec } from '../../../src/policy/effective-spec.js';
import { guardrailViolations } from '../../../src/policy/guardrails.js';
import { certificate, withDnsNames, withDuration, withKey, withSpec, type CertificateOption } from '../../support/builders.js';

function violations(guardrails: CertificateGuardrails, ...options: CertificateOption[]) {
  const spec = effectiveSpec(certificate('web', ...options).spec, undefined);
  return guardrailViolations({ policyName: 'team', spec, guardrails }).map((v) => v.reason);
}

describe('guardrailViolations', () => {
  it.each<[string, CertificateGuardrails, CertificateOption[], string[]]>([
    ['no guardrails', {}, [], []],
    ['allowed domain', { allowedDomains: ['*.example.com'] }, [withDnsNames('a.example.com')], []],
    ['domain outside', { allowedDomains: ['*.example.com'] }, [withDnsNames('a.other.org')], [Reason.DomainNotAllowed]],
    ['one of several outside', { allowedDomains: ['*.example.com'] }, [withDnsNames('a.example.com', 'b.other.org')], [Reason.DomainNotAllowed]],
    ['DNS-like commonName governed', { allowedDomains: ['*.example.com'] }, [withSpec({ dnsNames: [], commonName: 'x.other.org' })], [Reason.DomainNotAllowed]],
    // Not a DNS name, so an identity of its own: under restricted names it may only repeat an allowed one.
    ['plain commonName under restricted names', { allowedDomains: ['*.example.com'] }, [withSpec({ dnsNames: [], commonName: 'My Service' })], [Reason.CommonNameNotAllowed]],
    ['plain commonName without restrictions', { minRSASize: 2048 }, [withSpec({ dnsNames: [], commonName: 'My Service' })], []],
    [
      'commonName repeating an allowed URI',
      { allowedURIs: ['spiffe://cluster.local/ns/team-a/**'] },
      [withSpec({ dnsNames: [], commonName: 'spiffe://cluster.local/ns/team-a/sa/web', uris: ['spiffe://cluster.local/ns/team-a/sa/web'] })],
      [],
    ],
    ['empty allowedDomains allows nothing', { allowedDomains: [] }, [withDnsNames('a.example.com')], [Reason.DomainNotAllowed]],
    ['duration within max', { maxDuration: '720h' }, [withDuration('720h')], []],
    ['duration above max', { maxDuration: '720h' }, [withDuration('721h')], [Reason.DurationTooLong]],
    ['default duration above max', { maxDuration: '720h' }, [], [Reason.DurationTooLong]],
    ['algorithm allowed', { allowedKeyAlgorithms: ['ECDSA'] }, [withKey({ algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' })], []],
    ['algorithm refused (default RSA)', { allowedKeyAlgorithms: ['ECDSA'] }, [], [Reason.KeyAlgorithmNotAllowed]],
    ['RSA big enough', { minRSASize: 3072 }, [withKey({ algorithm: 'RSA', size: 4096, encoding: 'PKCS1', rotationPolicy: 'Always' })], []],
    ['RSA too small (default 2048)', { minRSASize: 3072 }, [], [Reason.KeyTooSmall]],
    ['minRSASize ignores ECDSA', { minRSASize: 3072 }, [withKey({ algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' })], []],
    [
      'all violations reported at once',
      { allowedDomains: ['*.x.com'], maxDuration: '1h', allowedKeyAlgorithms: ['RSA'], minRSASize: 4096 },
      [],
      [Reason.DomainNotAllowed, Reason.DurationTooLong, Reason.KeyTooSmall],
    ],
  ])('%s', (_name, guardrails, options, expected) => {
    expect(violations(guardrails, ...options)).toEqual(expected);
  });

  it('names the rule, the policy and the offending value', () => {
    const spec = effectiveSpec(certificate('web', withDnsNames('a.other.org')).spec, undefined);
    const [v] = guardrailViolations({ policyName: 'team', spec, guardrails: { allowedDomains: ['*.example.com'] } });
    expect(v?.message).toBe('TLSPolicy "team" does not allow "a.other.org": allowedDomains is [*.example.com]');
  });
});
