import { describe, expect, it } from 'vitest';
import { blockedStatus, failedStatus, readyStatus } from '../../../src/controllers/certificate/status.js';
import { statusChanged, statusMergePatch } from '../../../src/kube/status.js';
import type { IssuedFacts } from '../../../src/model/secret.js';
import { certificate } from '../../support/builders.js';

const now = new Date('2026-03-01T00:00:00Z');
const later = new Date('2026-03-01T01:00:00Z');
const facts: IssuedFacts = {
  dnsNames: ['web.example.com'], ipAddresses: [], uris: [], emailAddresses: [], isCA: false,
  notBefore: new Date('2026-02-28T00:00:00Z'), notAfter: new Date('2026-05-29T00:00:00Z'),
  serialNumber: 'ab', fingerprintSHA256: 'ff', keyAlgorithm: 'RSA', keySize: 2048,
};
const renewal = { time: new Date('2026-04-29T00:00:00Z'), basis: 'Default' as const, jitterMs: 0 };

describe('certificate status', () => {
  it('ready: facts, renewal and conditions with observedGeneration', () => {
    const c = certificate('web');
    const s = readyStatus({ certificate: c, now }, { policy: 'p', facts, renewal, revision: 3 });
    expect(s).toMatchObject({ policy: 'p', notAfter: '2026-05-29T00:00:00Z', renewalTime: '2026-04-29T00:00:00Z', renewalBasis: 'Default', revision: 3, serialNumber: 'ab', observedGeneration: 1 });
    expect(s.conditions?.map((x) => [x.type, x.status, x.reason, x.observedGeneration])).toEqual([
      ['Ready', 'True', 'Issued', 1],
      ['PolicyCompliant', 'True', 'Compliant', 1],
    ]);
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it on a transition', () => {
    const c = certificate('web');
    c.status = readyStatus({ certificate: c, now }, { policy: 'p', facts, renewal, revision: 1 });
    const again = readyStatus({ certificate: c, now: later }, { policy: 'p', facts, renewal, revision: 1 });
    expect(statusChanged(c.status, again)).toBe(false);
    const blocked = blockedStatus({ certificate: c, now: later }, { violation: { reason: 'NoPolicy', message: 'none' } });
    const ready = blocked.conditions?.find((x) => x.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'NoPolicy', lastTransitionTime: '2026-03-01T01:00:00Z' });
    expect(blocked.conditions?.find((x) => x.type === 'PolicyCompliant')).toBeUndefined();
    expect(statusChanged(c.status, blocked)).toBe(true);
  });

  it('a failed renewal keeps Ready while the certificate is still valid; a failed first issuance does not', () => {
    const c = certificate('web');
    c.status = readyStatus({ certificate: c, now }, { policy: 'p', facts, renewal, revision: 1 });
    const trigger = { reason: 'Renewing' as const, message: 'renewal was due' };
    const renewing = failedStatus({ certificate: c, now: later }, { policy: 'p', trigger, error: 'CA expired', stillValid: true, retryAt: later });
    expect(renewing.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
    expect(renewing.conditions?.find((x) => x.type === 'Issuing')).toMatchObject({ status: 'False', reason: 'Backoff' });
    expect(renewing).toMatchObject({ failedIssuanceAttempts: 1, lastFailureMessage: 'CA expired', lastFailureTime: '2026-03-01T01:00:00Z' });

    const fresh = certificate('new');
    const first = failedStatus({ certificate: fresh, now }, { policy: 'p', trigger: { reason: 'DoesNotExist', message: 'no Secret' }, error: 'CA missing', stillValid: false, retryAt: later });
    expect(first.conditions?.find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'IssuanceFailed' });
    fresh.status = first;
    expect(failedStatus({ certificate: fresh, now }, { policy: 'p', trigger: { reason: 'DoesNotExist', message: 'x' }, error: 'y', stillValid: false, retryAt: later }).failedIssuanceAttempts).toBe(2);
  });

  it('the merge patch clears what the new status dropped', () => {
    expect(statusMergePatch({ failedIssuanceAttempts: 2, revision: 1 }, { revision: 2 })).toEqual({ revision: 2, failedIssuanceAttempts: null });
    expect(statusMergePatch(undefined, { revision: 1, policy: undefined })).toEqual({ revision: 1 });
  });
});
