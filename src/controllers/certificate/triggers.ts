import { Reason } from '../../api/conditions.js';
import { type Check, type Violation, firstViolation } from '../../model/violation.js';
import type { IssuedNames } from '../drivers/driver.js';
import type { EffectiveSpec } from '../../model/spec.js';
import type { Renewal } from './renewal.js';
import { SecretAnnotation, type TlsSecretState, type ValidSecret } from '../../model/secret.js';

// Why (re-)issue? An ordered chain of named pure checks. The first group looks
// at the Secret as a whole; only when it holds a valid, matching pair do the
// checks of the second group run — the types say so: they take a ValidSecret.

export interface TriggerInput {
  now: Date;
  secretName: string;
  spec: EffectiveSpec;
  specHash: string;
  secret: TlsSecretState;
  /** When the renewal is due, computed from the Secret's certificate. */
  renewal?: Renewal | undefined;
  /** From the certkeeper.dev/renew annotation (`certkeeper renew`). */
  renewRequestedAt?: Date | undefined;
  /** The names the issuer puts in a certificate for this spec (IssuerRules.issuedNames); default: the spec's own. */
  issuedNames?: IssuedNames | undefined;
}

export type ValidTriggerInput = Omit<TriggerInput, 'secret'> & { secret: ValidSecret };

const secretChecks: readonly Check<TriggerInput>[] = [
  {
    name: 'secretExists',
    check: ({ secret, secretName }) =>
      secret.state === 'absent' ? { reason: Reason.DoesNotExist, message: `Secret "${secretName}" does not exist` } : undefined,
  },
  {
    name: 'secretComplete',
    check: ({ secret, secretName }) =>
      secret.state === 'incomplete'
        ? { reason: Reason.MissingData, message: `Secret "${secretName}" lacks ${secret.missing.join(' and ')}` }
        : undefined,
  },
  {
    name: 'secretParses',
    check: ({ secret, secretName }) =>
      secret.state === 'invalid' ? { reason: Reason.InvalidData, message: `Secret "${secretName}" holds invalid data: ${secret.error}` } : undefined,
  },
  {
    name: 'keyMatchesCertificate',
    check: ({ secret, secretName }) =>
      secret.state === 'mismatched'
        ? { reason: Reason.KeyMismatch, message: `Secret "${secretName}": tls.key does not match the certificate in tls.crt` }
        : undefined,
  },
];

/** How far ahead of our clock a `certkeeper renew` stamp may be (the CLI's machine clock may run ahead). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** When the Secret's certificate was written: the issued-at annotation, else its notBefore. */
export function issuedAt(notBefore: Date, annotation: string | undefined): number {
  const written = annotation === undefined ? Number.NaN : Date.parse(annotation);
  return Number.isNaN(written) ? notBefore.getTime() : Math.max(written, notBefore.getTime());
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

const issuedChecks: readonly Check<ValidTriggerInput>[] = [
  {
    name: 'namesMatchSpec',
    check: ({ secret: { facts }, spec, issuedNames }) => {
      const diffs: string[] = [];
      const expected = issuedNames ?? { commonName: { value: spec.commonName }, dnsNames: spec.dnsNames };
      if (expected.commonName !== undefined && (expected.commonName.value ?? '') !== (facts.commonName ?? '')) diffs.push('commonName');
      if (!sameSet(expected.dnsNames, facts.dnsNames)) diffs.push('dnsNames');
      if (!sameSet(spec.ipAddresses, facts.ipAddresses)) diffs.push('ipAddresses');
      if (!sameSet(spec.uris, facts.uris)) diffs.push('uris');
      if (!sameSet(spec.emailAddresses, facts.emailAddresses)) diffs.push('emailAddresses');
      if (spec.isCA !== facts.isCA) diffs.push('isCA');
      return diffs.length === 0
        ? undefined
        : { reason: Reason.SpecChanged, message: `the issued certificate differs from spec in ${diffs.join(', ')}` };
    },
  },
  {
    name: 'keyMatchesSpec',
    check: ({ secret: { facts }, spec }) =>
      facts.keyAlgorithm === spec.key.algorithm && facts.keySize === spec.key.size
        ? undefined
        : {
            reason: Reason.SpecChanged,
            message: `the issued key is ${facts.keyAlgorithm}${facts.keySize ? ` ${facts.keySize}` : ''}, spec asks for ${spec.key.algorithm}${spec.key.size ? ` ${spec.key.size}` : ''}`,
          },
  },
  {
    name: 'specHashMatches',
    check: ({ secret: { annotations }, specHash }) =>
      annotations[SecretAnnotation.specHash] === specHash
        ? undefined
        : { reason: Reason.SpecChanged, message: 'the spec or policy changed since the last issuance (duration, usages, subject, key encoding or issuer)' },
  },
  {
    name: 'notExpired',
    check: ({ secret: { facts }, now }) =>
      now.getTime() >= facts.notAfter.getTime()
        ? { reason: Reason.Expired, message: `the certificate expired at ${facts.notAfter.toISOString()}` }
        : undefined,
  },
  {
    name: 'renewalNotDue',
    check: ({ renewal, now }) =>
      renewal !== undefined && now.getTime() >= renewal.time.getTime()
        ? { reason: Reason.Renewing, message: `renewal was due at ${renewal.time.toISOString()} (${renewal.basis})` }
        : undefined,
  },
  {
    name: 'noManualRenewal',
    // Against when the Secret was written, not notBefore: CAs backdate notBefore (Let's Encrypt by an hour).
    // A request dated in the future (beyond clock skew) is ignored: it would stay newer than every
    // certificate issued until that date, and re-issue on every reconcile.
    check: ({ renewRequestedAt, now, secret: { facts, annotations } }) =>
      renewRequestedAt !== undefined &&
      renewRequestedAt.getTime() <= now.getTime() + MAX_CLOCK_SKEW_MS &&
      renewRequestedAt.getTime() > issuedAt(facts.notBefore, annotations[SecretAnnotation.issuedAt])
        ? { reason: Reason.ManuallyTriggered, message: `renewal requested at ${renewRequestedAt.toISOString()}` }
        : undefined,
  },
];

/** The reason to issue now, or undefined when the Secret is current. */
export function issuanceTrigger(input: TriggerInput): Violation | undefined {
  const bad = firstViolation(secretChecks, input);
  if (bad !== undefined) return bad;
  if (input.secret.state !== 'valid') throw new Error(`unreachable: secret state ${input.secret.state} passed the secret checks`);
  return firstViolation(issuedChecks, { ...input, secret: input.secret });
}

export const triggerCheckNames = [...secretChecks, ...issuedChecks].map((c) => c.name);
