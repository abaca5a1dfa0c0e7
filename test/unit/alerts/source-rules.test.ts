import { beforeAll, describe, expect, it } from 'vitest';
import { desiredAlerts } from '../../../src/alerts/rules.js';
import { buildInventory } from '../../../src/inventory/build.js';
import { SourceKind } from '../../../src/inventory/model.js';
import { configMapSource, secretSource, webhookConfigurationSource, apiServiceSource, type SourceSummary } from '../../../src/inventory/sources/read.js';
import { ThresholdResolver } from '../../../src/inventory/thresholds.js';
import type { AlertSeverity } from '../../../src/alerts/model.js';
import { ConsumerIndex, podConsumer } from '../../../src/inventory/sources/consumers.js';
import { TEST_NOW } from '../../support/pki.js';
import { testWorld, type World } from '../inventory/world.js';

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

const b64 = (text: string): string => Buffer.from(text).toString('base64');

function alertsFor(sources: (SourceSummary | undefined)[], apiServerCaSeverity?: AlertSeverity, consumers?: ConsumerIndex) {
  const thresholds = new ThresholdResolver({ policies: [], namespaceLabels: () => ({}) });
  const inventory = buildInventory({ now: TEST_NOW, secrets: [], certificates: [], thresholds, sources: sources.filter((s) => s !== undefined), consumers });
  return desiredAlerts({ now: TEST_NOW, certificates: [], inventory, thresholds, endpoints: [], notReadyAfterMs: 600_000, apiServerCaSeverity });
}

const webhook = (pem: string) => webhookConfigurationSource(SourceKind.ValidatingWebhook, { metadata: { name: 'policy' }, webhooks: [{ name: 'check.policy.example', clientConfig: { caBundle: b64(pem) } }] });

describe('WebhookCAExpiring', () => {
  it('fires critical for a webhook CA inside the warning window (10 days left), whatever the critical window says', () => {
    const [alert, ...rest] = alertsFor([webhook(w.expiring.certPem)]);
    expect(rest).toEqual([]);
    expect(alert?.labels).toEqual({ alertname: 'WebhookCAExpiring', severity: 'critical', kind: 'validating_webhook', name: 'policy', key: 'check.policy.example' });
    expect(alert?.annotations.summary).toBe('The CA of ValidatingWebhookConfiguration policy (check.policy.example) expires in 10d');
    expect(alert?.annotations.description).toContain('every request webhook "check.policy.example" intercepts fails');
  });

  it('takes its severity from the setting, covers APIServices, and stays quiet for a healthy CA', () => {
    const api = apiServiceSource({ metadata: { name: 'v1beta1.metrics.k8s.io' }, spec: { caBundle: b64(w.expired.certPem) } });
    expect(alertsFor([api], 'warning').map((a) => [a.labels.alertname, a.labels.severity, a.labels.kind])).toEqual([['WebhookCAExpiring', 'warning', 'api_service']]);
    expect(alertsFor([webhook(w.fine.certPem)])).toEqual([]);
  });
});

describe('BundledCertificateExpiring', () => {
  it('fires once per location, about the certificate there that expires first, by the namespace thresholds', () => {
    const bundle = configMapSource({ metadata: { name: 'trust', namespace: 'shop' }, data: { 'ca.crt': w.fine.certPem + w.critical.certPem + w.expiring.certPem } });
    const list = alertsFor([bundle]);
    expect(list.map((a) => a.labels)).toEqual([{ alertname: 'BundledCertificateExpiring', severity: 'critical', kind: 'configmap', namespace: 'shop', name: 'trust', key: 'ca.crt' }]);
    expect(list[0]?.annotations.description).toContain('"critical"');
  });

  it('covers PEM in Opaque Secrets, warning before the critical window, quiet when fine', () => {
    const secret = secretSource({ metadata: { name: 'app', namespace: 'shop' }, data: { 'server.pem': b64(w.expiring.certPem) } });
    expect(alertsFor([secret]).map((a) => `${a.labels.alertname}/${a.labels.severity}/${a.labels.kind}`)).toEqual(['BundledCertificateExpiring/warning/secret_pem']);
    expect(alertsFor([secretSource({ metadata: { name: 'ok', namespace: 'shop' }, data: { 'server.pem': b64(w.fine.certPem) } })])).toEqual([]);
  });
});

describe('consumers in alert descriptions', () => {
  it('names the Pods that use an expiring bundle', () => {
    const bundle = configMapSource({ metadata: { name: 'trust', namespace: 'shop' }, data: { 'ca.crt': w.expiring.certPem } });
    const pod = podConsumer({ metadata: { name: 'web-1', namespace: 'shop' }, spec: { volumes: [{ configMap: { name: 'trust' } }] } });
    const [alert] = alertsFor([bundle], undefined, new ConsumerIndex(pod === undefined ? [] : [pod]));
    expect(alert?.annotations.description).toMatch(/ Used by Pod shop\/web-1 \(volume\)\.$/);
  });
});
