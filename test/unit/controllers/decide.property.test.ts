import { describe, expect, it } from 'vitest';
import type { CertificateSpec } from '../../../src/api/certificate.js';
import { Reason } from '../../../src/api/conditions.js';
import { decide } from '../../../src/controllers/certificate/decide.js';
import { parseCertificate } from '../../../src/model/certificate.js';
import type { IssuedFacts, TlsSecretState } from '../../../src/model/secret.js';
import { certificate, selectingAll, tlsPolicy, withCaIssuer, withGuardrails } from '../../support/builders.js';
import { seededRandom } from '../../support/pki.js';

// Random Certificates, policies and Secrets through the reconciler's input
// handling: whatever arrives, the decision is one of the four kinds, blocked
// decisions say why, and the same input always gives the same decision.

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const maybe = <T>(r: () => number, v: T): T | undefined => (r() < 0.5 ? v : undefined);

function randomSpec(r: () => number): CertificateSpec {
  const algorithm = pick(r, ['RSA', 'ECDSA', 'Ed25519'] as const);
  return {
    secretName: 'x-tls',
    commonName: maybe(r, pick(r, ['web', 'a.example.com', 'Web Service'])),
    dnsNames: maybe(r, Array.from({ length: Math.floor(r() * 4) }, () => pick(r, ['a.example.com', '*.example.com', 'b.other.org', 'c.x.example.com']))),
    ipAddresses: maybe(r, [pick(r, ['10.0.0.1', '::1', '2001:db8::1'])]),
    duration: maybe(r, pick(r, ['1h', '90m', '2160h', '24h', '0.5h'])),
    renewBefore: maybe(r, pick(r, ['30m', '10h', '3000h'])),
    renewBeforePercentage: maybe(r, pick(r, [1, 25, 99])),
    privateKey: maybe(r, { algorithm, size: maybe(r, pick(r, [256, 384, 2048, 4096])), encoding: pick(r, ['PKCS1', 'PKCS8'] as const), rotationPolicy: pick(r, ['Always', 'Never'] as const) }),
    usages: maybe(r, [pick(r, ['server auth', 'client auth', 'key encipherment', 'digital signature'] as const)]),
    isCA: maybe(r, r() < 0.5),
    policyRef: maybe(r, { name: pick(r, ['ca', 'missing']) }),
  };
}

function randomSecret(r: () => number, name: string): TlsSecretState {
  const facts: IssuedFacts = {
    dnsNames: ['a.example.com'], ipAddresses: [], uris: [], emailAddresses: [], isCA: false,
    notBefore: new Date(Date.parse('2026-02-01T00:00:00Z') + Math.floor(r() * 40) * 86_400_000),
    notAfter: new Date(Date.parse('2026-03-01T00:00:00Z') + Math.floor(r() * 60) * 86_400_000),
    serialNumber: '1', fingerprintSHA256: 'f', keyAlgorithm: pick(r, ['RSA', 'ECDSA', 'unknown'] as const), keySize: pick(r, [0, 256, 2048]),
  };
  // Written for this Certificate, another one, or none: only the first may be overwritten.
  const owner = pick<Record<string, string>>(r, [{ 'certkeeper.dev/certificate-name': name }, { 'certkeeper.dev/certificate-name': name }, { 'certkeeper.dev/certificate-name': 'other' }, {}]);
  return pick<TlsSecretState>(r, [
    { state: 'absent' },
    { state: 'incomplete', missing: ['tls.key'], annotations: owner },
    { state: 'invalid', error: 'garbage', annotations: owner },
    { state: 'mismatched', annotations: owner },
    { state: 'valid', facts, annotations: { ...owner, 'certkeeper.dev/spec-hash': 'x' } },
  ]);
}

describe('decide over random inputs', () => {
  it('always reaches one of the four decisions, deterministically, for 3,000 random inputs', () => {
    const r = seededRandom(2026);
    const policies = [
      tlsPolicy('ca', selectingAll, withCaIssuer('root'), withGuardrails({ allowedDomains: ['**.example.com'], maxDuration: pick(r, ['720h', '2160h']), minRSASize: 2048 })),
      tlsPolicy('validate-only', selectingAll),
    ];
    const now = new Date('2026-03-15T00:00:00Z');
    for (let i = 0; i < 3000; i++) {
      const cert = certificate(`c${i}`);
      cert.spec = randomSpec(r);
      if (r() < 0.2) cert.status = { failedIssuanceAttempts: 1 + Math.floor(r() * 5), lastFailureTime: '2026-03-14T23:59:00Z', observedGeneration: 1 };
      const input = { certificate: cert, namespaceLabels: {}, policies: r() < 0.8 ? policies.slice(0, 1) : policies, secret: randomSecret(r, cert.metadata.name), now };
      const d = decide(input);
      expect(['blocked', 'current', 'issue', 'backoff']).toContain(d.kind);
      if (d.kind === 'blocked') expect(d.violation.message.length).toBeGreaterThan(10);
      // Another's Secret is never overwritten.
      const owner = input.secret.state === 'absent' ? cert.metadata.name : input.secret.annotations['certkeeper.dev/certificate-name'];
      if (owner !== cert.metadata.name) expect(d.kind === 'blocked' && d.violation.reason).toBe(Reason.SecretNotOwned);
      if (d.kind === 'issue' || d.kind === 'backoff') expect(d.trigger.message.length).toBeGreaterThan(5);
      if (d.kind === 'current') expect(d.renewal.time.getTime()).toBeGreaterThan(now.getTime());
      expect(JSON.stringify(decide(input))).toBe(JSON.stringify(d));
    }
  });
});

describe('parseCertificate over garbage', () => {
  it('never throws and says what does not parse', () => {
    const r = seededRandom(7);
    const values = [null, 1, 'x', [], {}, { spec: null }, { metadata: {} }, { apiVersion: 'certkeeper.dev/v1alpha1', kind: 'Certificate', metadata: { name: 'a' }, spec: { secretName: 5 } }];
    for (let i = 0; i < 500; i++) {
      const v = pick(r, values);
      const parsed = parseCertificate(v);
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(0);
    }
    expect(parseCertificate({ apiVersion: 'certkeeper.dev/v1alpha1', kind: 'Certificate', metadata: { name: 'a', namespace: 'n' }, spec: { secretName: 's', dnsNames: ['a.example.com'] } }).ok).toBe(true);
  });
});
