import { Reason } from '../../../api/conditions.js';
import type { TLSPolicy } from '../../../api/tlspolicy.js';
import { selectSolver } from '../../../issuers/acme/solver-selection.js';
import { type Check, firstViolation, type Violation } from '../../../model/violation.js';
import type { EffectiveSpec } from '../../../model/spec.js';

// What an ACME CA can issue is narrower than what a private CA can: DNS
// names only (each proven by a challenge some solver of the policy answers),
// no CA certificates. These checks refuse the rest before any request to the CA.

const DNS_NAME = /^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The names an order asks for: dnsNames, plus commonName when it is a DNS name not already listed. */
export function acmeIdentifiers(spec: Pick<EffectiveSpec, 'dnsNames' | 'commonName'>): string[] {
  const names = spec.dnsNames.map((n) => n.toLowerCase());
  const cn = spec.commonName?.toLowerCase();
  if (cn !== undefined && DNS_NAME.test(cn) && !names.includes(cn)) names.push(cn);
  return [...new Set(names)];
}

interface AcmeCheckInput {
  policy: TLSPolicy;
  spec: EffectiveSpec;
}

const checks: readonly Check<AcmeCheckInput>[] = [
  {
    name: 'onlyDnsNames',
    check: ({ spec }) => {
      const other = [
        spec.ipAddresses.length > 0 ? 'ipAddresses' : undefined,
        spec.uris.length > 0 ? 'uris' : undefined,
        spec.emailAddresses.length > 0 ? 'emailAddresses' : undefined,
      ].filter((x): x is string => x !== undefined);
      return other.length === 0
        ? undefined
        : { reason: Reason.InvalidSpec, message: `an ACME CA issues for DNS names only: remove ${other.join(', ')} or use a policy with a ca issuer` };
    },
  },
  {
    name: 'notCA',
    check: ({ spec }) => (spec.isCA ? { reason: Reason.InvalidSpec, message: 'an ACME CA does not issue CA certificates: set isCA false or use a ca issuer' } : undefined),
  },
  {
    name: 'hasDnsName',
    check: ({ spec }) =>
      acmeIdentifiers(spec).length === 0 ? { reason: Reason.InvalidSpec, message: 'an ACME certificate needs at least one DNS name in dnsNames' } : undefined,
  },
  {
    name: 'solverForEveryName',
    check: ({ policy, spec }) => {
      const problems = acmeIdentifiers(spec).flatMap((name) => {
        const chosen = selectSolver(policy.metadata.name, policy.spec.issuer?.acme?.solvers, name);
        return 'error' in chosen ? [chosen.error] : [];
      });
      return problems.length === 0 ? undefined : { reason: Reason.NoSolver, message: [...new Set(problems)].join('; ') };
    },
  },
];

export function acmeSpecViolation(input: AcmeCheckInput): Violation | undefined {
  return firstViolation(checks, input);
}
