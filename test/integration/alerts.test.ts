import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAlertmanager } from '../../hack/env/alertmanager.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { alertIds, alertmanagerAlerts, metricSample, operatorMetric, startAlertingOperator, startTestAlertmanager, type AlertmanagerAlert } from '../support/alertmanager.js';
import { requestRenewal } from '../../src/cli/renew.js';
import { OPERATOR_NAMESPACE, createCaSecret, createCertificate, createPolicy, deletePolicy, getCertificate, replaceCertificateSpec, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { signedLeaf, tlsSecret } from '../support/inventory-fixtures.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';
import { DAY_MS, makeTestCa, type TestCa } from '../support/pki.js';

// The operator pushing to a real Alertmanager (Debian prometheus-alertmanager,
// API v2): the alerts appear with their labels, resolve when the condition
// clears, and survive Alertmanager going away and coming back while the
// operator goes on reconciling. Evaluation every 1 s; resend every 20 s, so
// firing alerts carry an endsAt 80 s ahead — an alert that vanishes sooner
// was resolved by the operator, not timed out.

let am: RunningAlertmanager;
let operator: OperatorProcess;
let ca: TestCa;
const caSecret = `alerts-ca-${uniqueSuffix()}`;
const policies: string[] = [];

beforeAll(async () => {
  am = await startTestAlertmanager('alerts');
  await createCaSecret(caSecret);
  ca = await makeTestCa({ commonName: 'alerts it CA', notBefore: new Date(Date.now() - 200 * DAY_MS), durationMs: 400 * DAY_MS, slot: 400 });
  operator = await startAlertingOperator('alerts', { alertmanagerUrls: [am.url] });
}, 120_000);

afterAll(async () => {
  await operator?.process.stop();
  await am?.stop();
  for (const p of policies) await deletePolicy(p);
});

async function policy(spec: Parameters<typeof createPolicy>[1]): Promise<string> {
  const name = `alerts-${uniqueSuffix()}`;
  policies.push(name);
  await createPolicy(name, spec);
  return name;
}

async function unmanagedSecret(namespace: string, name: string, daysLeft: number, slot: number): Promise<void> {
  const leaf = await signedLeaf(ca, { dnsNames: [`${name}.legacy.example`], notBefore: new Date(Date.now() - (90 - daysLeft) * DAY_MS), durationMs: 90 * DAY_MS, slot });
  await testKube().core.createNamespacedSecret({ namespace, body: tlsSecret({ namespace, name, crt: leaf.certPem, key: leaf.keyPem }) });
}

/** Waits until Alertmanager holds exactly `expected` (see alertIds) for the namespace. */
async function waitForAlerts(url: string, namespace: string, expected: string[], timeoutMs = 30_000): Promise<AlertmanagerAlert[]> {
  return waitFor(
    async ({ observe }) => {
      const alerts = await alertmanagerAlerts(url, { namespace });
      observe(alertIds(alerts));
      return JSON.stringify(alertIds(alerts)) === JSON.stringify([...expected].sort()) ? alerts : undefined;
    },
    { description: `Alertmanager to hold ${JSON.stringify(expected)} for ${namespace}`, timeoutMs, intervalMs: 250 },
  );
}

describe('alerts pushed to Alertmanager', () => {
  it('shows the expected alerts with stable labels, the policy labels and annotations with the numbers', async () => {
    const ns = (await createTestNamespace('alerts')).name;
    const p = await policy({ issuer: { ca: { secretName: caSecret } }, alerts: { managedCertificates: 'ExpiryThresholds', expiryWarning: '2000h', expiryCritical: '24h', labels: { team: 'shop', severity: 'ignored' } } });
    // 30 days of life inside a 2000 h warning window: warning, not critical.
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: ['web.shop.example'], duration: '720h', policyRef: { name: p } });
    await createCertificate(ns, 'lost', { secretName: 'lost-tls', dnsNames: ['lost.shop.example'], policyRef: { name: 'no-such-policy' } });
    await unmanagedSecret(ns, 'old-tls', -2, 401);
    await unmanagedSecret(ns, 'soon-tls', 10, 402);
    // The policy selects this namespace (createCertificate grants it), so its thresholds and labels judge the
    // unmanaged Secrets here too: 100 days is outside its 2000 h window.
    await unmanagedSecret(ns, 'fine-tls', 100, 403);
    await waitForCondition(ns, 'web', { status: 'True' });

    const alerts = await waitForAlerts(am.url, ns, [
      'CertificateExpiringSoon/warning/web',
      'CertificateNotReady/warning/lost',
      'UnmanagedCertificateExpiring/critical/old-tls',
      'UnmanagedCertificateExpiring/warning/soon-tls',
    ]);
    const web = alerts.find((a) => a.labels.certificate === 'web');
    expect(web?.labels).toEqual({ alertname: 'CertificateExpiringSoon', severity: 'warning', namespace: ns, certificate: 'web', secret: 'web-tls', team: 'shop' });
    expect(web?.annotations.summary).toMatch(new RegExp(`^Certificate ${ns}/web expires in 29d 23h$`));
    expect(web?.annotations.description).toContain(`inside the 83d 8h warning window of TLSPolicy "${p}"`);
    expect(web?.annotations.runbook).toContain(`certkeeper status web -n ${ns}`);
    expect(Date.parse(web?.endsAt ?? '')).toBeGreaterThan(Date.now() + 30_000);
    expect(alerts.find((a) => a.labels.certificate === 'lost')?.annotations.description).toMatch(/PolicyNotFound: spec\.policyRef names TLSPolicy "no-such-policy"/);
    expect(alerts.find((a) => a.labels.secret === 'old-tls')?.labels).toEqual({ alertname: 'UnmanagedCertificateExpiring', severity: 'critical', namespace: ns, secret: 'old-tls', managed_by: 'none', team: 'shop' });
    expect(await operatorMetric(operator, 'certkeeper_alertmanager_alerts_sent_total', { alertmanager: am.url })).toBeGreaterThan(0);
  });

  it('resolves an alert when its certificate is renewed', async () => {
    const ns = (await createTestNamespace('resolve')).name;
    const p = await policy({ issuer: { ca: { secretName: caSecret } }, alerts: { managedCertificates: 'ExpiryThresholds', expiryWarning: '2h', expiryCritical: '10m' } });
    await createCertificate(ns, 'short', { secretName: 'short-tls', dnsNames: ['short.shop.example'], duration: '1h', policyRef: { name: p } });
    await waitForCondition(ns, 'short', { status: 'True' });
    const [firing] = await waitForAlerts(am.url, ns, ['CertificateExpiringSoon/warning/short']);
    expect(firing?.annotations.summary).toMatch(/expires in (59m|1h)/);

    // A longer lifetime: certkeeper issues revision 2, 30 days long, and the alert has nothing left to say.
    await replaceCertificateSpec(ns, 'short', { duration: '720h' });
    await waitForCondition(ns, 'short', { status: 'True', where: (c) => (c.status?.revision ?? 0) >= 2 });
    const renewedAt = Date.now();
    await waitForAlerts(am.url, ns, [], 15_000);
    // Far sooner than the 80 s endsAt of the last firing notification: it was resolved, not forgotten.
    expect(Date.now() - renewedAt).toBeLessThan(15_000);
    expect(Date.parse((await getCertificate(ns, 'short')).status?.notAfter ?? '')).toBeGreaterThan(Date.now() + 29 * DAY_MS);
  });

  it('alerts when the renewal of an issued certificate fails', async () => {
    const ns = (await createTestNamespace('failing')).name;
    const ownCa = `alerts-ca-${uniqueSuffix()}`;
    await createCaSecret(ownCa);
    const p = await policy({ issuer: { ca: { secretName: ownCa } } });
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: ['web.shop.example'], policyRef: { name: p } });
    await waitForCondition(ns, 'web', { status: 'True' });
    await testKube().core.deleteNamespacedSecret({ namespace: OPERATOR_NAMESPACE, name: ownCa });
    await requestRenewal(testKube().certkeeper.customObjects, ns, 'web', new Date());
    const [alert] = await waitForAlerts(am.url, ns, ['CertificateRenewalFailing/warning/web']);
    expect(alert?.annotations.description).toMatch(/^1 issuance attempt failed, the last at \d{4}-\d\d-\d\dT[\d:]+Z: /);
    expect(alert?.annotations.description).toContain(ownCa);
  });

  it('by default a certificate it renews alerts only once its renewal is overdue', async () => {
    const ns = (await createTestNamespace('overdue')).name;
    const ownCa = `alerts-ca-${uniqueSuffix()}`;
    await createCaSecret(ownCa);
    const p = await policy({ issuer: { ca: { secretName: ownCa } } });
    // 3 minutes renewed with 150 s left: renewal 30 s in, overdue (warning) 18 s later (10 % of the lifetime).
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: ['web.shop.example'], duration: '3m', renewBefore: '150s', policyRef: { name: p } });
    await createCertificate(ns, 'long', { secretName: 'long-tls', dnsNames: ['long.shop.example'], duration: '480h', policyRef: { name: p } });
    const issued = await waitForCondition(ns, 'web', { status: 'True' });
    await waitForCondition(ns, 'long', { status: 'True' });
    // 20 days left is inside the fixed 21-day window, but its renewal is not due for days: nothing to say.
    await waitForAlerts(am.url, ns, [], 5_000);
    // The CA goes away before the renewal: it fails, and once past the grace it is overdue.
    await testKube().core.deleteNamespacedSecret({ namespace: OPERATOR_NAMESPACE, name: ownCa });
    const alerts = await waitForAlerts(am.url, ns, ['CertificateRenewalFailing/warning/web', 'CertificateRenewalOverdue/warning/web'], 120_000);
    const overdue = alerts.find((a) => a.labels.alertname === 'CertificateRenewalOverdue');
    const renewal = Date.parse(issued.status?.renewalTime ?? '');
    expect(overdue?.annotations.description).toContain(`should have been renewed at ${new Date(renewal).toISOString().replace('.000Z', 'Z')} and was not`);
    // startsAt: renewal time + the grace (18 s of a 180 s lifetime; X.509 times are whole seconds), the same on every evaluation.
    expect(Math.abs(Date.parse(overdue?.startsAt ?? '') - renewal - 18_000)).toBeLessThanOrEqual(1_000);
    // The metrics state the same window (about 132 s and 50 s before expiry; the renewal time carries jitter).
    const metrics = await (await fetch(`${operator.url}/metrics`)).text();
    const threshold = (severity: string) => metricSample(metrics, 'certkeeper_certificate_expiry_alert_threshold_seconds', { namespace: ns, name: 'web', severity, rule: 'renewal_overdue' }) ?? 0;
    const renewalWindow = (Date.parse(issued.status?.notAfter ?? '') - renewal) / 1000;
    expect(threshold('warning')).toBeCloseTo(renewalWindow - 18, 0);
    expect(threshold('critical')).toBeCloseTo(renewalWindow / 3, 0);
  });

  it('only the leader sends; the next leader takes over', async () => {
    const ns = (await createTestNamespace('leader')).name;
    await unmanagedSecret(ns, 'old-tls', -1, 407);
    const lease = `alerts-${uniqueSuffix()}`;
    const sent = async (op: OperatorProcess) => (await operatorMetric(op, 'certkeeper_alertmanager_alerts_sent_total', { alertmanager: am.url })) ?? 0;
    const a = await startAlertingOperator('leader-a', { alertmanagerUrls: [am.url], leaseName: lease });
    let b: OperatorProcess | undefined;
    try {
      await waitFor(async () => ((await sent(a)) > 0 ? true : undefined), { description: 'the leader to send', timeoutMs: 30_000 });
      b = await startAlertingOperator('leader-b', { alertmanagerUrls: [am.url], leaseName: lease });
      // The standby evaluates nothing and sends nothing, for several evaluation intervals.
      await new Promise((r) => setTimeout(r, 4_000));
      expect(await sent(b)).toBe(0);
      await a.process.stop();
      const standby = b;
      await waitFor(async () => ((await sent(standby)) > 0 ? true : undefined), { description: 'the new leader to send', timeoutMs: 60_000 });
      await waitForAlerts(am.url, ns, ['UnmanagedCertificateExpiring/critical/old-tls']);
    } finally {
      await a.process.stop();
      await b?.process.stop();
    }
  });

  it('Alertmanager stopped and restarted mid-run still ends with the right alerts, and the operator never stops reconciling', async () => {
    const ns = (await createTestNamespace('outage')).name;
    const p = await policy({ issuer: { ca: { secretName: caSecret } } });
    await unmanagedSecret(ns, 'before-tls', 5, 404);
    await unmanagedSecret(ns, 'fixed-tls', 3, 405);
    await waitForAlerts(am.url, ns, ['UnmanagedCertificateExpiring/critical/before-tls', 'UnmanagedCertificateExpiring/critical/fixed-tls']);
    const failuresBefore = (await operatorMetric(operator, 'certkeeper_alertmanager_send_failures_total', { alertmanager: am.url })) ?? 0;

    await am.stop();
    // While it is down: one alert starts, one ends, and a Certificate is issued as usual.
    await unmanagedSecret(ns, 'during-tls', -1, 406);
    await testKube().core.deleteNamespacedSecret({ namespace: ns, name: 'fixed-tls' });
    const started = Date.now();
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: ['web.shop.example'], policyRef: { name: p } });
    await waitForCondition(ns, 'web', { status: 'True' }, 20_000);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((await fetch(`${operator.url}/readyz`)).status).toBe(200);
    await waitFor(
      async () => ((await operatorMetric(operator, 'certkeeper_alertmanager_send_failures_total', { alertmanager: am.url })) ?? 0) >= failuresBefore + 2 || undefined,
      { description: 'failed deliveries to be counted', timeoutMs: 20_000 },
    );
    expect(await operatorMetric(operator, 'certkeeper_alerts_firing', { alertname: 'UnmanagedCertificateExpiring', severity: 'critical' })).toBeGreaterThanOrEqual(2);

    am = await startTestAlertmanager('alerts', am.port);
    // A fresh Alertmanager knows nothing: everything it ends up holding came from the operator's retries.
    const alerts = await waitForAlerts(am.url, ns, ['UnmanagedCertificateExpiring/critical/before-tls', 'UnmanagedCertificateExpiring/critical/during-tls'], 40_000);
    expect(alerts.find((a) => a.labels.secret === 'during-tls')?.annotations.summary).toBe(`Certificate in Secret ${ns}/during-tls has expired`);
    expect(await operatorMetric(operator, 'certkeeper_alertmanager_resolved_backlog', { alertmanager: am.url })).toBe(0);
  });
});
