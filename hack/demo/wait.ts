import type { CustomObjectsApi } from '@kubernetes/client-node';
import { certificate as certificateSchema, type Certificate } from '../../src/api/certificate.js';
import { ConditionType, Reason } from '../../src/api/conditions.js';
import type { ApiCondition } from '../../src/api/meta.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import { apiErrorMessage } from '../../src/kube/errors.js';
import type { OperatorProcess } from '../env/index.js';
import { pollUntil, PollTimeoutError, show, type PollContext } from '../env/poll.js';
import { DemoFailure } from './runtime.js';

// The demo's waits on the operator, all one pollUntil that gives up when the
// operator dies: the two first Certificates until it has decided both
// (storefront issued, intruder refused by the guardrail), any one Certificate
// until a state holds, printing each change a person should see.

const POLL_INTERVAL_MS = 250;

export interface Outcome {
  storefront: Certificate;
  intruder: Certificate;
}

export interface OutcomeWait {
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

export interface OperatorWait {
  /** What is awaited, for the timeout message. */
  description: string;
  operator: OperatorProcess;
  timeoutMs: number;
  signal: AbortSignal;
}

/**
 * pollUntil on something the operator must bring about: gives up as soon as
 * the operator dies, and either way ends with the operator's log tail; what
 * the probe `observe`d last is shown as "it is: ...".
 */
export async function untilOperatorDid<T>(probe: (context: PollContext) => Promise<T | undefined>, o: OperatorWait): Promise<Exclude<T, undefined>> {
  const { process } = o.operator;
  const logTail = (): string[] => [`--- last lines of the operator log (${process.record.logFile}) ---`, process.logTail(40)];
  try {
    return await pollUntil(probe, {
      description: o.description,
      timeoutMs: o.timeoutMs,
      intervalMs: POLL_INTERVAL_MS,
      signal: o.signal,
      giveUpIf: () => (process.running ? undefined : new DemoFailure([`the operator ${process.describeExit() ?? 'stopped'} while waiting for ${o.description}`, ...logTail()].join('\n'))),
    });
  } catch (error) {
    if (!(error instanceof PollTimeoutError)) throw error;
    throw new DemoFailure(
      [
        `timed out after ${o.timeoutMs / 1000} s waiting for ${o.description}`,
        `  it is: ${typeof error.lastSeen === 'string' ? error.lastSeen : show(error.lastSeen)}`,
        ...(error.lastError === undefined ? [] : [`  last API error: ${apiErrorMessage(error.lastError)}`]),
        ...logTail(),
      ].join('\n'),
    );
  }
}

/** "+1.2s shop/web: <state>" whenever a Certificate's state differs from the one reported before. */
function changeReporter(report: (line: string) => void, namespace: string): (name: string, state: string) => void {
  const startedAt = performance.now();
  const seen = new Map<string, string>();
  return (name, state) => {
    if (seen.get(name) === state) return;
    seen.set(name, state);
    report(`+${((performance.now() - startedAt) / 1000).toFixed(1)}s ${namespace}/${name}: ${state}`);
  };
}

export async function waitForOutcome(o: OutcomeWait): Promise<Outcome> {
  const changed = changeReporter(o.report, o.namespace);
  return untilOperatorDid(
    async ({ observe }) => {
      const [storefront, intruder] = await Promise.all([readCertificate(o.api, o.namespace, o.storefront), readCertificate(o.api, o.namespace, o.intruder)]);
      changed(o.storefront, describeReady(storefront));
      changed(o.intruder, describeReady(intruder));
      observe(`${o.namespace}/${o.storefront} ${describeReady(storefront)}; ${o.namespace}/${o.intruder} ${describeReady(intruder)}`);
      return storefrontDone(storefront) && intruderDone(intruder) ? { storefront, intruder } : undefined;
    },
    {
      description: `the operator to decide: ${o.namespace}/${o.storefront} Ready=True, ${o.namespace}/${o.intruder} Ready=False (DomainNotAllowed)`,
      operator: o.operator,
      timeoutMs: o.timeoutMs,
      signal: o.signal,
    },
  );
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
  const changed = changeReporter(o.report, o.namespace);
  return untilOperatorDid(
    async ({ observe }) => {
      const cert = await readCertificate(o.api, o.namespace, o.name);
      const state = o.describe(cert);
      changed(o.name, state);
      observe(state);
      return o.done(cert) ? cert : undefined;
    },
    { description: `${o.namespace}/${o.name} ${o.expected}`, operator: o.operator, timeoutMs: o.timeoutMs, signal: o.signal },
  );
}
