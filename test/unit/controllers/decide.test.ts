import { describe, expect, it } from 'vitest';
import { Reason } from '../../../src/api/conditions.js';
import { decide, failureBackoffMs, MANUAL_RENEWAL_INTERVAL_MS, type Gathered } from '../../../src/controllers/certificate/decide.js';
import { RENEW_ANNOTATION } from '../../../src/model/certificate.js';
import { SecretAnnotation } from '../../../src/model/secret.js';
import { certificate, selectingAll, tlsPolicy, withCaIssuer, withDuration, withGuardrails, withSelfSigned, withSpec } from '../../support/builders.js';

const now = new Date('2026-03-01T00:00:00Z');
const ca = tlsPolicy('ca', selectingAll, withCaIssuer('root'));

function gathered(over: Partial<Gathered> = {}): Gathered {
  return { certificate: certificate('web'), namespaceLabels: {}, policies: [ca], secret: { state: 'absent' }, now, ...over };
}

describe('decide', () => {
  it('issues a Certificate that has no Secret yet', () => {
    const d = decide(gathered());
    expect(d.kind).toBe('issue');
    if (d.kind !== 'issue') return;
    expect(d.trigger.reason).toBe(Reason.DoesNotExist);
    expect(d.governed).toMatchObject({ issuerKind: 'ca', issuerIdentity: 'ca:root' });
  });

  it.each([
    ['no policy', gathered({ policies: [] }), Reason.NoPolicy],
    ['missing policyRef', gathered({ certificate: certificate('web', withSpec({ policyRef: { name: 'nope' } })) }), Reason.PolicyNotFound],
    ['validation-only policy', gathered({ policies: [tlsPolicy('v', selectingAll)] }), Reason.PolicyHasNoIssuer],
    [
      'guardrail',
      gathered({ policies: [tlsPolicy('g', selectingAll, withSelfSigned, withGuardrails({ maxDuration: '1h' }))], certificate: certificate('web', withDuration('2h')) }),
      Reason.DurationTooLong,
    ],
  ])('blocks on %s', (_name, g, reason) => {
    const d = decide(g);
    expect(d.kind).toBe('blocked');
    expect(d.kind === 'blocked' && d.violation.reason).toBe(reason);
  });

  it('blocks a second Certificate that names a Secret another one owns, before anything else', () => {
    const d = decide(gathered({ secretClaimedBy: 'first', policies: [] }));
    expect(d.kind === 'blocked' && d.violation).toEqual({
      reason: Reason.SecretInUse,
      message: 'Secret "web-tls" is already written by Certificate "first": choose another secretName',
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ['written for no Certificate (someone else\'s)', {}, Reason.SecretNotOwned],
    ['written for another Certificate', { [SecretAnnotation.certificateName]: 'other' }, Reason.SecretNotOwned],
    ['written for this one', { [SecretAnnotation.certificateName]: 'web' }, Reason.DoesNotExist],
  ])('an existing Secret %s is %s', (_what, annotations, reason) => {
    // An incomplete Secret is re-issued when it is ours; otherwise it is not ours to overwrite.
    const d = decide(gathered({ secret: { state: 'incomplete', missing: ['tls.crt'], annotations } }));
    const got = d.kind === 'blocked' ? d.violation.reason : d.kind === 'issue' ? (d.trigger.reason === Reason.MissingData ? Reason.DoesNotExist : d.trigger.reason) : d.kind;
    expect(got).toBe(reason);
    if (d.kind === 'blocked') expect(d.violation.message).toContain(`${SecretAnnotation.certificateName}=web`);
  });

  it('joins several guardrail violations in one message and keeps them all', () => {
    const policy = tlsPolicy('g', selectingAll, withSelfSigned, withGuardrails({ maxDuration: '1h', allowedKeyAlgorithms: ['ECDSA'] }));
    const d = decide(gathered({ policies: [policy], certificate: certificate('web', withDuration('2h')) }));
    expect(d.kind === 'blocked' && d.compliance?.map((v) => v.reason)).toEqual([Reason.DurationTooLong, Reason.KeyAlgorithmNotAllowed]);
    expect(d.kind === 'blocked' && d.violation.message).toContain('; ');
  });

  it('backs off after a failure of the same generation, and retries at once after an edit', () => {
    const failed = certificate('web');
    failed.status = { failedIssuanceAttempts: 3, lastFailureTime: '2026-02-29T23:59:50Z', observedGeneration: 1 };
    const d = decide(gathered({ certificate: failed }));
    expect(d.kind).toBe('backoff');
    expect(d.kind === 'backoff' && d.retryAt.toISOString()).toBe(new Date(Date.parse('2026-02-29T23:59:50Z') + 40_000).toISOString());

    failed.metadata.generation = 2;
    expect(decide(gathered({ certificate: failed })).kind).toBe('issue');
  });

  it('a valid Secret with an old renew request is current; a newer request re-issues', () => {
    const facts = {
      dnsNames: ['web.example.com'], ipAddresses: [], uris: [], emailAddresses: [], isCA: false,
      notBefore: new Date('2026-02-20T00:00:00Z'), notAfter: new Date('2026-05-20T00:00:00Z'),
      serialNumber: '1', fingerprintSHA256: 'f', keyAlgorithm: 'RSA' as const, keySize: 2048,
    };
    const first = decide(gathered());
    if (first.kind !== 'issue') throw new Error('expected issue');
    const secret = { state: 'valid' as const, facts, annotations: { 'certkeeper.dev/spec-hash': first.governed.specHash, 'certkeeper.dev/certificate-name': 'web' } };
    expect(decide(gathered({ secret })).kind).toBe('current');
    const asked = certificate('web');
    asked.metadata.annotations = { [RENEW_ANNOTATION]: '2026-02-25T00:00:00Z' };
    const d = decide(gathered({ secret, certificate: asked }));
    expect(d.kind === 'issue' && d.trigger.reason).toBe(Reason.ManuallyTriggered);

    // Honoured at once, then at most once per 10 minutes: a request stamped again and again waits.
    const again = certificate('web');
    again.metadata.annotations = { [RENEW_ANNOTATION]: '2026-02-28T23:59:00Z' };
    again.status = { lastManualRenewalTime: '2026-02-28T23:55:00Z' };
    const limited = decide(gathered({ secret, certificate: again }));
    expect(limited.kind).toBe('backoff');
    expect(limited.kind === 'backoff' && [limited.trigger.reason, limited.retryAt.toISOString()]).toEqual([Reason.ManuallyTriggered, new Date(Date.parse('2026-02-28T23:55:00Z') + MANUAL_RENEWAL_INTERVAL_MS).toISOString()]);
  });
});

describe('failureBackoffMs', () => {
  it.each([
    [0, 0],
    [1, 10_000],
    [2, 20_000],
    [5, 160_000],
    [20, 3_600_000],
  ])('after %d failures waits %d ms', (n, ms) => {
    expect(failureBackoffMs(n)).toBe(ms);
  });
});
