import { readFile } from 'node:fs/promises';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../log.js';
import { acmeMetrics, statusClass, type AcmeIssuanceStep } from './metrics.js';
import type { AriPollBounds } from './ari.js';
import { Http01Solver, type Http01Answer } from './http01-solver.js';
import type { SelfCheckConfig } from './self-check.js';
import { onAcmeExchange, setAcmeTrust } from './transport.js';

// The process-wide ACME pieces the operator starts once: trust for the CA's
// HTTPS, the requests metric, and the HTTP-01 responder (on every replica,
// leader or not). What the controllers need of it comes back as options.

export interface AcmeRuntimeConfig {
  namespace: string;
  /** Listen for HTTP-01 on this port; undefined: no responder (HTTP-01 challenges then fail with a clear message). */
  http01Port?: number | undefined;
  http01Host: string;
  /** The Service in the operator's namespace in front of the responder (temporary Ingresses route to it). */
  http01Service: string;
  /** Extra CA certificates (PEM file) to trust for the ACME server's HTTPS. */
  caFile?: string | undefined;
  selfCheckNameserver?: string | undefined;
  http01SelfCheckPort: number;
  selfCheckTimeoutMs: number;
  ariMinIntervalMs: number;
  ariMaxIntervalMs: number;
}

/** What the controllers may tell this replica's HTTP-01 responder about challenges they present and take down. */
export interface Http01Answers {
  prime(answer: Http01Answer): void;
  forget(token: string): void;
}

export interface AcmeControllerOptions {
  http01?: { port: number; serviceName: string; answers?: Http01Answers | undefined } | undefined;
  selfCheck: SelfCheckConfig;
  selfCheckTimeoutMs: number;
  ariBounds: AriPollBounds;
  /** Records how long a step of the operator's own work in an issuance took. */
  observeStep?: ((step: AcmeIssuanceStep, ms: number) => void) | undefined;
}

export interface AcmeRuntime {
  controllerOptions: AcmeControllerOptions;
  /** The port the HTTP-01 responder listens on, when it runs. */
  http01Port?: number | undefined;
  stop(): Promise<void>;
}

export async function startAcmeRuntime(
  config: AcmeRuntimeConfig,
  deps: { core: Pick<CoreV1Api, 'readNamespacedSecret'>; log: Logger; clock: Clock; registry: Registry },
): Promise<AcmeRuntime> {
  setAcmeTrust(config.caFile === undefined ? undefined : await readFile(config.caFile, 'utf8'));
  const metrics = acmeMetrics(deps.registry);
  const unsubscribe = onAcmeExchange((e) => {
    let server = 'unknown';
    try {
      server = new URL(e.url).host;
    } catch {
      // keep "unknown"
    }
    metrics.requests.inc({ server, action: e.action, status: statusClass(e.status ?? 'error') });
    metrics.duration.observe({ server, action: e.action }, e.durationMs / 1000);
  });
  let solver: Http01Solver | undefined;
  let http01Port: number | undefined;
  if (config.http01Port !== undefined) {
    solver = new Http01Solver({ secrets: deps.core, namespace: config.namespace, clock: deps.clock, log: deps.log.child({ component: 'http01-solver' }) });
    http01Port = await solver.start(config.http01Port, config.http01Host);
  }
  return {
    http01Port,
    controllerOptions: {
      http01:
        http01Port === undefined || solver === undefined
          ? undefined
          : {
              port: http01Port,
              serviceName: config.http01Service,
              answers: { prime: (a: Http01Answer) => solver?.prime(a), forget: (token: string) => solver?.forget(token) },
            },
      selfCheck: { http01Port: config.http01SelfCheckPort, nameserver: config.selfCheckNameserver, timeoutMs: 5_000 },
      selfCheckTimeoutMs: config.selfCheckTimeoutMs,
      ariBounds: { minMs: config.ariMinIntervalMs, maxMs: config.ariMaxIntervalMs },
      observeStep: (step, ms) => metrics.steps.observe({ step }, ms / 1000),
    },
    async stop() {
      unsubscribe();
      await solver?.close();
    },
  };
}
