import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import { effectiveSpec, issuanceSpecHash } from '../../../src/policy/effective-spec.js';
import { SecretAnnotation, type IssuedFacts, type TlsSecretState } from '../../../src/model/secret.js';
import { issuanceTrigger, triggerCheckNames, type TriggerInput } from '../../../src/controllers/certificate/triggers.js';
import { certificate, withDnsNames } from '../../support/builders.js';

const now = new Date('2026-03-01T00:00:00Z');
const spec = effectiveSpec(certificate('web', withDnsNames('a.example.com')).spec, undefined);
const specHash = issuanceSpecHash(spec, 'ca:root');

const facts = (over: Partial<IssuedFacts> = {}): IssuedFacts => ({
  dnsNames: ['a.example.com'],
  ipAddresses: [],
  uris: [],
  emailAddresses: [],
  notBefore: new Date('2026-02-01T00:00:00Z'),
  notAfter: new Date('2026-05-01T00:00:00Z'),
  serialNumber: '01',
  fingerprintSHA256: 'ab',
  isCA: false,
  keyAlgorithm: 'RSA',
  keySize: 2048,
  ...over,
});
const valid = (over: Partial<IssuedFacts> = {}, annotations: Record<string, string> = { [SecretAnnotation.specHash]: specHash }): TlsSecretState => ({
  state: 'valid',
  facts: facts(over),
  annotations,
});

function trigger(over: Partial<TriggerInput>): string | undefined {
  return issuanceTrigger({ now, secretName: 'web-tls', spec, specHash, secret: valid(), ...over })?.reason;
}

describe('issuanceTrigger', () => {
  it.each<[string, Partial<TriggerInput>, string | undefined]>([
    ['current secret: nothing to do', {}, undefined],
    ['no secret', { secret: { state: 'absent' } }, Reason.DoesNotExist],
    ['missing key', { secret: { state: 'incomplete', missing: ['tls.key'], annotations: {} } }, Reason.MissingData],
    ['garbage', { secret: { state: 'invalid', error: 'not PEM', annotations: {} } }, Reason.InvalidData],
    ['key does not match', { secret: { state: 'mismatched', annotations: {} } }, Reason.KeyMismatch],
    ['names changed', { secret: valid({ dnsNames: ['b.example.com'] }) }, Reason.SpecChanged],
    ['extra name issued', { secret: valid({ dnsNames: ['a.example.com', 'b.example.com'] }) }, Reason.SpecChanged],
    ['commonName changed', { secret: valid({ commonName: 'x' }) }, Reason.SpecChanged],
    ['isCA changed', { secret: valid({ isCA: true }) }, Reason.SpecChanged],
    ['key algorithm changed', { secret: valid({ keyAlgorithm: 'ECDSA', keySize: 256 }) }, Reason.SpecChanged],
    ['key size changed', { secret: valid({ keySize: 4096 }) }, Reason.SpecChanged],
    ['spec hash differs (not ours or older spec)', { secret: valid({}, {}) }, Reason.SpecChanged],
    ['expired', { now: new Date('2026-05-01T00:00:00Z') }, Reason.Expired],
    ['renewal due', { renewal: { time: new Date('2026-02-28T00:00:00Z'), basis: 'Default', jitterMs: 0 } }, Reason.Renewing],
    ['renewal not yet due', { renewal: { time: new Date('2026-03-02T00:00:00Z'), basis: 'Default', jitterMs: 0 } }, undefined],
    ['renew requested after issuance', { renewRequestedAt: new Date('2026-02-15T00:00:00Z') }, Reason.ManuallyTriggered],
    ['renew request already served', { renewRequestedAt: new Date('2026-01-15T00:00:00Z') }, undefined],
    ['renew requested a minute ahead of our clock (skew)', { renewRequestedAt: new Date(now.getTime() + 60_000) }, Reason.ManuallyTriggered],
    // Dated in the future it would stay newer than every certificate issued until then: a re-issue loop.
    ['renew requested for next year is ignored', { renewRequestedAt: new Date(now.getTime() + 365 * 86_400_000) }, undefined],
  ])('%s', (_name, over, expected) => {
    expect(trigger(over)).toBe(expected);
  });

  it('checks the secret before the certificate in it, in a fixed order', () => {
    expect(triggerCheckNames).toEqual([
      'secretExists',
      'secretComplete',
      'secretParses',
      'keyMatchesCertificate',
      'namesMatchSpec',
      'keyMatchesSpec',
      'specHashMatches',
      'notExpired',
      'renewalNotDue',
      'noManualRenewal',
    ]);
  });

  it('says what differs', () => {
    const v = issuanceTrigger({ now, secretName: 'web-tls', spec, specHash, secret: valid({ dnsNames: ['b.example.com'], isCA: true }) });
    expect(v?.message).toBe('the issued certificate differs from spec in dnsNames, isCA');
  });
});

describe('issuanceSpecHash', () => {
  it('is the same digest as before for a spec with every subject field (their order must never change: a new digest re-issues)', () => {
    const c = certificate('w', withDnsNames('a.x'), (x) => {
      x.spec.subject = { serialNumber: 's', streetAddresses: ['st'], provinces: ['p'], postalCodes: ['1'], organizations: ['o'], organizationalUnits: ['ou'], localities: ['l'], countries: ['DE'] };
    });
    expect(issuanceSpecHash(effectiveSpec(c.spec, undefined), 'ca:root')).toBe('d2c9dc577783ce56705545b78272e274');
  });

  it('ignores name order but not names, key, duration or issuer', () => {
    const base = effectiveSpec(certificate('w', withDnsNames('a.x', 'b.x')).spec, undefined);
    const reordered = effectiveSpec(certificate('w', withDnsNames('b.x', 'a.x')).spec, undefined);
    expect(issuanceSpecHash(reordered, 'i')).toBe(issuanceSpecHash(base, 'i'));
    expect(issuanceSpecHash(base, 'j')).not.toBe(issuanceSpecHash(base, 'i'));
    expect(issuanceSpecHash({ ...base, durationMs: 1 }, 'i')).not.toBe(issuanceSpecHash(base, 'i'));
    expect(issuanceSpecHash({ ...base, key: { ...base.key, encoding: 'PKCS8' } }, 'i')).not.toBe(issuanceSpecHash(base, 'i'));
    expect(issuanceSpecHash({ ...base, key: { ...base.key, rotationPolicy: 'Never' } }, 'i')).toBe(issuanceSpecHash(base, 'i'));
  });
});

describe('effectiveSpec', () => {
  it('fills cert-manager defaults', () => {
    const e = effectiveSpec(certificate('w').spec, undefined);
    expect(e.key).toEqual({ algorithm: 'RSA', size: 2048, encoding: 'PKCS1', rotationPolicy: 'Always' });
    expect(e.usages).toEqual(['digital signature', 'key encipherment', 'server auth']);
    expect(e.durationMs).toBe(90 * 24 * 3_600_000);
  });

  it('ECDSA defaults to P-256 and no key encipherment; Ed25519 is PKCS8 and sizeless', () => {
    const ec = effectiveSpec({ secretName: 's', dnsNames: ['a.x'], privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' } }, undefined);
    expect(ec.key.size).toBe(256);
    expect(ec.usages).toEqual(['digital signature', 'server auth']);
    const ed = effectiveSpec({ secretName: 's', dnsNames: ['a.x'], privateKey: { algorithm: 'Ed25519', encoding: 'PKCS1', rotationPolicy: 'Always' } }, undefined);
    expect(ed.key).toMatchObject({ size: 0, encoding: 'PKCS8' });
  });

  it('takes defaultDuration and renewBefore from the policy only when the Certificate sets none', () => {
    const policy = { apiVersion: 'certkeeper.dev/v1alpha1' as const, kind: 'TLSPolicy' as const, metadata: { name: 'p' }, spec: { priority: 0, certificates: { defaultDuration: '24h', renewBefore: '8h' } } };
    const fromPolicy = effectiveSpec({ secretName: 's', dnsNames: ['a.x'] }, policy);
    expect(fromPolicy).toMatchObject({ durationMs: 24 * 3_600_000, renewBeforeMs: 8 * 3_600_000, renewBeforeFromPolicy: true });
    const own = effectiveSpec({ secretName: 's', dnsNames: ['a.x'], duration: '48h', renewBeforePercentage: 10 }, policy);
    expect(own).toMatchObject({ durationMs: 48 * 3_600_000, renewBeforeMs: undefined, renewBeforePercentage: 10, renewBeforeFromPolicy: false });
  });
});
