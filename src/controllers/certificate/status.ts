import { MAX_ISSUED_SERIALS, type Certificate, type CertificateStatus, type SkippedIssuer } from '../../api/certificate.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import { type Condition, type ConditionUpdate, formatTime, removeCondition, setCondition } from '../../kube/conditions.js';
import type { Explanation, Violation } from '../../model/violation.js';
import { isFallback } from '../../model/certificate.js';
import type { Renewal } from './renewal.js';
import type { IssuedFacts } from '../../model/secret.js';

// Pure: the next status of a Certificate for each outcome of a reconcile. The
// status writer patches only when the result differs from what is stored.

export interface StatusInput {
  certificate: Certificate;
  now: Date;
}

function conditions(input: StatusInput, updates: ConditionUpdate[], drop: string[] = []): Condition[] {
  let list = (input.certificate.status?.conditions ?? []) as Condition[];
  for (const u of updates) list = setCondition(list, u, input.now);
  for (const t of drop) list = removeCondition(list, t);
  return list;
}

const generation = (c: Certificate) => c.metadata.generation ?? 0;

function cond(input: StatusInput, type: string, status: 'True' | 'False', v: Explanation): ConditionUpdate {
  return { type, status, reason: v.reason, message: v.message, observedGeneration: generation(input.certificate) };
}

function issuedFields(facts: IssuedFacts, renewal: Renewal, revision: number | undefined): Partial<CertificateStatus> {
  return {
    notBefore: formatTime(facts.notBefore),
    notAfter: formatTime(facts.notAfter),
    renewalTime: formatTime(renewal.time),
    renewalBasis: renewal.basis,
    serialNumber: facts.serialNumber,
    fingerprintSHA256: facts.fingerprintSHA256,
    ...(revision === undefined ? {} : { revision }),
  };
}

/** The Secret is current: Ready, with the certificate's facts. `issued`: it was just issued (its serial is recorded). */
export function readyStatus(
  input: StatusInput,
  a: {
    policy: string;
    /** The issuer that issued what the Secret holds. */
    issuer?: string | undefined;
    /** With `issued`: the issuers passed over for it (kept until the next issuance, or until another issuer holds the Secret). */
    skipped?: SkippedIssuer[] | undefined;
    facts: IssuedFacts;
    renewal: Renewal;
    revision: number | undefined;
    issued?: boolean;
    manualRenewalAt?: Date | undefined;
  },
): CertificateStatus {
  const prev = input.certificate.status ?? {};
  const skipped = a.skipped ?? (prev.issuer === a.issuer ? prev.skippedIssuers : undefined);
  const serials = prev.issuedSerialNumbers ?? [];
  const issuedSerialNumbers =
    a.issued === true && !serials.includes(a.facts.serialNumber) ? [a.facts.serialNumber, ...serials].slice(0, MAX_ISSUED_SERIALS) : prev.issuedSerialNumbers;
  const by = a.issuer !== undefined && isFallback(skipped) ? `; issued by fallback issuer "${a.issuer}"` : '';
  const message = `certificate is valid until ${formatTime(a.facts.notAfter)}; renewal at ${formatTime(a.renewal.time)}${by}`;
  return {
    ...prev,
    ...issuedFields(a.facts, a.renewal, a.revision ?? prev.revision),
    policy: a.policy,
    issuer: a.issuer,
    skippedIssuers: skipped === undefined || skipped.length === 0 ? undefined : skipped.slice(0, 8),
    ...(issuedSerialNumbers === undefined ? {} : { issuedSerialNumbers }),
    ...(a.manualRenewalAt === undefined ? {} : { lastManualRenewalTime: formatTime(a.manualRenewalAt) }),
    observedGeneration: generation(input.certificate),
    failedIssuanceAttempts: undefined,
    retryAfterTime: undefined,
    lastFailureTime: prev.lastFailureTime,
    lastFailureMessage: prev.lastFailureMessage,
    conditions: conditions(
      input,
      [
        cond(input, ConditionType.Ready, 'True', { reason: Reason.Issued, message }),
        cond(input, ConditionType.PolicyCompliant, 'True', { reason: Reason.Compliant, message: `complies with TLSPolicy "${a.policy}"` }),
      ],
      [ConditionType.Issuing],
    ),
  };
}

/** Something the user must fix first. */
export function blockedStatus(input: StatusInput, a: { violation: Violation; policy?: string | undefined; compliance?: Violation[] | undefined }): CertificateStatus {
  const prev = input.certificate.status ?? {};
  const updates = [cond(input, ConditionType.Ready, 'False', a.violation)];
  if (a.compliance !== undefined) updates.push(cond(input, ConditionType.PolicyCompliant, 'False', a.violation));
  return {
    ...prev,
    policy: a.policy,
    observedGeneration: generation(input.certificate),
    conditions: conditions(input, updates, a.compliance === undefined ? [ConditionType.PolicyCompliant] : []),
  };
}

/**
 * An issuance failed. A Secret that still holds a valid certificate keeps the
 * Certificate Ready (only its renewal is late); otherwise it is not Ready.
 */
export function failedStatus(
  input: StatusInput,
  a: {
    policy: string;
    trigger: Violation;
    error: string;
    stillValid: boolean;
    retryAt: Date;
    /** The CA's Retry-After, when it asked for a later retry than the backoff. */
    caRetryAt?: Date | undefined;
  },
): CertificateStatus {
  const prev = input.certificate.status ?? {};
  const attempts = (prev.failedIssuanceAttempts ?? 0) + 1;
  const retry = `attempt ${attempts} failed, next attempt at ${formatTime(a.retryAt)}`;
  const updates: ConditionUpdate[] = [
    cond(input, ConditionType.Issuing, 'False', { reason: Reason.Backoff, message: `${a.trigger.message}: ${a.error} (${retry})` }),
  ];
  if (!a.stillValid) updates.push(cond(input, ConditionType.Ready, 'False', { reason: Reason.IssuanceFailed, message: `${a.trigger.message}; issuance failed: ${a.error}` }));
  return {
    ...prev,
    policy: a.policy,
    observedGeneration: generation(input.certificate),
    failedIssuanceAttempts: attempts,
    lastFailureTime: formatTime(input.now),
    lastFailureMessage: a.error.slice(0, 4000),
    retryAfterTime: a.caRetryAt === undefined ? undefined : formatTime(a.caRetryAt),
    conditions: conditions(input, updates),
  };
}

