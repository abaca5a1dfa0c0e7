import type { Certificate, CertificateStatus } from '../../../api/certificate.js';
import { ConditionType } from '../../../api/conditions.js';
import type { AriPollBounds } from '../../../issuers/acme/ari.js';
import type { AcmeIssuanceStep } from '../../../issuers/acme/metrics.js';
import type { AcmeSession } from '../../../issuers/acme/session.js';
import { type Condition, setCondition } from '../../../kube/conditions.js';
import type { Logger } from '../../../log.js';
import type { CertificateStatusWriter } from '../status-writer.js';
import type { Violation } from '../../../model/violation.js';
import type { Governed } from '../../../model/spec.js';
import type { SolverDeps } from './solvers.js';
import type { KeySecretsApi } from './keys.js';

// What every part of one ACME reconcile shares: the Certificate as the API
// server has it now (read fresh, never from the cache, so a resumed order is
// the one really recorded), changed only through the controller's status
// writer, after which `cert` is what the server holds.

export interface AcmeStepDeps extends SolverDeps {
  core: SolverDeps['core'] & KeySecretsApi;
  statusWriter: Pick<CertificateStatusWriter, 'change'>;
  /** Bounds of the wait before asking the CA for a renewal window again (ARI); without them the issuance leaves ARI to the upkeep. */
  ariBounds?: AriPollBounds | undefined;
  /** Records how long a step of our own work took (the step metric); absent in tests. */
  observeStep?: ((step: AcmeIssuanceStep, ms: number) => void) | undefined;
}

/** Runs `fn`, recording its time as `step` (whether it succeeds or throws). */
export async function timed<T>(deps: Pick<AcmeStepDeps, 'observeStep'>, step: AcmeIssuanceStep, fn: () => Promise<T>): Promise<T> {
  const observe = deps.observeStep;
  if (observe === undefined) return fn();
  const started = performance.now();
  try {
    return await fn();
  } finally {
    observe(step, performance.now() - started);
  }
}

/** Why the pipeline stops for now: what it waits for, shown as the Issuing condition. */
export interface Wait {
  kind: 'wait';
  ms: number;
  violation: Violation;
  /**
   * Waiting on the CA's work (validation, issuance): `ms` is then decided by
   * the poll schedule (issuers/acme/poll.ts) from how long `subject` has been
   * waited on and the CA's Retry-After.
   */
  poll?: { subject: string; retryAfterMs?: number | undefined } | undefined;
}

export const wait = (ms: number, violation: Violation): Wait => ({ kind: 'wait', ms, violation });

/** A wait for the CA to finish `subject` (e.g. "validate <order URL>"); its length comes from the poll schedule. */
export const pollWait = (subject: string, retryAfterMs: number | undefined, violation: Violation): Wait => ({
  kind: 'wait',
  ms: 0,
  violation,
  poll: { subject, retryAfterMs },
});

export class AcmeStep {
  /** The resourceVersions `cert` went through here: the one it started at and each our writes got back. */
  readonly versions: string[] = [];

  constructor(
    public cert: Certificate,
    readonly governed: Governed,
    readonly session: AcmeSession,
    readonly deps: AcmeStepDeps,
    readonly now: Date,
    readonly log: Logger,
    /** Why this issuance happens (the trigger). */
    readonly trigger: Violation,
  ) {
    const rv = cert.metadata.resourceVersion;
    if (rv !== undefined) this.versions.push(rv);
  }

  get status(): CertificateStatus {
    return this.cert.status ?? {};
  }

  /** Writes `change` over the current status (undefined fields are removed), if it changes anything. */
  async save(change: Partial<CertificateStatus>): Promise<void> {
    this.cert = await timed(this.deps, 'status_write', () => this.deps.statusWriter.change(this.cert, change));
    const rv = this.cert.metadata.resourceVersion;
    if (rv !== undefined && !this.versions.includes(rv)) this.versions.push(rv);
  }

  /** The conditions with Issuing set to say what is happening (and Ready=False while there is no certificate yet). */
  issuingConditions(v: Violation, firstIssuance: boolean): Condition[] {
    const generation = this.cert.metadata.generation ?? 0;
    let list = setCondition((this.status.conditions ?? []) as Condition[], { type: ConditionType.Issuing, status: 'True', reason: v.reason, message: v.message, observedGeneration: generation }, this.now);
    if (firstIssuance) {
      list = setCondition(
        list,
        { type: ConditionType.Ready, status: 'False', reason: this.trigger.reason, message: `${this.trigger.message}; issuing: ${v.message}`, observedGeneration: generation },
        this.now,
      );
    }
    return list;
  }
}
