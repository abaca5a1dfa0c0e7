import type { Certificate, CertificateStatus } from '../../../api/certificate.js';
import { ConditionType } from '../../../api/conditions.js';
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
}

/** Why the pipeline stops for now: what it waits for, shown as the Issuing condition. */
export interface Wait {
  kind: 'wait';
  ms: number;
  violation: Violation;
}

export const wait = (ms: number, violation: Violation): Wait => ({ kind: 'wait', ms, violation });

export class AcmeStep {
  constructor(
    public cert: Certificate,
    readonly governed: Governed,
    readonly session: AcmeSession,
    readonly deps: AcmeStepDeps,
    readonly now: Date,
    readonly log: Logger,
    /** Why this issuance happens (the trigger). */
    readonly trigger: Violation,
  ) {}

  get status(): CertificateStatus {
    return this.cert.status ?? {};
  }

  /** Writes `change` over the current status (undefined fields are removed), if it changes anything. */
  async save(change: Partial<CertificateStatus>): Promise<void> {
    this.cert = await this.deps.statusWriter.change(this.cert, change);
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
