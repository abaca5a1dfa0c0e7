// Reconcile metrics shared by every controller (told apart by the
// `controller` label), named after controller-runtime's with our prefix.
// Created once per registry: prom-client refuses a second metric of a name.

import { Counter, Gauge, Histogram } from 'prom-client';
import { METRIC_PREFIX, oncePerRegistry } from '../metrics/registry.js';

export type ReconcileOutcome = 'success' | 'requeue_after' | 'error' | 'terminal_error';

export interface ControllerMetrics {
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileDuration: Histogram<'controller'>;
  retries: Counter<'controller'>;
  /** Reports each registered queue's length at scrape time. */
  addQueue(controller: string, length: () => number): () => void;
}

export const controllerMetrics = oncePerRegistry((registry): ControllerMetrics => {
  const queues = new Map<string, () => number>();
  const metrics: ControllerMetrics = {
    reconcileTotal: new Counter({
      name: `${METRIC_PREFIX}reconcile_total`,
      help: 'Reconciles by controller and result (success, requeue_after, error, terminal_error).',
      labelNames: ['controller', 'result'],
      registers: [registry],
    }),
    reconcileDuration: new Histogram({
      name: `${METRIC_PREFIX}reconcile_duration_seconds`,
      help: 'Time per reconcile.',
      labelNames: ['controller'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    retries: new Counter({
      name: `${METRIC_PREFIX}workqueue_retries_total`,
      help: 'Keys re-queued with backoff after a failed reconcile.',
      labelNames: ['controller'],
      registers: [registry],
    }),
    addQueue(controller, length) {
      queues.set(controller, length);
      return () => {
        queues.delete(controller);
      };
    },
  };
  new Gauge({
    name: `${METRIC_PREFIX}workqueue_depth`,
    help: 'Keys waiting in the work queue.',
    labelNames: ['controller'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [controller, length] of queues) this.set({ controller }, length());
    },
  });
  return metrics;
});
