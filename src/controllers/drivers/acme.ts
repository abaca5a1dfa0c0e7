import { Reason } from '../../api/conditions.js';
import { acmeFailureSide } from '../../issuers/acme/problem.js';
import { issuerRules } from './rules.js';
import type { IssuerDriver } from './driver.js';
import { acmeAccountReadiness } from './acme-account.js';
import { type AcmeIssuer, type AcmeIssuerDeps } from '../certificate/acme/pipeline.js';
import { REVOKE_FINALIZER } from '../certificate/acme/revocation.js';
import { AcmeUpkeep } from '../certificate/acme/upkeep.js';

// ACME: an order advanced one step per reconcile (acme/pipeline.ts), the
// account registered by the policy's reconciler, the CA's renewal window (ARI)
// and the optional revocation on delete kept while the Certificate is current.

export function acmeDriver(deps: Pick<AcmeIssuerDeps, 'accounts' | 'clock'>, issuer: AcmeIssuer, upkeep: AcmeUpkeep): IssuerDriver & { kind: 'acme' } {
  return {
    kind: 'acme',
    ...issuerRules.acme,
    async readiness(policy, options) {
      const result = await acmeAccountReadiness(policy, deps, options?.recheck === true);
      return { ok: result.ok, explanation: result.violation, acme: result.acme ?? policy.status?.acme, backOffWhileNotReady: true };
    },
    async advance(r) {
      const outcome = await issuer.issue(r.key, r.cert, r.governed, r.trigger, r.secret, r.log);
      switch (outcome.kind) {
        case 'gone':
        case 'issued':
          return outcome;
        case 'failed':
          return {
            kind: 'failed',
            message: outcome.error.message,
            retryAfterMs: outcome.error.details.retryAfterMs,
            cert: outcome.cert,
            side: acmeFailureSide(outcome.error),
            rateLimited: outcome.error.kind === 'rateLimited',
          };
        case 'waiting':
          // The order's own progress is already in status (Issuing True, written by its steps); an account
          // the policy has not registered yet is a prerequisite the reconciler shows as Issuing False.
          return { kind: 'waiting', ms: outcome.ms, why: outcome.violation, prerequisite: outcome.violation.reason === Reason.AccountNotReady };
      }
    },
    keepCurrent: (r) => upkeep.refreshRenewalInfo(r.key, r.cert, r.governed, r.secret, r.log),
    settle: (cert, governed, log) => upkeep.cleanLeftovers(cert, governed, log),
    syncFinalizer: (cert, policy) => upkeep.syncRevokeFinalizer(cert, policy),
    finalizer: REVOKE_FINALIZER,
    release: (cert, policy, log) => upkeep.release(cert, policy, log),
    forget(key) {
      issuer.forget(key);
      upkeep.forget(key);
    },
  };
}
