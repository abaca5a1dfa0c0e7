import type { Certificate, SkippedIssuer } from '../../api/certificate.js';
import { Reason } from '../../api/conditions.js';
import { DurationError } from '../../api/duration.js';
import type { TLSPolicy } from '../../api/tlspolicy.js';
import { RENEW_ANNOTATION } from '../../model/certificate.js';
import { guardrailViolations } from '../../policy/guardrails.js';
import { selectPolicy } from '../../policy/selection.js';
import type { Violation } from '../../model/violation.js';
import { effectiveSpec, issuanceSpecHash } from '../../policy/effective-spec.js';
import type { EffectiveSpec, Governed } from '../../model/spec.js';
import { issuerEntries, issuerRules, type IssuerEntry } from '../drivers/rules.js';
import type { IssuedNames } from '../drivers/driver.js';
import { chooseIssuer, HEALTHY, type IssuerHealth, type IssuerReadinessView } from './failover.js';
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
  /** The shared health of one issuer of a policy with spec.issuers (default: healthy). */
  issuerHealth?: ((policy: TLSPolicy, issuer: string, identity: string) => IssuerHealth) | undefined;
  now: Date;
}

export type Decision =
  /** Something the user must fix; retrying cannot help until the spec or policy changes. */
  | { kind: 'blocked'; violation: Violation; policy?: TLSPolicy | undefined; compliance?: Violation[] | undefined }
  /** The Secret is current; look again at renewal time. */
  | { kind: 'current'; governed: Governed; renewal: Renewal }
  /**
   * Issue now, for this reason, with governed.issuerName. `skipped`: the policy's issuers before it and why;
   * `trial`: the issuer is recovering from CA-side failures and this Certificate tries it for all.
   */
  | { kind: 'issue'; governed: Governed; trigger: Violation; skipped: SkippedIssuer[]; trial: boolean }
  /** Issuance is wanted, but every issuer of the policy is failing or not ready; `retryAt` when one may be tried again. */
  | { kind: 'unavailable'; governed: Governed; trigger: Violation; skipped: SkippedIssuer[]; retryAt: Date | undefined }
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

  const entries = issuerEntries(policy);
  if (entries.length === 0) {
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

  const options = entries.map((entry) => option(entry, spec));
  const eligible = options.filter((o) => o.refused === undefined);
  const [preferred] = eligible;
  if (preferred === undefined) {
    // Every issuer refuses the spec for good: what each one says, so the user sees all of it.
    const [only] = options;
    if (options.length === 1 && only?.refused !== undefined) return { kind: 'blocked', policy, violation: only.refused };
    return {
      kind: 'blocked',
      policy,
      violation: { reason: options[0]?.refused?.reason ?? Reason.InvalidSpec, message: options.map((o) => `issuer "${o.governed.issuerName}": ${o.refused?.message ?? ''}`).join('; ') },
    };
  }

  // The issuer that issued what the Secret holds, if it is still one of the policy's: a certificate from a
  // fallback stays until its renewal, when the first issuer is tried again.
  const specHash = g.secret.state === 'valid' ? g.secret.annotations[SecretAnnotation.specHash] : undefined;
  const holder = eligible.find((o) => o.governed.specHash === specHash) ?? preferred;
  const renewal = g.secret.state === 'valid' ? renewalOf(cert, spec, g.secret.facts) : undefined;
  const trigger = issuanceTrigger({
    now: g.now,
    secretName: spec.secretName,
    spec,
    specHash: holder.governed.specHash,
    secret: g.secret,
    issuedNames: holder.issuedNames,
    renewal,
    renewRequestedAt: parseTime(cert.metadata.annotations?.[RENEW_ANNOTATION]),
  });
  if (trigger === undefined) {
    if (renewal === undefined) throw new Error('unreachable: a current Secret always has a renewal time');
    return { kind: 'current', governed: holder.governed, renewal };
  }

  const retryAt = backoffUntil(cert, g.now) ?? manualRenewalNotBefore(trigger, cert, g.now);
  if (retryAt !== undefined) return { kind: 'backoff', governed: preferred.governed, trigger, retryAt };
  // A policy with one issuer has nothing to fail over to: its Certificates keep their own backoff.
  if (!preferred.entry.listed) return { kind: 'issue', governed: preferred.governed, trigger, skipped: [], trial: false };

  const key = `${cert.metadata.namespace ?? ''}/${cert.metadata.name}`;
  const choice = chooseIssuer(
    options.map((o) => ({
      name: o.governed.issuerName,
      refused: o.refused,
      readiness: readinessOf(policy, o.governed.issuerName),
      health: g.issuerHealth?.(policy, o.governed.issuerName, o.governed.issuerIdentity) ?? HEALTHY,
    })),
    { now: g.now.getTime(), key },
  );
  if (choice.kind === 'none') {
    return { kind: 'unavailable', governed: preferred.governed, trigger, skipped: choice.skipped, retryAt: choice.retryAt === undefined ? undefined : new Date(choice.retryAt) };
  }
  const chosen = options[choice.index];
  if (chosen === undefined) throw new Error('unreachable: chooseIssuer picked no candidate');
  return { kind: 'issue', governed: chosen.governed, trigger, skipped: choice.skipped, trial: choice.kind === 'use' && choice.trial };
}

interface IssuerOption {
  entry: IssuerEntry;
  governed: Governed;
  refused: Violation | undefined;
  issuedNames: IssuedNames;
}

function option(entry: IssuerEntry, spec: EffectiveSpec): IssuerOption {
  const rules = issuerRules[entry.kind];
  const issuerIdentity = rules.identity(entry.policy);
  return {
    entry,
    governed: { policy: entry.policy, spec, issuerKind: entry.kind, issuerIdentity, issuerName: entry.name, issuerListed: entry.listed, specHash: issuanceSpecHash(spec, issuerIdentity) },
    refused: rules.checkSpec({ policy: entry.policy, spec }),
    issuedNames: rules.issuedNames(spec),
  };
}

/** What the policy's reconciler last said about one of its issuers; unknown until it has judged this generation. */
export function readinessOf(policy: TLSPolicy, issuer: string): IssuerReadinessView {
  const status = policy.status;
  if (status?.observedGeneration !== policy.metadata.generation) return { state: 'unknown' };
  const s = status?.issuers?.find((i) => i.name === issuer);
  if (s === undefined) return { state: 'unknown' };
  return s.ready ? { state: 'ready' } : { state: 'notReady', why: { reason: s.reason, message: s.message } };
}
