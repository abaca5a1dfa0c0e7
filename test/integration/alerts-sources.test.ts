/**
 * Alerts for certificates outside TLS Secrets, pushed to a real Alertmanager:
 * an expiring webhook CA is critical by default, a certificate in an Opaque
 * Secret alerts by the namespace's thresholds and names the Pod that mounts
 * it; both resolve when the object is fixed.
 */
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningAlertmanager } from '../../hack/env/alertmanager.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { alertmanagerAlerts, startTestAlertmanager, type AlertmanagerAlert } from '../support/alertmanager.js';
import { startTestOperator, uniqueSuffix } from '../support/certkeeper.js';
import { signedLeaf, type Leaf } from '../support/inventory-fixtures.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';
import { DAY_MS, makeTestCa } from '../support/pki.js';

const webhookName = `alerts-${uniqueSuffix()}.certkeeper.dev`;
let am: RunningAlertmanager;
let operator: OperatorProcess;
let expiring: Leaf;
let fine: Leaf;

beforeAll(async () => {
  const ca = await makeTestCa({ commonName: 'alerts sources CA', notBefore: new Date(Date.now() - 200 * DAY_MS), durationMs: 400 * DAY_MS, slot: 330 });
  expiring = await signedLeaf(ca, { commonName: 'soon', dnsNames: ['soon.sources.example'], notBefore: new Date(Date.now() - 80 * DAY_MS), durationMs: 90 * DAY_MS, slot: 331 });
  fine = await signedLeaf(ca, { commonName: 'fine', dnsNames: ['fine.sources.example'], notBefore: new Date(Date.now() - DAY_MS), durationMs: 90 * DAY_MS, slot: 332 });
  am = await startTestAlertmanager('alerts-sources');
  operator = await startTestOperator('alerts-sources', {
    env: { CERTKEEPER_ALERTMANAGER_URL: am.url, CERTKEEPER_ALERT_EVALUATION_INTERVAL: '1s', CERTKEEPER_ALERT_RESEND_INTERVAL: '20s' },
  });
}, 120_000);

afterAll(async () => {
  await operator?.process.stop();
  await am?.stop();
  await testKube()
    .kubeconfig.makeApiClient(AdmissionregistrationV1Api)
    .deleteValidatingWebhookConfiguration({ name: webhookName })
    .catch(() => undefined);
});

async function waitForAlert(match: Record<string, string>, present: boolean): Promise<AlertmanagerAlert[]> {
  return waitFor(
    async ({ observe }) => {
      const alerts = await alertmanagerAlerts(am.url, match);
      observe(alerts.map((a) => a.labels));
      return (alerts.length > 0) === present ? alerts : undefined;
    },
    { description: `Alertmanager to ${present ? 'hold' : 'no longer hold'} ${JSON.stringify(match)}`, timeoutMs: 30_000, intervalMs: 250 },
  );
}

describe('alerts for other sources', () => {
  it('an expiring webhook CA is critical; it resolves once the caBundle is replaced', async () => {
    const admission = testKube().kubeconfig.makeApiClient(AdmissionregistrationV1Api);
    const webhook = (pem: string) => ({
      name: webhookName,
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      // Intercepts a group nobody uses, and is ignored when down: harmless to the other tests on this API server.
      failurePolicy: 'Ignore',
      clientConfig: { url: 'https://127.0.0.1:1/never', caBundle: Buffer.from(pem).toString('base64') },
      rules: [{ apiGroups: ['alerts-test.certkeeper.dev'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['nothing'] }],
    });
    await admission.createValidatingWebhookConfiguration({ body: { metadata: { name: webhookName }, webhooks: [webhook(expiring.certPem)] } });
    const [alert] = await waitForAlert({ alertname: 'WebhookCAExpiring', name: webhookName }, true);
    expect(alert?.labels).toMatchObject({ severity: 'critical', kind: 'validating_webhook', name: webhookName, key: webhookName });
    expect(alert?.annotations.summary).toBe(`The CA of ValidatingWebhookConfiguration ${webhookName} (${webhookName}) expires in ${alert?.annotations.summary?.split(' expires in ')[1] ?? '?'}`);
    expect(alert?.annotations.summary).toMatch(/ expires in (9d 23h|10d)/);

    const current = await admission.readValidatingWebhookConfiguration({ name: webhookName });
    await admission.replaceValidatingWebhookConfiguration({ name: webhookName, body: { ...current, webhooks: [webhook(fine.certPem)] } });
    await waitForAlert({ alertname: 'WebhookCAExpiring', name: webhookName }, false);
  });

  it('a certificate in an Opaque Secret alerts by the namespace thresholds and names the Pod that mounts it', async () => {
    const ns = (await createTestNamespace('alerts-sources')).name;
    const kube = testKube();
    await kube.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'legacy-pem' }, type: 'Opaque', stringData: { 'server.pem': expiring.certPem } } });
    await kube.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'default' } } });
    await kube.core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'legacy-app' }, spec: { automountServiceAccountToken: false, containers: [{ name: 'app', image: 'app' }], volumes: [{ name: 'pem', secret: { secretName: 'legacy-pem' } }] } },
    });
    const [alert] = await waitFor(
      async ({ observe }) => {
        const alerts = await alertmanagerAlerts(am.url, { alertname: 'BundledCertificateExpiring', namespace: ns });
        observe(alerts.map((a) => a.annotations.description));
        return alerts.length === 1 && alerts[0]?.annotations.description?.includes('Used by') === true ? alerts : undefined;
      },
      { description: 'BundledCertificateExpiring naming the Pod', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(alert?.labels).toMatchObject({ severity: 'warning', kind: 'secret_pem', namespace: ns, name: 'legacy-pem', key: 'server.pem' });
    expect(alert?.annotations.description).toContain(`Used by Pod ${ns}/legacy-app (volume).`);

    await kube.core.replaceNamespacedSecret({ namespace: ns, name: 'legacy-pem', body: { metadata: { name: 'legacy-pem' }, type: 'Opaque', stringData: { 'server.pem': fine.certPem } } });
    await waitForAlert({ alertname: 'BundledCertificateExpiring', namespace: ns }, false);
  });
});
