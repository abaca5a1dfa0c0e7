/**
 * Integration helpers for alerting: a real Alertmanager per test file (see
 * hack/env/alertmanager.ts), what its API v2 holds, and an operator process
 * configured to push to it.
 */
import { join } from 'node:path';
import { inject } from 'vitest';
import { startAlertmanager, type RunningAlertmanager } from '../../hack/env/alertmanager.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { startTestOperator } from './certkeeper.js';

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

export async function startTestAlertmanager(name: string, port?: number): Promise<RunningAlertmanager> {
  return startAlertmanager({ dir: join(inject('envDir'), `alertmanager-${name}`), name: `alertmanager-${name}`, ...(port === undefined ? {} : { port }) });
}

/** Active alerts (resolved ones are gone from this API), optionally matching label equalities. */
export async function alertmanagerAlerts(url: string, match: Record<string, string> = {}): Promise<AlertmanagerAlert[]> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(match)) query.append('filter', `${k}="${v}"`);
  const res = await fetch(`${url}/api/v2/alerts?${query.toString()}`);
  if (!res.ok) throw new Error(`GET ${url}/api/v2/alerts: HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as AlertmanagerAlert[];
}

/** "alertname/severity/<the label that names the object>", sorted: a compact view for assertions. */
export function alertIds(alerts: AlertmanagerAlert[]): string[] {
  return alerts
    .map((a) => `${a.labels.alertname}/${a.labels.severity}/${a.labels.certificate ?? a.labels.secret ?? a.labels.service ?? ''}`)
    .sort();
}

export interface AlertingOperatorOptions {
  alertmanagerUrls: string[];
  evaluationInterval?: string;
  resendInterval?: string;
  notReadyAfter?: string;
  /** With a Lease of this name (default: no leader election). */
  leaseName?: string;
}

export function startAlertingOperator(name: string, o: AlertingOperatorOptions): Promise<OperatorProcess> {
  return startTestOperator(name, {
    leaderElect: o.leaseName !== undefined,
    env: {
      CERTKEEPER_ALERTMANAGER_URL: o.alertmanagerUrls.join(','),
      CERTKEEPER_ALERT_EVALUATION_INTERVAL: o.evaluationInterval ?? '1s',
      CERTKEEPER_ALERT_RESEND_INTERVAL: o.resendInterval ?? '20s',
      CERTKEEPER_ALERT_NOT_READY_AFTER: o.notReadyAfter ?? '3s',
      ...(o.leaseName === undefined ? {} : { CERTKEEPER_LEASE_NAME: o.leaseName }),
    },
  });
}

/** One sample of the operator's /metrics, or undefined. Labels must match exactly the given ones (others may exist). */
export async function operatorMetric(op: OperatorProcess, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${op.url}/metrics`)).text();
  return metricSample(text, name, labels);
}

export function metricSample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const inner = line.includes('{') ? line.slice(line.indexOf('{') + 1, line.indexOf('}')) : '';
    const parts = inner === '' ? [] : inner.split(',');
    if (wanted.every((p) => parts.includes(p))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}
