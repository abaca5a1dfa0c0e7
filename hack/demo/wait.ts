import type { CustomObjectsApi } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { certificate as certificateSchema, type Certificate } from '../../src/api/certificate.js';
import { ConditionType, Reason } from '../../src/api/conditions.js';
import type { ApiCondition } from '../../src/api/meta.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import { apiErrorMessage } from '../../src/kube/errors.js';
import type { OperatorProcess } from '../env/index.js';

// Polls the two Certificates until the operator has decided both: storefront
// issued (Ready=True with a fingerprint), intruder refused by the guardrail
// (Ready=False, DomainNotAllowed). Prints each change of their Ready condition.

const POLL_INTERVAL_MS = 250;

export interface Outcome {
  storefront: Certificate;
  intruder: Certificate;
}

export interface WaitOptions {
  api: CustomObjectsApi;
  namespace: string;
  storefront: string;
  intruder: string;
  operator: OperatorProcess;
  timeoutMs: number;
  signal: AbortSignal;
  /** A line for each observed change. */
  report: (line: string) => void;
}

export function readyCondition(cert: Certificate | undefined): ApiCondition | undefined {
  return cert?.status?.conditions?.find((c) => c.type === ConditionType.Ready);
}

function describeReady(cert: Certificate | undefined): string {
  if (cert === undefined) return 'not found';
  const ready = readyCondition(cert);
  if (ready === undefined) return 'no Ready condition yet (not reconciled)';
  return `Ready=${ready.status} (${ready.reason}): ${ready.message}`;
}

function storefrontDone(cert: Certificate | undefined): cert is Certificate {
  return readyCondition(cert)?.status === 'True' && cert?.status?.fingerprintSHA256 !== undefined;
}

function intruderDone(cert: Certificate | undefined): cert is Certificate {
  const ready = readyCondition(cert);
  return ready?.status === 'False' && ready.reason === Reason.DomainNotAllowed;
}

async function readCertificate(api: CustomObjectsApi, namespace: string, name: string): Promise<Certificate> {
  const raw: unknown = await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'certificates', name });
  const parsed = certificateSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`Certificate ${namespace}/${name} does not match the API schema: ${parsed.error.message}`);
  return parsed.data;
}

export async function waitForOutcome(o: WaitOptions): Promise<Outcome> {
  const startedAt = performance.now();
  const deadline = Date.now() + o.timeoutMs;
  const seen = new Map<string, string>();
  let storefront: Certificate | undefined;
  let intruder: Certificate | undefined;
  let lastError: string | undefined;
  for (;;) {
    o.signal.throwIfAborted();
    if (!o.operator.process.running) {
      throw new Error(
        `the operator ${o.operator.process.describeExit() ?? 'stopped'} before the Certificates were decided\n` +
          `--- last lines of the operator log ---\n${o.operator.process.logTail(40)}`,
      );
    }
    try {
      [storefront, intruder] = await Promise.all([
        readCertificate(o.api, o.namespace, o.storefront),
        readCertificate(o.api, o.namespace, o.intruder),
      ]);
      lastError = undefined;
    } catch (error) {
      lastError = apiErrorMessage(error);
    }
    for (const [name, cert] of [[o.storefront, storefront], [o.intruder, intruder]] as const) {
      const now = describeReady(cert);
      if (cert !== undefined && seen.get(name) !== now) {
        seen.set(name, now);
        o.report(`+${((performance.now() - startedAt) / 1000).toFixed(1)}s ${o.namespace}/${name}: ${now}`);
      }
    }
    if (storefrontDone(storefront) && intruderDone(intruder)) return { storefront, intruder };
    if (Date.now() >= deadline) {
      throw new Error(
        [
          `timed out after ${o.timeoutMs / 1000} s waiting for the operator:`,
          `  ${o.namespace}/${o.storefront} should be Ready=True, is ${describeReady(storefront)}`,
          `  ${o.namespace}/${o.intruder} should be Ready=False (DomainNotAllowed), is ${describeReady(intruder)}`,
          ...(lastError === undefined ? [] : [`  last API error: ${lastError}`]),
          `--- last lines of the operator log (${o.operator.process.record.logFile}) ---`,
          o.operator.process.logTail(40),
        ].join('\n'),
      );
    }
    await sleep(POLL_INTERVAL_MS, undefined, { signal: o.signal });
  }
}

export function condition(cert: Certificate | undefined, type: string): ApiCondition | undefined {
  return cert?.status?.conditions?.find((c) => c.type === type);
}

export interface CertificateWait {
  api: CustomObjectsApi;
  namespace: string;
  name: string;
  /** What is awaited, for the timeout message ("Ready=True from Pebble"). */
  expected: string;
  done: (cert: Certificate) => boolean;
  /** The state a person should see change; a line is reported each time it does. */
  describe: (cert: Certificate) => string;
  operator: OperatorProcess;
  timeoutMs: number;
  signal: AbortSignal;
  report: (line: string) => void;
}

/** Polls one Certificate until `done`, reporting each change of `describe`; fails with the operator's log tail otherwise. */
export async function waitForCertificate(o: CertificateWait): Promise<Certificate> {
  const startedAt = performance.now();
  const deadline = Date.now() + o.timeoutMs;
  let last: string | undefined;
  let cert: Certificate | undefined;
  let lastError: string | undefined;
  for (;;) {
    o.signal.throwIfAborted();
    if (!o.operator.process.running) {
      throw new Error(`the operator ${o.operator.process.describeExit() ?? 'stopped'} while waiting for ${o.namespace}/${o.name} ${o.expected}\n` + `--- last lines of the operator log ---\n${o.operator.process.logTail(40)}`);
    }
    try {
      cert = await readCertificate(o.api, o.namespace, o.name);
      lastError = undefined;
    } catch (error) {
      lastError = apiErrorMessage(error);
    }
    if (cert !== undefined) {
      const now = o.describe(cert);
      if (now !== last) {
        last = now;
        o.report(`+${((performance.now() - startedAt) / 1000).toFixed(1)}s ${o.namespace}/${o.name}: ${now}`);
      }
      if (o.done(cert)) return cert;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        [
          `timed out after ${o.timeoutMs / 1000} s waiting for ${o.namespace}/${o.name} ${o.expected}; it is: ${cert === undefined ? 'not found' : o.describe(cert)}`,
          ...(lastError === undefined ? [] : [`  last API error: ${lastError}`]),
          `--- last lines of the operator log (${o.operator.process.record.logFile}) ---`,
          o.operator.process.logTail(40),
        ].join('\n'),
      );
    }
    await sleep(POLL_INTERVAL_MS, undefined, { signal: o.signal });
  }
}
