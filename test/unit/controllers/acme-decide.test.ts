import { describe, expect, it } from 'vitest';
import type { AcmeSolverSpec } from '../../../src/api/tlspolicy.js';
import { Reason } from '../../../src/api/conditions.js';
import { acmeIdentifiers } from '../../../src/controllers/certificate/acme/checks.js';
import { splitChain } from '../../../src/controllers/certificate/acme/finalize.js';
import { nextKeySecretName } from '../../../src/controllers/certificate/acme/keys.js';
import { backoffUntil, decide, renewalOf, type Gathered } from '../../../src/controllers/certificate/decide.js';
import { RENEW_ANNOTATION } from '../../../src/model/certificate.js';
import { effectiveSpec, issuanceSpecHash } from '../../../src/policy/effective-spec.js';
import { SecretAnnotation, type IssuedFacts } from '../../../src/model/secret.js';
import { statusMergePatch } from '../../../src/kube/status.js';
import { certificate, selectingAll, tlsPolicy, withDnsNames, withPolicySpec, withSpec } from '../../support/builders.js';
import { makeTestCa } from '../../support/pki.js';

const now = new Date('2026-03-01T00:00:00Z');
const server = 'https://acme.example/directory';
const http01: AcmeSolverSpec = { http01: { ingress: { ingressClassName: 'nginx' } } };
const dns01: AcmeSolverSpec = { selector: { dnsZones: ['example.com'] }, dns01: { rfc2136: { nameserver: '10.0.0.53:53' } } };
const acme = (...solvers: AcmeSolverSpec[]) =>
  tlsPolicy('le', selectingAll, withPolicySpec({ issuer: { acme: { server, privateKeySecretRef: { name: 'acct' }, solvers } } }));

function gathered(over: Partial<Gathered> = {}): Gathered {
  return { certificate: certificate('web'), namespaceLabels: {}, policies: [acme(http01)], secret: { state: 'absent' }, now, ...over };
}

const facts = (over: Partial<IssuedFacts> = {}): IssuedFacts => ({
  dnsNames: ['web.example.com'],
  ipAddresses: [],
  uris: [],
  emailAddresses: [],
  notBefore: new Date('2026-02-01T00:00:00Z'),
  notAfter: new Date('2026-05-02T00:00:00Z'),
  serialNumber: '0a',
  fingerprintSHA256: 'ff',
  isCA: false,
  keyAlgorithm: 'RSA',
  keySize: 2048,
  ...over,
});

describe('decide for ACME policies', () => {
  it('issues with the acme issuer identity', () => {
    const d = decide(gathered());
    expect(d.kind === 'issue' && d.governed).toMatchObject({ issuerKind: 'acme', issuerIdentity: `acme:${server}` });
  });

  it.each<[string, Partial<Gathered>, string, RegExp]>([
    ['IP addresses', { certificate: certificate('web', withSpec({ ipAddresses: ['10.0.0.1'] })) }, Reason.InvalidSpec, /DNS names only: remove ipAddresses/],
    ['a CA certificate the policy does not allow', { certificate: certificate('web', withSpec({ isCA: true })) }, Reason.CANotAllowed, /does not allow CA certificates/],
    [
      'a CA certificate the policy allows, but an ACME CA never issues',
      { certificate: certificate('web', withSpec({ isCA: true })), policies: [tlsPolicy('le', (p) => Object.assign(p, acme(http01)), withPolicySpec({ certificates: { allowCA: true } }))] },
      Reason.InvalidSpec,
      /does not issue CA certificates/,
    ],
    ['no DNS name at all', { certificate: certificate('web', withSpec({ dnsNames: [], commonName: 'Web Service' })) }, Reason.InvalidSpec, /at least one DNS name/],
    ['a wildcard with only HTTP-01', { certificate: certificate('web', withDnsNames('*.example.com')) }, Reason.NoSolver, /only DNS-01 can prove/],
    ['no solvers', { policies: [acme()] }, Reason.NoSolver, /has no ACME solvers/],
  ])('refuses %s before asking the CA', (_name, over, reason, message) => {
    const d = decide(gathered(over));
    expect(d.kind).toBe('blocked');
    expect(d.kind === 'blocked' && d.violation.reason).toBe(reason);
    expect(d.kind === 'blocked' && d.violation.message).toMatch(message);
  });

  it('a wildcard goes to the DNS-01 solver of its zone', () => {
    expect(decide(gathered({ policies: [acme(http01, dns01)], certificate: certificate('web', withDnsNames('*.example.com', 'example.com')) })).kind).toBe('issue');
  });

  it('a certificate the CA issued without the commonName is current; the commonName counts as a DNS name', () => {
    const cert = certificate('web', withSpec({ commonName: 'web.example.com', dnsNames: ['www.example.com'] }));
    const spec = effectiveSpec(cert.spec, acme(http01));
    expect(acmeIdentifiers(spec)).toEqual(['www.example.com', 'web.example.com']);
    const specHash = issuanceSpecHash(spec, `acme:${server}`);
    const secret = { state: 'valid' as const, facts: facts({ dnsNames: ['web.example.com', 'www.example.com'] }), annotations: { [SecretAnnotation.specHash]: specHash, [SecretAnnotation.certificateName]: 'web' } };
    expect(decide(gathered({ certificate: cert, secret })).kind).toBe('current');
  });

  it('a renewal requested before the Secret was written is done, even when the CA backdated notBefore', () => {
    const cert = certificate('web', (c) => {
      c.metadata.annotations = { [RENEW_ANNOTATION]: '2026-02-28T12:00:00Z' };
    });
    const specHash = issuanceSpecHash(effectiveSpec(cert.spec, acme(http01)), `acme:${server}`);
    const backdated = facts({ notBefore: new Date('2026-02-28T11:00:00Z') });
    const written = { [SecretAnnotation.specHash]: specHash, [SecretAnnotation.certificateName]: 'web', [SecretAnnotation.issuedAt]: '2026-02-28T12:00:05.000Z' };
    expect(decide(gathered({ certificate: cert, secret: { state: 'valid', facts: backdated, annotations: written } })).kind).toBe('current');
    const older = { ...written, [SecretAnnotation.issuedAt]: '2026-02-28T11:59:00.000Z' };
    const d = decide(gathered({ certificate: cert, secret: { state: 'valid', facts: backdated, annotations: older } }));
    expect(d.kind === 'issue' && d.trigger.reason).toBe(Reason.ManuallyTriggered);
  });
});

describe('renewal time with ARI', () => {
  const cert = certificate('web');
  const spec = effectiveSpec(cert.spec, acme(http01));
  it('falls inside the window the CA suggested for this certificate, else follows the spec', () => {
    cert.status = {
      renewalInfo: { serialNumber: '0a', windowStart: '2026-04-01T00:00:00Z', windowEnd: '2026-04-02T00:00:00Z', fetchedTime: '2026-03-01T00:00:00Z', nextFetchTime: '2026-03-01T06:00:00Z' },
    };
    const ari = renewalOf(cert, spec, facts());
    expect(ari.basis).toBe('ARI');
    expect(ari.time.getTime()).toBeGreaterThanOrEqual(Date.parse('2026-04-01T00:00:00Z'));
    expect(ari.time.getTime()).toBeLessThan(Date.parse('2026-04-02T00:00:00Z'));
    expect(renewalOf(cert, spec, facts({ serialNumber: '0b' })).basis).toBe('Default');
  });
});

describe('backoff', () => {
  const failed = (status: Record<string, unknown>) => certificate('web', (c) => {
    c.status = { observedGeneration: 1, ...status };
  });
  it('waits out the backoff, or the CA Retry-After when that is later', () => {
    expect(backoffUntil(failed({ failedIssuanceAttempts: 1, lastFailureTime: '2026-03-01T00:00:00Z' }), now)).toEqual(new Date('2026-03-01T00:00:10Z'));
    expect(backoffUntil(failed({ failedIssuanceAttempts: 1, lastFailureTime: '2026-03-01T00:00:00Z', retryAfterTime: '2026-03-01T01:00:00Z' }), now)).toEqual(
      new Date('2026-03-01T01:00:00Z'),
    );
    expect(backoffUntil(failed({ failedIssuanceAttempts: 3, lastFailureTime: '2026-02-28T00:00:00Z' }), now)).toBeUndefined();
    expect(backoffUntil(failed({ failedIssuanceAttempts: 1, lastFailureTime: '2026-03-01T00:00:00Z', observedGeneration: 0 }), now)).toBeUndefined();
  });
});

describe('status patches', () => {
  it('carry only what changed, so a stale copy of a field another part owns is not written back', () => {
    const prev = { revision: 1, acme: { url: 'u', state: 'pending' as const, accountURI: 'a', specHash: 'h', createdTime: 't' }, policy: 'p' };
    expect(statusMergePatch(prev, { ...prev, revision: 2 })).toEqual({ revision: 2 });
    expect(statusMergePatch(prev, { revision: 1, policy: 'p' })).toEqual({ acme: null });
  });
});

describe('the pending key and the chain', () => {
  it('the pending key Secret has a fixed name per Certificate', () => {
    expect(nextKeySecretName(certificate('web'))).toBe('web-next-private-key');
    expect(nextKeySecretName(certificate(`${'a'.repeat(210)}`)).length).toBeLessThanOrEqual(253);
  });

  it('keeps the chain as sent, and takes a trailing self-signed root out as ca.crt', async () => {
    const root = await makeTestCa({ slot: 1 });
    const intermediate = await makeTestCa({ parent: root, slot: 2 });
    const withoutRoot = splitChain(intermediate['tls.crt'].split(root['tls.crt'])[0] ?? '');
    expect(withoutRoot.caPem).toBeUndefined();
    const withRoot = splitChain(intermediate['tls.crt']);
    expect(withRoot.caPem).toBe(root['tls.crt']);
    expect(withRoot.chainPem).not.toContain(root['tls.crt']);
  });
});
