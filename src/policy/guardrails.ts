import { Reason } from '../api/conditions.js';
import { formatDuration, parseDuration } from '../api/duration.js';
import type { CertificateGuardrails } from '../api/tlspolicy.js';
import type { EffectiveSpec } from '../model/spec.js';
import { type Check, allViolations } from '../model/violation.js';
import { domainAllowed } from './domain-glob.js';

export interface GuardrailInput {
  policyName: string;
  spec: EffectiveSpec;
  guardrails: CertificateGuardrails;
}

const DNS_LIKE = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;

/** The DNS names a policy's allowedDomains governs: dnsNames and a DNS-looking commonName. */
function governedNames(spec: EffectiveSpec): string[] {
  const names = [...spec.dnsNames];
  if (spec.commonName !== undefined && DNS_LIKE.test(spec.commonName) && !names.includes(spec.commonName)) names.push(spec.commonName);
  return names;
}

export const guardrailChecks: readonly Check<GuardrailInput>[] = [
  {
    name: 'allowedDomains',
    check: ({ policyName, spec, guardrails }) => {
      const globs = guardrails.allowedDomains;
      if (globs === undefined) return undefined;
      const refused = governedNames(spec).filter((n) => !domainAllowed(n, globs));
      if (refused.length === 0) return undefined;
      return {
        reason: Reason.DomainNotAllowed,
        message: `TLSPolicy "${policyName}" does not allow ${refused.map((n) => `"${n}"`).join(', ')}: allowedDomains is [${globs.join(', ')}]`,
      };
    },
  },
  {
    name: 'maxDuration',
    check: ({ policyName, spec, guardrails }) => {
      if (guardrails.maxDuration === undefined) return undefined;
      const max = parseDuration(guardrails.maxDuration);
      if (spec.durationMs <= max) return undefined;
      return {
        reason: Reason.DurationTooLong,
        message: `duration ${formatDuration(spec.durationMs)} exceeds TLSPolicy "${policyName}" maxDuration ${guardrails.maxDuration}`,
      };
    },
  },
  {
    name: 'allowedKeyAlgorithms',
    check: ({ policyName, spec, guardrails }) => {
      const allowed = guardrails.allowedKeyAlgorithms;
      if (allowed === undefined || allowed.includes(spec.key.algorithm)) return undefined;
      return {
        reason: Reason.KeyAlgorithmNotAllowed,
        message: `privateKey.algorithm ${spec.key.algorithm} is not allowed by TLSPolicy "${policyName}": use one of ${allowed.join(', ')}`,
      };
    },
  },
  {
    name: 'minRSASize',
    check: ({ policyName, spec, guardrails }) => {
      if (guardrails.minRSASize === undefined || spec.key.algorithm !== 'RSA' || spec.key.size >= guardrails.minRSASize) return undefined;
      return {
        reason: Reason.KeyTooSmall,
        message: `RSA key size ${spec.key.size} is below TLSPolicy "${policyName}" minRSASize ${guardrails.minRSASize}`,
      };
    },
  },
];

/** Every guardrail the Certificate breaks, so the condition can name them all at once. */
export function guardrailViolations(input: GuardrailInput) {
  return allViolations(guardrailChecks, input);
}
