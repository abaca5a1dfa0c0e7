// ACME client metrics, for the ACME issuer to record every request it makes
// to a CA. Named after cert-manager's certmanager_http_acme_client_request_*,
// with bounded labels: the CA host (one per configured ACME server), the
// protocol action (a fixed list, never a URL path, which holds order ids) and
// the HTTP status class.
//
//   const acme = acmeMetrics(registry);
//   const done = acme.start({ server: 'acme-v02.api.letsencrypt.org', action: 'finalize' });
//   ... done(response.status)   // or done('error') when no response came

import { Counter, Histogram } from 'prom-client';
import { METRIC_PREFIX, oncePerRegistry } from '../../metrics/registry.js';

export const ACME_ACTIONS = [
  'directory',
  'nonce',
  'account',
  'order',
  'authorization',
  'challenge',
  'finalize',
  'certificate',
  'revoke',
  'renewal_info',
  'other',
] as const;
export type AcmeAction = (typeof ACME_ACTIONS)[number];

/**
 * The operator's own work in an ACME issuance, apart from its requests to
 * the CA (timed by action above): what the bench adds up into a per-step
 * breakdown of one issuance.
 */
export const ACME_ISSUANCE_STEPS = [
  'account',
  'read_certificate',
  'pending_key',
  'status_write',
  'present',
  'self_check',
  'cleanup',
  'csr',
  'secret_write',
] as const;
export type AcmeIssuanceStep = (typeof ACME_ISSUANCE_STEPS)[number];

export interface AcmeMetrics {
  requests: Counter<'server' | 'action' | 'status'>;
  duration: Histogram<'server' | 'action'>;
  steps: Histogram<'step'>;
  /** Starts timing one request; call the result with the HTTP status, or 'error' when none came. */
  start(labels: { server: string; action: AcmeAction }, now?: () => number): (status: number | 'error') => void;
}

/** "2xx", "4xx", ... or "error": a status class, so each server has at most 6 series per action. */
export function statusClass(status: number | 'error'): string {
  return status === 'error' || status < 100 || status > 599 ? 'error' : `${Math.floor(status / 100)}xx`;
}

export const acmeMetrics = oncePerRegistry((registry): AcmeMetrics => {
  const requests = new Counter({
    name: `${METRIC_PREFIX}acme_client_requests_total`,
    help: 'Requests to ACME servers by server host, protocol action and HTTP status class (2xx, 4xx, 5xx, error).',
    labelNames: ['server', 'action', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${METRIC_PREFIX}acme_client_request_duration_seconds`,
    help: 'Time per request to an ACME server.',
    labelNames: ['server', 'action'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const steps = new Histogram({
    name: `${METRIC_PREFIX}acme_issuance_step_duration_seconds`,
    help: 'Time per step of the operator\'s own work in ACME issuances (Kubernetes reads and writes, self-checks, CSRs), apart from requests to the CA.',
    labelNames: ['step'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  const metrics: AcmeMetrics = {
    requests,
    duration,
    steps,
    start(labels, now = () => performance.now()) {
      const began = now();
      return (status) => {
        requests.inc({ ...labels, status: statusClass(status) });
        duration.observe(labels, (now() - began) / 1000);
      };
    },
  };
  return metrics;
});
