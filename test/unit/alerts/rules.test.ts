import { beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../../src/api/certificate.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import { ALERT_NAMES, alertKey, type DesiredAlert, type EndpointObservation } from '../../../src/alerts/model.js';
import { ALERT_RULES, desiredAlerts } from '../../../src/alerts/rules.js';
import { ThresholdResolver } from '../../../src/inventory/thresholds.js';
import type { TlsSecretSummary } from '../../../src/model/secret.js';
import { certificate, inNamespace, tlsPolicy, withPolicySpec } from '../../support/builders.js';
import { DAY_MS, TEST_NOW } from '../../support/pki.js';
import { build, cached, secretOf, testWorld, type World } from '../inventory/world.js';

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
const at = (daysFromNow: number) => iso(TEST_NOW.getTime() + daysFromNow * DAY_MS);

function issued(
  name: string,
  o: { notAfterDays: number; lifetimeDays?: number; renewBeforeDays?: number | null; ready?: 'True' | 'False'; since?: string; attempts?: number; policy?: string },
): Certificate {
  const c = certificate(name, inNamespace('shop'));
  c.metadata.creationTimestamp = at(-100);
  c.status = {
    notBefore: at(o.notAfterDays - (o.lifetimeDays ?? 90)),
    notAfter: at(o.notAfterDays),
    ...(o.renewBeforeDays === null ? {} : { renewalTime: at(o.notAfterDays - (o.renewBeforeDays ?? 30)) }),
    serialNumber: 'abc',
    ...(o.policy === undefined ? {} : { policy: o.policy }),
    ...(o.attempts === undefined ? {} : { failedIssuanceAttempts: o.attempts, lastFailureTime: at(-1), lastFailureMessage: 'CA Secret gone' }),
    conditions: [{ type: 'Ready', status: o.ready ?? 'True', reason: o.ready === 'False' ? 'IssuanceFailed' : 'Issued', message: 'm', lastTransitionTime: o.since ?? at(-1) }],
  };
  return c;
}

interface Input {
  certificates?: Certificate[];
  secrets?: TlsSecretSummary[];
  policies?: TLSPolicy[];
  endpoints?: EndpointObservation[];
  now?: Date;
}

function alerts(i: Input): DesiredAlert[] {
  const policies = i.policies ?? [];
  const certificates = (i.certificates ?? []).map(cached);
  const now = i.now ?? TEST_NOW;
  return desiredAlerts({
    now,
    certificates,
    inventory: build(i.secrets ?? [], { certificates, policies, now }),
    thresholds: new ThresholdResolver({ policies, namespaceLabels: () => ({}) }),
    endpoints: i.endpoints ?? [],
    notReadyAfterMs: 10 * 60_000,
  });
}

const names = (list: DesiredAlert[]) => list.map((a) => `${a.labels.alertname}/${a.labels.severity}`);

// Absolute thresholds, as for every certificate before the short-lived era: a policy that asks for them.
const fixed = tlsPolicy('fixed', withPolicySpec({ alerts: { managedCertificates: 'ExpiryThresholds' } }));

describe('certificate expiry rules (ExpiryThresholds)', () => {
  it.each([
    [60, []],
    [15, ['CertificateExpiringSoon/warning']],
    [5, ['CertificateExpiringSoon/critical']],
    [-1, ['CertificateExpired/critical']],
  ] as const)('%d days left -> %j', (days, expected) => {
    expect(names(alerts({ certificates: [issued('web', { notAfterDays: days, policy: 'fixed' })], policies: [fixed] }))).toEqual(expected);
  });

  it('has stable labels and annotations with the numbers', () => {
    const [alert] = alerts({ certificates: [issued('web', { notAfterDays: 5, policy: 'fixed' })], policies: [fixed] });
    expect(alert?.labels).toEqual({ alertname: 'CertificateExpiringSoon', severity: 'critical', namespace: 'shop', certificate: 'web', secret: 'web-tls' });
    expect(alert?.annotations.summary).toBe('Certificate shop/web expires in 5d');
    expect(alert?.annotations.description).toBe(
      'The certificate in Secret shop/web-tls (serial abc) expires at 2026-01-06T00:00:00Z, in 5d: inside the 7d critical window of TLSPolicy "fixed"; renewal was due at 2025-12-07T00:00:00Z.',
    );
    expect(alert?.annotations.runbook).toContain('certkeeper status web -n shop');
    // When the window was entered, not when we noticed: the same on every replica and after restarts.
    expect(alert?.startsAt.toISOString()).toBe('2025-12-30T00:00:00.000Z');
  });

  it('uses the thresholds and extra labels of the governing policy, never letting them override its own', () => {
    const policy = tlsPolicy(
      'strict',
      withPolicySpec({ alerts: { managedCertificates: 'ExpiryThresholds', expiryWarning: '1440h', expiryCritical: '720h', labels: { team: 'shop', severity: 'info', namespace: 'x' } } }),
    );
    const [alert] = alerts({ certificates: [issued('web', { notAfterDays: 45, policy: 'strict' })], policies: [policy] });
    expect(alert?.labels).toEqual({ team: 'shop', alertname: 'CertificateExpiringSoon', severity: 'warning', namespace: 'shop', certificate: 'web', secret: 'web-tls' });
    expect(alert?.annotations.description).toContain('TLSPolicy "strict"');
  });

  it('a managed certificate with no known renewal time is judged by the thresholds (the default rule has no schedule to judge)', () => {
    expect(names(alerts({ certificates: [issued('web', { notAfterDays: 15, renewBeforeDays: null })] }))).toEqual(['CertificateExpiringSoon/warning']);
  });
});

describe('renewal overdue (the default for certificates certkeeper renews)', () => {
  // 90 days renewed 30 days early: grace 9 days, so a warning 21 days before expiry and critical at 10 days.
  it.each([
    [60, []],
    [25, []], // renewal 5 days ago: inside the grace
    [21.5, []],
    [20.5, ['CertificateRenewalOverdue/warning']],
    [10.5, ['CertificateRenewalOverdue/warning']],
    [9.5, ['CertificateRenewalOverdue/critical']],
    [-1, ['CertificateExpired/critical']],
  ] as const)('90 days, %d days left -> %j', (days, expected) => {
    expect(names(alerts({ certificates: [issued('web', { notAfterDays: days })] }))).toEqual(expected);
  });

  // 6 days renewed 2 days early (Let's Encrypt's shortlived profile): grace min(14h 24m, 16h).
  it.each([
    [3, []], // renewal still a day ahead: "expires within 21 days" would fire here
    [2 - 14 / 24, []], // 14 h past the renewal time: inside the grace
    [2 - 15 / 24, ['CertificateRenewalOverdue/warning']],
    [2 - 33 / 24, ['CertificateRenewalOverdue/critical']], // 32 h of the 48 h between renewal and expiry are gone
  ] as const)('6 days, %d days left -> %j', (days, expected) => {
    expect(names(alerts({ certificates: [issued('short', { notAfterDays: days, lifetimeDays: 6, renewBeforeDays: 2 })] }))).toEqual(expected);
  });

  it('a 24-hour certificate renewed on schedule never alerts; 3 hours late it does', () => {
    const day = (hoursLeft: number) => issued('daily', { notAfterDays: hoursLeft / 24, lifetimeDays: 1, renewBeforeDays: 8 / 24 });
    for (const hoursLeft of [23, 12, 8.5, 6]) expect(names(alerts({ certificates: [day(hoursLeft)] })), `${hoursLeft} h left`).toEqual([]);
    expect(names(alerts({ certificates: [day(5)] }))).toEqual(['CertificateRenewalOverdue/warning']);
    expect(names(alerts({ certificates: [day(2)] }))).toEqual(['CertificateRenewalOverdue/critical']);
  });

  it('a renewal window shorter than the grace warns after a third of it (warning before critical, both before expiry)', () => {
    // 90 days renewed 3 days early: 10 % would be 9 days, past expiry; a third of the window is 1 day.
    const late = (days: number) => names(alerts({ certificates: [issued('web', { notAfterDays: days, renewBeforeDays: 3 })] }));
    expect(late(2.1)).toEqual([]);
    expect(late(1.9)).toEqual(['CertificateRenewalOverdue/warning']);
    expect(late(0.9)).toEqual(['CertificateRenewalOverdue/critical']);
  });

  it("follows the policy's renewalGracePercentage", () => {
    const tight = tlsPolicy('tight', withPolicySpec({ alerts: { renewalGracePercentage: 2 } }));
    // 90 days: 2 % is 1d 19h 12m; renewal 3 days ago.
    expect(names(alerts({ certificates: [issued('web', { notAfterDays: 27, policy: 'tight' })], policies: [tight] }))).toEqual(['CertificateRenewalOverdue/warning']);
    expect(names(alerts({ certificates: [issued('web', { notAfterDays: 27 })] }))).toEqual([]);
  });

  it('says when renewal was due, how late it is and where to look', () => {
    const [alert] = alerts({ certificates: [issued('web', { notAfterDays: 15 })] });
    expect(alert?.labels).toEqual({ alertname: 'CertificateRenewalOverdue', severity: 'warning', namespace: 'shop', certificate: 'web', secret: 'web-tls' });
    expect(alert?.annotations.summary).toBe('Certificate shop/web was not renewed: 15d overdue, expires in 15d');
    expect(alert?.annotations.description).toBe(
      'The certificate in Secret shop/web-tls (serial abc, valid 90d) should have been renewed at 2025-12-17T00:00:00Z and was not; it expires at 2026-01-16T00:00:00Z, in 15d. Warning: renewal is late by more than its grace (9d: 10 % of the lifetime, by the default thresholds).',
    );
    expect(alert?.annotations.runbook).toContain('certkeeper renew web -n shop');
    // Renewal time plus the grace: the same on every replica and after restarts.
    expect(alert?.startsAt.toISOString()).toBe('2025-12-26T00:00:00.000Z');
  });
});

describe('readiness and renewal rules', () => {
  it('not Ready for longer than the grace period fires; shorter does not', () => {
    expect(names(alerts({ certificates: [issued('web', { notAfterDays: 60, ready: 'False', since: iso(TEST_NOW.getTime() - 11 * 60_000) })] }))).toEqual(['CertificateNotReady/warning']);
    expect(names(alerts({ certificates: [issued('web', { notAfterDays: 60, ready: 'False', since: iso(TEST_NOW.getTime() - 9 * 60_000) })] }))).toEqual([]);
  });

  it('a Certificate never reconciled counts from its creation', () => {
    const c = certificate('new', inNamespace('shop'));
    c.metadata.creationTimestamp = iso(TEST_NOW.getTime() - HOUR);
    const [alert] = alerts({ certificates: [c] });
    expect(alert?.labels.alertname).toBe('CertificateNotReady');
    expect(alert?.annotations.description).toContain('it has not been reconciled');
  });

  it('failing issuance after a certificate was issued is a failing renewal', () => {
    const list = alerts({ certificates: [issued('web', { notAfterDays: 25, attempts: 3 })] });
    expect(names(list)).toEqual(['CertificateRenewalFailing/warning']);
    expect(list[0]?.annotations.description).toContain('3 issuance attempts failed, the last at 2025-12-31T00:00:00Z: CA Secret gone');
  });

  it('a deleted Certificate alerts no more', () => {
    const c = issued('web', { notAfterDays: -1 });
    c.metadata.deletionTimestamp = at(0);
    expect(alerts({ certificates: [c] })).toEqual([]);
  });
});

describe('unmanaged certificate rule', () => {
  it('fires for tls.crt of Secrets certkeeper does not write, by namespace and secret', () => {
    const list = alerts({
      secrets: [
        secretOf(w.fine, { namespace: 'legacy', name: 'fine' }),
        secretOf(w.expiring, { namespace: 'legacy', name: 'soon', annotations: { 'cert-manager.io/certificate-name': 'x' } }),
        secretOf(w.expired, { namespace: 'legacy', name: 'gone' }),
        secretOf(w.critical, { namespace: 'shop', name: 'web-tls', annotations: { 'certkeeper.dev/certificate-name': 'web' } }),
      ],
    });
    expect(list.map((a) => a.labels)).toEqual([
      { alertname: 'UnmanagedCertificateExpiring', severity: 'critical', namespace: 'legacy', secret: 'gone', managed_by: 'none' },
      { alertname: 'UnmanagedCertificateExpiring', severity: 'warning', namespace: 'legacy', secret: 'soon', managed_by: 'cert-manager' },
    ]);
    expect(list[0]?.annotations.summary).toBe('Certificate in Secret legacy/gone has expired');
  });

  it('a CA bundle copied into ca.crt does not alert for every Secret that carries it', () => {
    const list = alerts({ secrets: [secretOf(w.fine, { namespace: 'a', name: 'x', ca: w.ca['ca.crt'] })], now: new Date(TEST_NOW.getTime() + 360 * DAY_MS) });
    expect(list.map((a) => a.labels.secret)).toEqual(['x']);
  });
});

describe('endpoint rules (fed by live validation)', () => {
  const observation = (o: Partial<EndpointObservation>): EndpointObservation => ({ namespace: 'shop', service: 'web', port: 443, stale: false, since: TEST_NOW, violations: [], ...o });

  it('a stale certificate and a policy violation each fire, by service and port', () => {
    const list = alerts({
      endpoints: [observation({ stale: true, certificate: 'web', servedFingerprintSHA256: 'aa', expectedFingerprintSHA256: 'bb' }), observation({ port: 8443, violations: [{ id: 'tls10', message: 'TLS 1.0 accepted' }] })],
    });
    expect(list.map((a) => a.labels)).toEqual([
      { alertname: 'EndpointServesStaleCertificate', severity: 'warning', namespace: 'shop', service: 'web', port: '443', certificate: 'web' },
      { alertname: 'EndpointPolicyViolation', severity: 'warning', namespace: 'shop', service: 'web', port: '8443' },
    ]);
    expect(list[1]?.annotations.description).toContain('tls10: TLS 1.0 accepted');
  });

  it('a healthy endpoint does not fire', () => {
    expect(alerts({ endpoints: [observation({})] })).toEqual([]);
  });
});

describe('CertificateIssuedByFallback', () => {
  const withIssuer = (name: string, issuer: string, skipped: NonNullable<Certificate['status']>['skippedIssuers']) => {
    const c = issued(name, { notAfterDays: 60, policy: 'shop' });
    c.status = { ...c.status, issuer, ...(skipped === undefined ? {} : { skippedIssuers: skipped }) };
    return c;
  };

  it('fires for a certificate a fallback issued, naming it and why the others were passed over', () => {
    const list = alerts({ certificates: [withIssuer('api', 'secondary', [{ name: 'primary', reason: 'IssuerUnavailable', message: 'connect ECONNREFUSED' }])] });
    expect(list).toHaveLength(1);
    expect(list[0]?.labels).toMatchObject({ alertname: 'CertificateIssuedByFallback', severity: 'warning', namespace: 'shop', certificate: 'api', issuer: 'secondary' });
    expect(list[0]?.annotations.description).toContain('"primary" (IssuerUnavailable: connect ECONNREFUSED)');
    expect(list[0]?.startsAt).toEqual(new Date(at(-30)));
  });

  it.each([
    ['the first issuer', withIssuer('web', 'primary', undefined)],
    ['an issuer after ones that can never issue the Certificate (a choice of the policy)', withIssuer('db', 'internal', [{ name: 'primary', reason: 'IssuerNotEligible', message: 'no solver' }])],
    ['no issuer recorded (before ordered issuers)', issued('old', { notAfterDays: 60 })],
  ])('does not fire for %s', (_name, c) => {
    expect(alerts({ certificates: [c] })).toEqual([]);
  });
});

describe('CertificateReloadDidNotFix', () => {
  const reloaded = (state: 'Restarted' | 'StillStale' | 'Verified', serialNumber = 'abc') => {
    const c = issued('web', { notAfterDays: 60 });
    c.status = { ...c.status, reload: { serialNumber, state, time: at(-1), workloads: ['Deployment/web'], message: 'restarting Deployment/web did not help: pod web-1 still serves a stale certificate' } };
    return c;
  };
  it('fires when the reload of the current certificate did not fix the stale pods', () => {
    const list = alerts({ certificates: [reloaded('StillStale')] });
    expect(names(list)).toEqual(['CertificateReloadDidNotFix/warning']);
    expect(list[0]?.annotations.description).toContain('pod web-1 still serves');
  });
  it.each([['restarted, no verdict yet', reloaded('Restarted')], ['verified', reloaded('Verified')], ['a verdict about an older certificate', reloaded('StillStale', 'old')]])('does not fire: %s', (_n, c) => {
    expect(alerts({ certificates: [c] })).toEqual([]);
  });
});

describe('desiredAlerts', () => {
  it('covers every alert name with a rule, and yields one alert per label set', () => {
    expect(ALERT_RULES).toHaveLength(10);
    expect(ALERT_NAMES).toHaveLength(12);
    const list = alerts({ certificates: [issued('a', { notAfterDays: 5 }), issued('b', { notAfterDays: -1, ready: 'False', since: at(-1), attempts: 1 })] });
    expect(new Set(list.map((a) => alertKey(a.labels))).size).toBe(list.length);
    expect(names(list).sort()).toEqual(['CertificateExpired/critical', 'CertificateNotReady/warning', 'CertificateRenewalFailing/warning', 'CertificateRenewalOverdue/critical']);
  });
});
