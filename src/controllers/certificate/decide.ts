import type { Certificate } from '../../api/certificate.js';
import { Reason } from '../../api/conditions.js';
import { DurationError } from '../../api/duration.js';
import type { TLSPolicy } from '../../api/tlspolicy.js';
import { RENEW_ANNOTATION } from '../../model/certificate.js';
import { guardrailViolations } from '../../policy/guardrails.js';
import { selectPolicy } from '../../policy/selection.js';
import type { Violation } from '../../model/violation.js';
import { effectiveSpec, issuanceSpecHash } from '../../policy/effective-spec.js';
import type { EffectiveSpec, Governed } from '../../model/spec.js';
import { issuerKindOf, issuerRules } from '../drivers/rules.js';
import { type Renewal, ariRenewal, renewalTime } from './renewal.js';
import { SecretAnnotation, type IssuedFacts, type TlsSecretState } from '../../model/secret.js';
import { issuanceTrigger } from './triggers.js';

/** Everything the decision needs, read by the gatherer; the decision reads nothing else. */
export interface Gathered {
  certificate: Certificate;
  namespaceLabels: Readonly<Record<string, string>>;
  policies: readonly TLSPolicy[];
  secret: TlsSecretState;
  /** Another Certificate in the namespace that names the same Secret and owns it. */
  secretClaimedBy?: string | undefined;
  now: Date;
}

export type Decision =
  /** Something the user must fix; retrying cannot help until the spec or policy changes. */
  | { kind: 'blocked'; violation: Violation; policy?: TLSPolicy | undefined; compliance?: Violation[] | undefined }
  /** The Secret is current; look again at renewal time. */
  | { kind: 'current'; governed: Governed; renewal: Renewal }
  /** Issue now, for this reason. */
  | { kind: 'issue'; governed: Governed; trigger: Violation }
  /** Issuance is wanted but the last attempt failed recently. */
  | { kind: 'backoff'; governed: Governed; trigger: Violation; retryAt: Date };

/** Delay after the n-th consecutive failure: 10 s doubling, capped at one hour. */
export function failureBackoffMs(failedAttempts: number): number {
  if (failedAttempts <= 0) return 0;
  return Math.min(10_000 * 2 ** (failedAttempts - 1), 3_600_000);
}

/** When to renew: inside the CA's ARI window when it suggested one for this certificate, else by the spec's schedule. */
export function renewalOf(cert: Certificate, spec: EffectiveSpec, facts: Pick<IssuedFacts, 'notBefore' | 'notAfter' | 'serialNumber'>): Renewal {
  const jitterSeed = cert.metadata.uid ?? `${cert.metadata.namespace}/${cert.metadata.name}`;
  const ari = ariRenewal(cert.status?.renewalInfo, facts, jitterSeed);
  if (ari !== undefined) return ari;
  return renewalTime({
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    renewBeforeMs: spec.renewBeforeMs,
    renewBeforePercentage: spec.renewBeforePercentage,
    renewBeforeFromPolicy: spec.renewBeforeFromPolicy,
    jitterSeed,
  });
}

function parseTime(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/**
 * When the last failed issuance allows the next attempt, if that is after
 * `now`. A failure counts against this spec only: editing the Certificate
 * retries at once. The CA's Retry-After wins when it asked for longer.
 */
export function backoffUntil(cert: Certificate, now: Date): Date | undefined {
  const status = cert.status;
  const attempts = status?.failedIssuanceAttempts ?? 0;
  const lastFailure = parseTime(status?.lastFailureTime);
  if (attempts <= 0 || lastFailure === undefined || status?.observedGeneration !== cert.metadata.generation) return undefined;
  const caRetry = parseTime(status?.retryAfterTime)?.getTime() ?? 0;
  const retryAt = Math.max(lastFailure.getTime() + failureBackoffMs(attempts), caRetry);
  return retryAt > now.getTime() ? new Date(retryAt) : undefined;
}

/**
 * `certkeeper renew` is honoured at once, but a second one within this
 * interval of the last honoured one waits: stamping the annotation in a loop
 * must not become a stream of issuances (each one a CA order).
 */
export const MANUAL_RENEWAL_INTERVAL_MS = 10 * 60_000;

/** When a manual renewal may happen, if the last one was too recent; undefined when it may happen now. */
function manualRenewalNotBefore(trigger: Violation, cert: Certificate, now: Date): Date | undefined {
  if (trigger.reason !== Reason.ManuallyTriggered) return undefined;
  const last = parseTime(cert.status?.lastManualRenewalTime);
  if (last === undefined) return undefined;
  const allowedAt = last.getTime() + MANUAL_RENEWAL_INTERVAL_MS;
  return allowedAt > now.getTime() ? new Date(allowedAt) : undefined;
}

export function decide(g: Gathered): Decision {
  const cert = g.certificate;
  if (g.secretClaimedBy !== undefined) {
    // Two writers of one Secret would re-issue over each other forever.
    return {
      kind: 'blocked',
      violation: {
        reason: Reason.SecretInUse,
        message: `Secret "${cert.spec.secretName}" is already written by Certificate "${g.secretClaimedBy}": choose another secretName`,
      },
    };
  }
  if (g.secret.state !== 'absent' && g.secret.annotations[SecretAnnotation.certificateName] !== cert.metadata.name) {
    // Someone else's Secret: overwriting it would hand this Certificate's owner whatever used it.
    return {
      kind: 'blocked',
      violation: {
        reason: Reason.SecretNotOwned,
        message: `Secret "${cert.spec.secretName}" exists and was not written for this Certificate: choose another secretName, or let certkeeper take it over by annotating the Secret ${SecretAnnotation.certificateName}=${cert.metadata.name}`,
      },
    };
  }
  const selection = selectPolicy({
    namespace: cert.metadata.namespace ?? '',
    namespaceLabels: g.namespaceLabels,
    policyRef: cert.spec.policyRef,
    policies: g.policies,
  });
  if ('violation' in selection) return { kind: 'blocked', violation: selection.violation };
  const policy = selection.policy;

  const issuerKind = issuerKindOf(policy);
  if (issuerKind === undefined) {
    return {
      kind: 'blocked',
      policy,
      violation: {
        reason: Reason.PolicyHasNoIssuer,
        message: `TLSPolicy "${policy.metadata.name}" has no issuer (it only validates endpoints): point spec.policyRef at a policy that issues`,
      },
    };
  }

  let spec: EffectiveSpec;
  try {
    spec = effectiveSpec(cert.spec, policy);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    return { kind: 'blocked', policy, violation: { reason: Reason.InvalidSpec, message: err.message } };
  }

  // Also without a certificates block: CA certificates and signing usages are denied by default.
  const violations = guardrailViolations({ policyName: policy.metadata.name, spec, guardrails: policy.spec.certificates ?? {} });
  const [first] = violations;
  if (first !== undefined) {
    return {
      kind: 'blocked',
      policy,
      compliance: violations,
      violation: { reason: first.reason, message: violations.map((v) => v.message).join('; ') },
    };
  }

  const rules = issuerRules[issuerKind];
  const refused = rules.checkSpec({ policy, spec });
  if (refused !== undefined) return { kind: 'blocked', policy, violation: refused };

  const issuerIdentity = rules.identity(policy);
  const governed: Governed = { policy, spec, issuerKind, issuerIdentity, specHash: issuanceSpecHash(spec, issuerIdentity) };
  const renewal = g.secret.state === 'valid' ? renewalOf(cert, spec, g.secret.facts) : undefined;
  const trigger = issuanceTrigger({
    now: g.now,
    secretName: spec.secretName,
    spec,
    specHash: governed.specHash,
    secret: g.secret,
    issuedNames: rules.issuedNames(spec),
    renewal,
    renewRequestedAt: parseTime(cert.metadata.annotations?.[RENEW_ANNOTATION]),
  });
  if (trigger === undefined) {
    if (renewal === undefined) throw new Error('unreachable: a current Secret always has a renewal time');
    return { kind: 'current', governed, renewal };
  }

  const retryAt = backoffUntil(cert, g.now) ?? manualRenewalNotBefore(trigger, cert, g.now);
  if (retryAt !== undefined) return { kind: 'backoff', governed, trigger, retryAt };
  return { kind: 'issue', governed, trigger };
}
