import { beforeAll, describe, expect, it } from 'vitest';
import { renderDescribe, type DescribeInput } from '../../../src/cli/describe.js';
import { certificate, inNamespace, tlsPolicy, withPolicySpec, withSpec } from '../../support/builders.js';
import { TEST_NOW } from '../../support/pki.js';
import { secretOf, summary, testWorld, type World } from './world.js';

// `certkeeper status NAME -n NS`: the pure renderer.

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

function input(o: Partial<DescribeInput> = {}): DescribeInput {
  const c = certificate('web', inNamespace('shop'), withSpec({ commonName: 'web', endpoints: [{ service: 'web', port: 443 }], privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS1', rotationPolicy: 'Always' } }));
  c.status = {
    policy: 'internal',
    notBefore: '2025-12-02T00:00:00Z',
    notAfter: '2026-01-11T00:00:00Z',
    renewalTime: '2025-12-30T00:00:00Z',
    renewalBasis: 'Default',
    revision: 3,
    serialNumber: '0a1b',
    failedIssuanceAttempts: 4,
    lastFailureTime: '2025-12-31T23:00:00Z',
    lastFailureMessage: 'CA Secret "ca" not found',
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Issued', message: 'certificate is valid until 2026-01-11T00:00:00Z', lastTransitionTime: '2025-12-02T00:00:00Z' },
      { type: 'Issuing', status: 'False', reason: 'Backoff', message: 'renewal due: CA Secret "ca" not found', lastTransitionTime: '2025-12-30T00:00:00Z' },
    ],
  };
  return {
    raw: { status: { endpoints: [{ service: 'web', port: 443, verified: false, reason: 'StaleCertificate' }] } },
    certificate: c,
    secret: { state: 'found', summary: secretOf(w.expiring, { namespace: 'shop', name: 'web-tls', annotations: { 'certkeeper.dev/certificate-name': 'web', 'certkeeper.dev/revision': '3' } }) },
    policy: tlsPolicy('internal', withPolicySpec({ alerts: { managedCertificates: 'ExpiryThresholds', expiryWarning: '720h' } })),
    events: [
      { at: new Date('2025-12-31T23:00:00Z'), type: 'Warning', reason: 'IssuanceFailed', note: 'CA Secret "ca" not found', count: 4 },
      { at: new Date('2025-12-02T00:00:00Z'), type: 'Normal', reason: 'Issued', note: 'Issued revision 3', count: 1 },
    ],
    now: TEST_NOW,
    ...o,
  };
}

describe('renderDescribe', () => {
  it('shows what someone paged needs, in order', () => {
    const text = renderDescribe(input());
    const order = ['Certificate shop/web', 'Spec:', 'Conditions:', 'Issued certificate:', 'Renewal:', 'Last failure:', 'Secret shop/web-tls:', 'Endpoints:', 'Events (newest first):'];
    const positions = order.map((h) => text.indexOf(h));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(text).toContain('  Ready: True (Issued) certificate is valid until 2026-01-11T00:00:00Z');
    expect(text).toMatch(/Private key:\s+ECDSA 256, PKCS1, rotation Always/);
    expect(text).toMatch(/Issuing\s+False\s+Backoff\s+2025-12-30T00:00:00Z \(2d ago\)\s+renewal due/);
    expect(text).toMatch(/Not after:\s+2026-01-11T00:00:00Z \(in 10d\)/);
    expect(text).toMatch(/Renews at:\s+2025-12-30T00:00:00Z \(2d ago\)/);
    expect(text).toMatch(/Alerts:\s+warning 30d and critical 7d before expiry/);
    expect(text).toMatch(/Failed attempts:\s+4/);
    expect(text).toMatch(/Message:\s+CA Secret "ca" not found/);
    expect(text).toMatch(/Written by:\s+Certificate web, revision 3/);
    expect(text).toContain('Problem:              expiring (warning): expires in 10d');
    expect(text).toContain('web:443: verified=false reason=StaleCertificate');
    expect(text).toMatch(/1h\s+Warning\s+IssuanceFailed\s+x4\s+CA Secret "ca" not found\n.*30d\s+Normal\s+Issued/);
  });

  it('judges a certificate it renews by its renewal schedule, by default', () => {
    const policy = tlsPolicy('internal');
    // 40 days renewed 12 days early: grace min(4d, 4d); renewal 2 days ago is inside it.
    const onTime = renderDescribe(input({ policy }));
    expect(onTime).toMatch(/Alerts:\s+if renewal is overdue: warning 8d and critical 4d before expiry \(renewal time \+ 10 % of the lifetime, two thirds of the renewal window\)/);
    expect(onTime).not.toContain('Problem:');
    const base = input({ policy });
    const late = renderDescribe({ ...base, certificate: { ...base.certificate, status: { ...base.certificate.status, renewalTime: '2025-12-20T00:00:00Z' } } });
    // The Secret's certificate (90 days, w.expiring) renewed 22 days early: grace min(9d, 7d 8h), renewal 12 days ago.
    expect(late).toContain('Problem:              renewal_overdue (warning): not renewed: renewal was due 12d ago, at 2025-12-20T00:00:00Z; expires in 10d');
  });

  it('says what is missing: no status, no Secret, a corrupt Secret', () => {
    const fresh = certificate('new', inNamespace('shop'));
    const text = renderDescribe(input({ certificate: fresh, raw: {}, secret: { state: 'absent' }, events: [] }));
    expect(text).toContain('Ready: Unknown (not reconciled)');
    expect(text).toContain('none yet: the operator has not reconciled this Certificate');
    expect(text).toContain('Secret shop/new-tls:\n  does not exist');
    expect(text).toContain('Events:\n  none');
    const corrupt = renderDescribe(input({ secret: { state: 'found', summary: summary({ namespace: 'shop', name: 'web-tls', crt: 'junk', key: w.fine.keyPem }) } }));
    expect(corrupt).toMatch(/State:\s+invalid: tls\.crt/);
    expect(corrupt).not.toContain(w.fine.keyPem.split('\n')[1] ?? 'unreachable');
  });
});
