import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import type { IssuerStatus, NamedIssuerSpec, TLSPolicy } from '../../../src/api/tlspolicy.js';
import { decide, type Gathered } from '../../../src/controllers/certificate/decide.js';
import { HEALTHY, type IssuerHealth } from '../../../src/controllers/certificate/failover.js';
import { issuerEntries } from '../../../src/controllers/drivers/rules.js';
import { policyReadiness } from '../../../src/controllers/tlspolicy/reconciler.js';
import { SecretAnnotation } from '../../../src/model/secret.js';
import { certificate, selectingAll, tlsPolicy, withDnsNames, withPolicySpec, withSpec } from '../../support/builders.js';
import { factsFor } from './fakes.js';

const now = new Date('2026-03-01T00:00:00Z');
const acme = (name: string, server: string, solvers: NonNullable<NamedIssuerSpec['acme']>['solvers'] = [{ http01: { ingress: {} } }]): NamedIssuerSpec => ({
  name,
  acme: { server, privateKeySecretRef: { name: `${name}-account` }, solvers },
});
const ca: NamedIssuerSpec = { name: 'internal', ca: { secretName: 'internal-ca' } };
const readyStatus = (names: string[], over: Partial<Record<string, Partial<IssuerStatus>>> = {}) => ({
  observedGeneration: 1,
  issuers: names.map((name) => ({ name, kind: name === 'internal' ? ('ca' as const) : ('acme' as const), ready: true, reason: 'IssuerReady', message: 'ok', ...over[name] })),
});

function policyWith(issuers: NamedIssuerSpec[], status = readyStatus(issuers.map((i) => i.name))): TLSPolicy {
  const p = tlsPolicy('p', selectingAll, withPolicySpec({ issuers }));
  p.status = status;
  return p;
}
const three = policyWith([acme('le', 'https://le.example/dir'), acme('zerossl', 'https://zerossl.example/dir'), ca]);

function gathered(policy: TLSPolicy, health: Record<string, IssuerHealth> = {}, over: Partial<Gathered> = {}): Gathered {
  return {
    certificate: certificate('web'),
    namespaceLabels: {},
    policies: [policy],
    secret: { state: 'absent' },
    issuerHealth: (_p, issuer) => health[issuer] ?? HEALTHY,
    now,
    ...over,
  };
}
const down: IssuerHealth = { failures: 1, unavailableUntil: now.getTime() + 30_000, lastFailure: 'connect ECONNREFUSED' };

describe('issuerEntries', () => {
  it('treats spec.issuer as a list of one, named after its kind, and the policy itself as its view', () => {
    const p = tlsPolicy('single', selectingAll, withPolicySpec({ issuer: { ca: { secretName: 'root' } } }));
    expect(issuerEntries(p)).toEqual([{ name: 'ca', kind: 'ca', policy: p, listed: false }]);
  });

  it('gives each listed issuer a view with spec.issuer = the entry and status.acme = its account', () => {
    const p = policyWith([acme('le', 'https://le.example/dir'), ca], { ...readyStatus(['le', 'internal'], { le: { acme: { accountURI: 'https://le.example/acct/1' } } }) });
    const [le, internal] = issuerEntries(p);
    expect(le?.policy.spec.issuer).toEqual({ acme: { server: 'https://le.example/dir', privateKeySecretRef: { name: 'le-account' }, solvers: [{ http01: { ingress: {} } }] } });
    expect(le?.policy.spec.issuers).toBeUndefined();
    expect(le?.policy.status?.acme).toEqual({ accountURI: 'https://le.example/acct/1' });
    expect(internal).toMatchObject({ name: 'internal', kind: 'ca', listed: true });
    expect(internal?.policy.spec.issuer).toEqual({ ca: { secretName: 'internal-ca' } });
    expect(internal?.policy.metadata).toBe(p.metadata);
  });
});

describe('decide with spec.issuers', () => {
  it('issues with the first issuer when all are healthy', () => {
    const d = decide(gathered(three));
    expect(d.kind === 'issue' && [d.governed.issuerName, d.governed.issuerIdentity, d.skipped, d.trial]).toEqual(['le', 'acme:https://le.example/dir', [], false]);
  });

  it('fails over past a down issuer, saying why', () => {
    const d = decide(gathered(three, { le: down }));
    expect(d.kind === 'issue' && d.governed.issuerName).toBe('zerossl');
    expect(d.kind === 'issue' && d.skipped).toEqual([{ name: 'le', reason: Reason.IssuerUnavailable, message: expect.stringContaining('connect ECONNREFUSED') as string }]);
  });

  it('uses the CA as the last resort', () => {
    const d = decide(gathered(three, { le: down, zerossl: down }));
    expect(d.kind === 'issue' && d.governed).toMatchObject({ issuerName: 'internal', issuerKind: 'ca', issuerIdentity: 'ca:internal-ca' });
  });

  it('is unavailable, until the first may be tried, when every issuer is down', () => {
    const d = decide(gathered(three, { le: down, zerossl: { ...down, unavailableUntil: now.getTime() + 5000 }, internal: down }));
    expect(d.kind).toBe('unavailable');
    expect(d.kind === 'unavailable' && d.retryAt).toEqual(new Date(now.getTime() + 5000));
  });

  it('skips an issuer that can never issue the Certificate (no solver for a private name), which is not a fallback', () => {
    const p = policyWith([acme('le', 'https://le.example/dir', [{ selector: { dnsZones: ['example.com'] }, http01: { ingress: {} } }]), ca]);
    const d = decide(gathered(p, {}, { certificate: certificate('db', withDnsNames('db.internal')) }));
    expect(d.kind === 'issue' && d.governed.issuerName).toBe('internal');
    expect(d.kind === 'issue' && d.skipped.map((s) => s.reason)).toEqual([Reason.IssuerNotEligible]);
  });

  it('blocks, naming each issuer, when none can ever issue the Certificate', () => {
    const p = policyWith([acme('le', 'https://le.example/dir'), acme('zerossl', 'https://zerossl.example/dir')]);
    const d = decide(gathered(p, {}, { certificate: certificate('ip', withSpec({ dnsNames: undefined, ipAddresses: ['10.0.0.1'] })) }));
    expect(d.kind).toBe('blocked');
    expect(d.kind === 'blocked' && d.violation.message).toMatch(/^issuer "le": .*; issuer "zerossl": /);
  });

  it('waits for the first issuer while the policy has not judged it (a new policy)', () => {
    const d = decide(gathered(policyWith([acme('le', 'https://le.example/dir'), ca], { observedGeneration: 0, issuers: [] })));
    expect(d.kind === 'issue' && d.governed.issuerName).toBe('le');
  });

  it('keeps a certificate a fallback issued until its renewal, then tries the first issuer again', () => {
    const fallback = decide(gathered(three, { le: down }));
    if (fallback.kind !== 'issue') throw new Error(fallback.kind);
    const facts = factsFor(fallback.governed, new Date(now.getTime() - 86_400_000), 90);
    const secret = { state: 'valid' as const, facts, annotations: { [SecretAnnotation.specHash]: fallback.governed.specHash, [SecretAnnotation.certificateName]: 'web' } };
    // The first issuer is healthy again: the fallback's certificate stays current.
    const current = decide(gathered(three, {}, { secret }));
    expect(current.kind === 'current' && current.governed.issuerName).toBe('zerossl');
    // At renewal time the first issuer is chosen.
    const later = decide(gathered(three, {}, { secret, now: new Date(now.getTime() + 80 * 86_400_000) }));
    expect(later.kind === 'issue' && [later.trigger.reason, later.governed.issuerName]).toEqual([Reason.Renewing, 'le']);
  });

  it('re-issues when the issuer that issued the Secret is no longer listed', () => {
    const old = decide(gathered(policyWith([acme('old', 'https://old.example/dir')])));
    if (old.kind !== 'issue') throw new Error(old.kind);
    const facts = factsFor(old.governed, new Date(now.getTime() - 86_400_000), 90);
    const secret = { state: 'valid' as const, facts, annotations: { [SecretAnnotation.specHash]: old.governed.specHash, [SecretAnnotation.certificateName]: 'web' } };
    const d = decide(gathered(three, {}, { secret }));
    expect(d.kind === 'issue' && [d.trigger.reason, d.governed.issuerName]).toEqual([Reason.SpecChanged, 'le']);
  });

  it('hashes a single spec.issuer as before (no re-issue on upgrade) and the same issuer listed alike', () => {
    const single = tlsPolicy('p', selectingAll, withPolicySpec({ issuer: { ca: { secretName: 'internal-ca' } } }));
    const a = decide(gathered(single));
    const b = decide(gathered(policyWith([ca])));
    expect(a.kind === 'issue' && b.kind === 'issue' && a.governed.specHash === b.governed.specHash).toBe(true);
  });

  it('applies the policy guardrails whichever issuer would issue', () => {
    const p = policyWith([acme('le', 'https://le.example/dir'), ca]);
    p.spec.certificates = { allowedDomains: ['**.shop.example'] };
    const d = decide(gathered(p, { le: down }));
    expect(d.kind === 'blocked' && d.violation.reason).toBe(Reason.DomainNotAllowed);
  });
});

describe('policyReadiness', () => {
  const s = (name: string, ready: boolean, over: Partial<IssuerStatus> = {}): IssuerStatus => ({ name, kind: 'acme', ready, reason: ready ? 'AccountRegistered' : 'AccountRegistrationFailed', message: ready ? 'ok' : 'connect ECONNREFUSED', ...over });
  it.each<[string, IssuerStatus[], boolean, string]>([
    ['all ready', [s('a', true), s('b', true)], true, Reason.IssuerReady],
    ['one not ready', [s('a', false), s('b', true)], true, Reason.IssuersDegraded],
    ['one failing issuances', [s('a', true, { health: { failures: 2, unavailableUntil: '2026-03-01T00:01:00Z', lastFailureMessage: 'HTTP 503' } }), s('b', true)], true, Reason.IssuersDegraded],
    ['none ready', [s('a', false), s('b', false)], false, Reason.IssuerNotReady],
  ])('%s', (_name, issuers, ok, reason) => {
    const r = policyReadiness(issuers);
    expect([r.ok, r.explanation.reason]).toEqual([ok, reason]);
  });
});
