// Alert delivery metrics. `alertmanager` is the configured URL without
// credentials (one value per --alertmanager-url); alertname and severity come
// from the fixed list in alerts/model.ts: every label is bounded.

import { Counter, Gauge } from 'prom-client';
import { METRIC_PREFIX, oncePerRegistry } from '../metrics/registry.js';

/** What the gauges read at scrape time. */
export interface AlertState {
  firing(): ReadonlyMap<string, number>;
  backlog(): ReadonlyMap<string, number>;
}

export interface AlertMetrics {
  sent: Counter<'alertmanager'>;
  failures: Counter<'alertmanager'>;
  dropped: Counter<'alertmanager'>;
  lastSuccess: Gauge<'alertmanager'>;
  /** The sender whose state the gauges report. */
  attach(state: AlertState): void;
}

export const alertMetrics = oncePerRegistry((registry): AlertMetrics => {
  let state: AlertState | undefined;
  const metrics: AlertMetrics = {
    sent: new Counter({
      name: `${METRIC_PREFIX}alertmanager_alerts_sent_total`,
      help: 'Alerts (firing and resolved) delivered to each Alertmanager.',
      labelNames: ['alertmanager'],
      registers: [registry],
    }),
    failures: new Counter({
      name: `${METRIC_PREFIX}alertmanager_send_failures_total`,
      help: 'Failed deliveries to each Alertmanager (one per failed POST; the batch is retried with backoff).',
      labelNames: ['alertmanager'],
      registers: [registry],
    }),
    dropped: new Counter({
      name: `${METRIC_PREFIX}alertmanager_resolved_dropped_total`,
      help: 'Resolved notifications dropped because the backlog for an unreachable Alertmanager was full (the alert then ends at its endsAt).',
      labelNames: ['alertmanager'],
      registers: [registry],
    }),
    lastSuccess: new Gauge({
      name: `${METRIC_PREFIX}alertmanager_last_success_timestamp_seconds`,
      help: 'When the last delivery to each Alertmanager succeeded (Unix seconds).',
      labelNames: ['alertmanager'],
      registers: [registry],
    }),
    attach(next) {
      state = next;
    },
  };
  new Gauge({
    name: `${METRIC_PREFIX}alertmanager_resolved_backlog`,
    help: 'Resolved alerts waiting to be delivered to each Alertmanager.',
    labelNames: ['alertmanager'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [alertmanager, n] of state?.backlog() ?? []) this.set({ alertmanager }, n);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}alerts_firing`,
    help: 'Alerts certkeeper currently sends as firing, by alertname and severity.',
    labelNames: ['alertname', 'severity'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of state?.firing() ?? []) {
        const [alertname = '', severity = ''] = key.split('\u0000');
        this.set({ alertname, severity }, n);
      }
    },
  });
  return metrics;
});
