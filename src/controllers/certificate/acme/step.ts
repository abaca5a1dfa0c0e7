import type { Certificate, CertificateStatus } from '../../../api/certificate.js';
import { ConditionType } from '../../../api/conditions.js';
import { GROUP, VERSION } from '../../../api/meta.js';
import type { AcmeSession } from '../../../issuers/acme/session.js';
import { type Condition, setCondition } from '../../../kube/conditions.js';
import { patchStatus, type StatusClients } from '../../../kube/status.js';
import type { Logger } from '../../../log.js';
import type { Violation } from '../../../model/violation.js';
import type { Governed } from '../../../model/spec.js';
import { statusMergePatch } from '../status.js';
import type { SolverDeps } from './solvers.js';
import type { KeySecretsApi } from './keys.js';

// What every part of one ACME reconcile shares: the Certificate as the API
// server has it now (read fresh, never from the cache, so a resumed order is
// the one really recorded), and the one way to change its status: a merge
// patch of exactly what changed, after which `cert` is what the server holds.

export interface AcmeStepDeps extends SolverDeps {
  core: SolverDeps['core'] & KeySecretsApi;
  status: StatusClients;
}

/** Why the pipeline stops for now: what it waits for, shown as the Issuing condition. */
export interface Wait {
  kind: 'wait';
  ms: number;
  violation: Violation;
}

export const wait = (ms: number, violation: Violation): Wait => ({ kind: 'wait', ms, violation });

export class CertificateGoneError extends Error {
  override readonly name = 'CertificateGoneError';
}

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
    const prev = this.status;
    const next: CertificateStatus = { ...prev, ...change };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete (next as Record<string, unknown>)[k];
    const patch = statusMergePatch(prev, next);
    if (Object.keys(patch).length === 0) return;
    const result = await patchStatus(
      this.deps.status,
      { group: GROUP, version: VERSION, plural: 'certificates', namespace: this.cert.metadata.namespace, name: this.cert.metadata.name, kind: 'Certificate' },
      patch,
    );
    if (result.outcome === 'notFound') throw new CertificateGoneError(`Certificate ${this.cert.metadata.namespace}/${this.cert.metadata.name} was deleted`);
    const written = (result.object as { status?: CertificateStatus; metadata?: { resourceVersion?: string } } | null) ?? {};
    this.cert = { ...this.cert, status: written.status ?? next, metadata: { ...this.cert.metadata, resourceVersion: written.metadata?.resourceVersion } };
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
