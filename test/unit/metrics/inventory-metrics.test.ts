import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { LiveInventory } from '../../../src/inventory/live.js';
import { acmeMetrics, statusClass } from '../../../src/issuers/acme/metrics.js';
import { registerCertificateMetrics } from '../../../src/inventory/certificate-metrics.js';
import { registerInventoryMetrics } from '../../../src/inventory/metrics.js';
import { registerEndpointMetrics } from '../../../src/endpoints/metrics.js';
import type { ParsedCertificate } from '../../../src/model/certificate.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import { certificate, inNamespace, selecting, tlsPolicy, withPolicySpec } from '../../support/builders.js';
import { CORRUPT_PEM } from '../../support/inventory-fixtures.js';
import { FakeClock } from '../../support/fake-clock.js';
import { cached, secretOf, summary, testWorld, type World } from '../inventory/world.js';

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inner = line.slice(name.length + 1, line.indexOf('}'));
    const parts = inner.split(',');
    if (wanted.every((p) => parts.includes(p)) && parts.length === wanted.length) return Number(line.slice(line.indexOf('} ') + 2));
  }
  return undefined;
}

async function scrape(certificates: ParsedCertificate[], policies: TLSPolicy[] = [], synced = true) {
  const secrets = [
    secretOf(w.fine, { namespace: 'shop', name: 'web-tls', annotations: { 'certkeeper.dev/certificate-name': 'web' } }),
    secretOf(w.expiring, { namespace: 'legacy', name: 'old-tls' }),
    secretOf(w.expired, { namespace: 'legacy', name: 'dead-tls', annotations: { 'cert-manager.io/certificate-name': 'dead' } }),
    summary({ namespace: 'legacy', name: 'corrupt', crt: CORRUPT_PEM, key: 'x' }),
  ];
  const live = new LiveInventory(
    { secrets: { list: () => secrets }, certificates: { list: () => certificates }, policies: { list: () => policies }, namespaceLabels: (ns) => ({ name: ns }), synced: () => synced },
    new FakeClock(),
  );
  const registry = new Registry();
  const source = () => (live.synced() ? live.snapshot() : undefined);
  registerCertificateMetrics(registry, source);
  registerInventoryMetrics(registry, source);
  return registry.metrics();
}

function web(): ParsedCertificate {
  const c = certificate('web', inNamespace('shop'));
  c.status = {
    notBefore: '2025-12-02T00:00:00Z',
    notAfter: '2026-03-02T00:00:00Z',
    renewalTime: '2026-01-31T00:00:00Z',
    failedIssuanceAttempts: 2,
    policy: 'shop',
    conditions: [{ type: 'Ready', status: 'True', reason: 'Issued', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }],
  };
  return cached(c);
}

describe('certificate metrics', () => {
  it('report each Certificate by namespace and name', async () => {
    const text = await scrape([web(), cached(certificate('new', inNamespace('shop')))], [tlsPolicy('shop', withPolicySpec({ alerts: { managedCertificates: 'ExpiryThresholds', expiryWarning: '720h' } }))]);
    const id = { namespace: 'shop', name: 'web' };
    expect(sample(text, 'certkeeper_certificate_expiration_timestamp_seconds', id)).toBe(Date.parse('2026-03-02T00:00:00Z') / 1000);
    expect(sample(text, 'certkeeper_certificate_not_before_timestamp_seconds', id)).toBe(Date.parse('2025-12-02T00:00:00Z') / 1000);
    expect(sample(text, 'certkeeper_certificate_renewal_timestamp_seconds', id)).toBe(Date.parse('2026-01-31T00:00:00Z') / 1000);
    expect(sample(text, 'certkeeper_certificate_failed_issuance_attempts', id)).toBe(2);
    expect(sample(text, 'certkeeper_certificate_ready_status', { ...id, condition: 'True' })).toBe(1);
    expect(sample(text, 'certkeeper_certificate_ready_status', { ...id, condition: 'False' })).toBe(0);
    expect(sample(text, 'certkeeper_certificate_ready_status', { namespace: 'shop', name: 'new', condition: 'Unknown' })).toBe(1);
    expect(sample(text, 'certkeeper_certificate_expiry_alert_threshold_seconds', { ...id, severity: 'warning', rule: 'expiry' })).toBe(720 * 3600);
    expect(sample(text, 'certkeeper_certificate_expiry_alert_threshold_seconds', { ...id, severity: 'critical', rule: 'expiry' })).toBe(7 * 86_400);
    // Never issued: no timestamps.
    expect(sample(text, 'certkeeper_certificate_expiration_timestamp_seconds', { namespace: 'shop', name: 'new' })).toBeUndefined();
  });

  it("give a renewed certificate's thresholds from its renewal schedule, the rule the alerts and the inventory use", async () => {
    const text = await scrape([web(), cached(certificate('new', inNamespace('shop')))], [tlsPolicy('shop')]);
    const id = { namespace: 'shop', name: 'web' };
    // 90 days renewed 30 days early: warning 21 days before expiry (renewal + 9 days), critical 10 days before.
    expect(sample(text, 'certkeeper_certificate_expiry_alert_threshold_seconds', { ...id, severity: 'warning', rule: 'renewal_overdue' })).toBe(21 * 86_400);
    expect(sample(text, 'certkeeper_certificate_expiry_alert_threshold_seconds', { ...id, severity: 'critical', rule: 'renewal_overdue' })).toBe(10 * 86_400);
    expect(sample(text, 'certkeeper_certificate_expiry_alert_threshold_seconds', { ...id, severity: 'warning', rule: 'expiry' })).toBeUndefined();
    // Not issued yet: no schedule, so the fixed thresholds.
    expect(sample(text, 'certkeeper_certificate_expiry_alert_threshold_seconds', { namespace: 'shop', name: 'new', severity: 'warning', rule: 'expiry' })).toBe(21 * 86_400);
  });

  it('a standby (caches not synced) reports no series at all', async () => {
    const text = await scrape([web()], [], false);
    expect(text).not.toMatch(/^certkeeper_certificate_expiration_timestamp_seconds\{/m);
    expect(text).not.toMatch(/^certkeeper_inventory_certificates\{/m);
  });
});

describe('inventory metrics', () => {
  it('count identities by managed and primary problem, zeros included', async () => {
    const text = await scrape([web()]);
    expect(sample(text, 'certkeeper_inventory_certificates', { managed: 'certkeeper', problem: 'none' })).toBe(1);
    expect(sample(text, 'certkeeper_inventory_certificates', { managed: 'unmanaged', problem: 'expiring' })).toBe(1);
    expect(sample(text, 'certkeeper_inventory_certificates', { managed: 'other', problem: 'expired' })).toBe(1);
    expect(sample(text, 'certkeeper_inventory_certificates', { managed: 'unmanaged', problem: 'unparsable' })).toBe(1);
    expect(sample(text, 'certkeeper_inventory_certificates', { managed: 'other', problem: 'key_mismatch' })).toBe(0);
    expect(text.match(/^certkeeper_inventory_certificates\{/gm)).toHaveLength(3 * 10);
  });

  it('give per-Secret expiry only for Secrets certkeeper does not write', async () => {
    const text = await scrape([web()]);
    expect(sample(text, 'certkeeper_secret_certificate_expiration_timestamp_seconds', { namespace: 'legacy', secret: 'old-tls', managed: 'unmanaged' })).toBe(Date.parse('2026-01-11T00:00:00Z') / 1000);
    expect(sample(text, 'certkeeper_secret_certificate_expiration_timestamp_seconds', { namespace: 'legacy', secret: 'dead-tls', managed: 'other' })).toBe(Date.parse('2025-12-30T00:00:00Z') / 1000);
    expect(text).not.toMatch(/certkeeper_secret_certificate_expiration_timestamp_seconds\{[^}]*secret="web-tls"/);
    expect(text).not.toMatch(/certkeeper_secret_certificate_expiration_timestamp_seconds\{[^}]*secret="corrupt"/);
  });

  it('give the thresholds of the policy selecting each namespace', async () => {
    const policy = tlsPolicy('legacy', selecting({ name: 'legacy' }), withPolicySpec({ alerts: { expiryWarning: '48h', expiryCritical: '24h' } }));
    const text = await scrape([web()], [policy]);
    expect(sample(text, 'certkeeper_namespace_expiry_alert_threshold_seconds', { namespace: 'legacy', severity: 'warning' })).toBe(48 * 3600);
    expect(sample(text, 'certkeeper_namespace_expiry_alert_threshold_seconds', { namespace: 'legacy', severity: 'critical' })).toBe(24 * 3600);
    expect(sample(text, 'certkeeper_namespace_expiry_alert_threshold_seconds', { namespace: 'shop', severity: 'warning' })).toBeUndefined();
  });

  it('never carry key material', async () => {
    expect(await scrape([web()])).not.toContain(w.fine.keyPem.split('\n')[1] ?? 'unreachable');
  });
});

describe('ACME metrics', () => {
  it('count requests by server, action and status class, and time them', async () => {
    const registry = new Registry();
    const acme = acmeMetrics(registry);
    expect(acmeMetrics(registry)).toBe(acme);
    let t = 0;
    const done = acme.start({ server: 'acme.example', action: 'finalize' }, () => t);
    t = 1500;
    done(201);
    acme.start({ server: 'acme.example', action: 'order' }, () => t)('error');
    const text = await registry.metrics();
    expect(sample(text, 'certkeeper_acme_client_requests_total', { server: 'acme.example', action: 'finalize', status: '2xx' })).toBe(1);
    expect(sample(text, 'certkeeper_acme_client_requests_total', { server: 'acme.example', action: 'order', status: 'error' })).toBe(1);
    expect(sample(text, 'certkeeper_acme_client_request_duration_seconds_sum', { server: 'acme.example', action: 'finalize' })).toBe(1.5);
    expect([statusClass(429), statusClass(503), statusClass(0)]).toEqual(['4xx', '5xx', 'error']);
  });
});

describe('endpoint metrics (for live validation)', () => {
  it('report staleness, violations, grade, protocols and expiry per backend address', async () => {
    const registry = new Registry();
    registerEndpointMetrics(registry, () => ({
      dropped: 3,
      rows: [
      { namespace: 'shop', service: 'web', port: 443, address: '10.0.0.1', certificates: [{ name: 'web', stale: true }], policies: [] },
      { namespace: 'shop', service: 'web', port: 443, address: '10.0.0.2', certificates: [{ name: 'web', stale: false }], policies: [] },
      {
        namespace: 'shop',
        service: 'api',
        port: 8443,
        address: '10.0.0.3',
        certificates: [],
        policies: [{ name: 'strict', violations: 2, grade: 4 }],
        protocols: { 'TLSv1.0': true, 'TLSv1.3': false },
        notAfterSeconds: 1_800_000_000,
      },
      ],
    }));
    const text = await registry.metrics();
    expect(text).toMatch(/^certkeeper_endpoint_addresses_not_exported 3$/m);
    const web = { namespace: 'shop', service: 'web', port: '443' };
    const api = { namespace: 'shop', service: 'api', port: '8443', address: '10.0.0.3' };
    expect(sample(text, 'certkeeper_endpoint_certificate_stale', { ...web, address: '10.0.0.1', certificate: 'web' })).toBe(1);
    expect(sample(text, 'certkeeper_endpoint_certificate_stale', { ...web, address: '10.0.0.2', certificate: 'web' })).toBe(0);
    expect(sample(text, 'certkeeper_endpoint_policy_violations', { ...api, policy: 'strict' })).toBe(2);
    expect(sample(text, 'certkeeper_endpoint_grade', { ...api, policy: 'strict' })).toBe(4);
    expect(sample(text, 'certkeeper_endpoint_protocol_enabled', { ...api, version: 'TLSv1.0' })).toBe(1);
    expect(sample(text, 'certkeeper_endpoint_protocol_enabled', { ...api, version: 'TLSv1.3' })).toBe(0);
    expect(sample(text, 'certkeeper_endpoint_certificate_not_after_seconds', api)).toBe(1_800_000_000);
    expect(text).not.toMatch(/certkeeper_endpoint_certificate_not_after_seconds\{[^}]*address="10\.0\.0\.1"/);
  });
});
