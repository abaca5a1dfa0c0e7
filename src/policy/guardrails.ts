import { Reason } from '../api/conditions.js';
import { formatDuration, parseDuration } from '../api/duration.js';
import type { CertificateGuardrails } from '../api/tlspolicy.js';
import type { UsageName } from '../pki/spec.js';
import { canonicalUsageName } from '../pki/usages.js';
import { emailDomainAllowed, ipInRanges, uriMatches } from './identity.js';
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

/**
 * A policy restricts names once it lists any kind of them; from then on a
 * kind it does not list is denied, so no identity type is a way around the others.
 */
export function restrictsNames(g: CertificateGuardrails): boolean {
  return g.allowedDomains !== undefined || g.allowedIPRanges !== undefined || g.allowedURIs !== undefined || g.allowedEmailDomains !== undefined;
}

/** Usages a policy that lists none allows: what TLS servers and clients need. Signing certificates (cert sign, crl sign) only with allowCA. */
export const DEFAULT_ALLOWED_USAGES: readonly UsageName[] = ['digital signature', 'key encipherment', 'key agreement', 'signing', 'server auth', 'client auth'];
const CA_USAGES: readonly UsageName[] = ['cert sign', 'crl sign'];

/** What the policy allows, by canonical name (as a certificate's usages are compared). */
export function allowedUsages(g: CertificateGuardrails): readonly UsageName[] {
  return (g.allowedUsages ?? [...DEFAULT_ALLOWED_USAGES, ...(g.allowCA === true ? CA_USAGES : [])]).map(canonicalUsageName);
}

const quoted = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(', ');
const listed = (xs: readonly string[] | undefined) => (xs === undefined ? 'not listed, so none is allowed' : `[${xs.join(', ')}]`);

/** Refuses the entries of one identity kind that `allowed` does not admit (none when the policy restricts names but lists none of this kind). */
function identityCheck(
  name: string,
  reason: Reason,
  field: string,
  setting: string,
  entries: (spec: EffectiveSpec) => readonly string[],
  list: (g: CertificateGuardrails) => readonly string[] | undefined,
  admits: (entry: string, allowed: readonly string[]) => boolean,
): Check<GuardrailInput> {
  return {
    name,
    check: ({ policyName, spec, guardrails }) => {
      if (!restrictsNames(guardrails)) return undefined;
      const allowed = list(guardrails);
      const refused = entries(spec).filter((e) => allowed === undefined || !admits(e, allowed));
      if (refused.length === 0) return undefined;
      return { reason, message: `TLSPolicy "${policyName}" does not allow ${field} ${quoted(refused)}: ${setting} is ${listed(allowed)}` };
    },
  };
}

export const guardrailChecks: readonly Check<GuardrailInput>[] = [
  {
    name: 'allowedDomains',
    check: ({ policyName, spec, guardrails }) => {
      const globs = guardrails.allowedDomains;
      if (globs === undefined) {
        if (!restrictsNames(guardrails) || governedNames(spec).length === 0) return undefined;
        return {
          reason: Reason.DomainNotAllowed,
          message: `TLSPolicy "${policyName}" does not allow ${quoted(governedNames(spec))}: allowedDomains is not listed, so no DNS name is allowed`,
        };
      }
      const refused = governedNames(spec).filter((n) => !domainAllowed(n, globs));
      if (refused.length === 0) return undefined;
      return {
        reason: Reason.DomainNotAllowed,
        message: `TLSPolicy "${policyName}" does not allow ${refused.map((n) => `"${n}"`).join(', ')}: allowedDomains is [${globs.join(', ')}]`,
      };
    },
  },
  identityCheck('allowedIPRanges', Reason.IPAddressNotAllowed, 'ipAddresses', 'allowedIPRanges', (s) => s.ipAddresses, (g) => g.allowedIPRanges, ipInRanges),
  identityCheck('allowedURIs', Reason.URINotAllowed, 'uris', 'allowedURIs', (s) => s.uris, (g) => g.allowedURIs, (u, patterns) => patterns.some((p) => uriMatches(u, p))),
  identityCheck('allowedEmailDomains', Reason.EmailNotAllowed, 'emailAddresses', 'allowedEmailDomains', (s) => s.emailAddresses, (g) => g.allowedEmailDomains, emailDomainAllowed),
  {
    // A commonName that is not a DNS name is an identity of its own (mTLS peers read it): under a
    // policy that restricts names it may only repeat one the Certificate is already allowed.
    name: 'commonNameIsAnAllowedName',
    check: ({ policyName, spec, guardrails }) => {
      const cn = spec.commonName;
      if (cn === undefined || DNS_LIKE.test(cn) || !restrictsNames(guardrails)) return undefined;
      if ([...spec.ipAddresses, ...spec.uris, ...spec.emailAddresses].includes(cn)) return undefined;
      return {
        reason: Reason.CommonNameNotAllowed,
        message: `TLSPolicy "${policyName}" restricts names: commonName "${cn}" must be a DNS name it allows, or repeat one of the Certificate's ipAddresses, uris or emailAddresses`,
      };
    },
  },
  {
    name: 'allowSubject',
    check: ({ policyName, spec, guardrails }) => {
      if (!restrictsNames(guardrails) || guardrails.allowSubject === true) return undefined;
      const fields = Object.entries(spec.subject)
        .filter(([, v]) => v !== undefined && (!Array.isArray(v) || v.length > 0))
        .map(([k]) => k);
      if (fields.length === 0) return undefined;
      return { reason: Reason.SubjectNotAllowed, message: `TLSPolicy "${policyName}" does not allow subject fields (${fields.join(', ')}): set allowSubject on the policy, or remove spec.subject` };
    },
  },
  {
    name: 'allowCA',
    check: ({ policyName, spec, guardrails }) =>
      spec.isCA && guardrails.allowCA !== true
        ? { reason: Reason.CANotAllowed, message: `TLSPolicy "${policyName}" does not allow CA certificates: set isCA false (or the policy's allowCA)` }
        : undefined,
  },
  {
    name: 'allowedUsages',
    check: ({ policyName, spec, guardrails }) => {
      const allowed = allowedUsages(guardrails);
      // A CA's own signing usages are refused once, by allowCA.
      const reported = spec.isCA && guardrails.allowCA !== true ? CA_USAGES : [];
      const refused = spec.usages.filter((u) => !allowed.includes(u) && !reported.includes(u));
      if (refused.length === 0) return undefined;
      return { reason: Reason.UsageNotAllowed, message: `TLSPolicy "${policyName}" does not allow the usages ${quoted(refused)}: allowed are [${allowed.join(', ')}]` };
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
