import { Reason } from '../../api/conditions.js';
import type { TLSPolicy } from '../../api/tlspolicy.js';
import { createSelfSignedIssuer } from '../../issuers/selfsigned/self-signed-issuer.js';
import { IssuerError, type Issuer } from '../../issuers/types.js';
import { apiErrorMessage, isClientFault } from '../../kube/errors.js';
import { PkiError } from '../../pki/errors.js';
import { issuerRules } from './rules.js';
import type { IssueRequest, IssueStep, IssuerDriver, IssuerReadiness } from './driver.js';
import { issueCertificate, type SecretsApi } from '../certificate/issue.js';
import type { CaIssuers } from './ca-issuers.js';

// Issuers that sign at once: key, signature and the live Secret in one step.

async function issueOnce(secrets: SecretsApi, issuer: () => Promise<Issuer>, r: IssueRequest): Promise<IssueStep> {
  r.log.info({ reason: r.trigger.reason, why: r.trigger.message }, 'issuing');
  try {
    const result = await issueCertificate({ secrets, now: r.now, secretKnownAbsent: r.secretKnownAbsent }, await issuer(), r.cert, r.governed);
    return { kind: 'issued', result, cert: r.cert };
  } catch (err) {
    // What the user can fix (the CA Secret, the key, a refused write) is reported; anything else is retried by the queue.
    // A CA Secret that is missing or broken is the issuer's failure (another issuer may do); the rest is the Certificate's.
    if (err instanceof IssuerError) return { kind: 'failed', message: err.message, cert: r.cert, side: 'issuer' };
    if (err instanceof PkiError) return { kind: 'failed', message: err.message, cert: r.cert, side: 'certificate' };
    if (isClientFault(err)) return { kind: 'failed', message: apiErrorMessage(err), cert: r.cert, side: 'certificate' };
    throw err;
  }
}

export function caDriver(deps: { cas: CaIssuers; secrets: SecretsApi }): IssuerDriver & { kind: 'ca' } {
  const secretNameOf = (policy: TLSPolicy) => policy.spec.issuer?.ca?.secretName ?? '';
  return {
    kind: 'ca',
    ...issuerRules.ca,
    async readiness(policy): Promise<IssuerReadiness> {
      const secretName = secretNameOf(policy);
      deps.cas.forget(secretName);
      try {
        const ca = await deps.cas.get(secretName);
        return { ok: true, explanation: { reason: Reason.IssuerReady, message: `CA Secret "${secretName}" is valid until ${ca.caNotAfter.toISOString()}` } };
      } catch (err) {
        if (!(err instanceof IssuerError)) throw err;
        return { ok: false, explanation: { reason: err.reason === 'CASecretNotFound' ? Reason.CASecretNotFound : Reason.CASecretInvalid, message: err.message } };
      }
    },
    advance: (r) => issueOnce(deps.secrets, () => deps.cas.get(secretNameOf(r.governed.policy)), r),
  };
}

export function selfSignedDriver(deps: { secrets: SecretsApi }): IssuerDriver & { kind: 'selfSigned' } {
  const issuer = createSelfSignedIssuer();
  return {
    kind: 'selfSigned',
    ...issuerRules.selfSigned,
    readiness: () => Promise.resolve({ ok: true, explanation: { reason: Reason.IssuerReady, message: 'self-signed issuer needs no setup' } }),
    advance: (r) => issueOnce(deps.secrets, () => Promise.resolve(issuer), r),
  };
}
