import type { IssuerSpec, TLSPolicy } from '../../api/tlspolicy.js';
import type { EffectiveSpec, IssuerKind } from '../../model/spec.js';
import { acmeIdentifiers, acmeSpecViolation } from '../certificate/acme/checks.js';
import type { IssuedNames, IssuerRules } from './driver.js';

// The pure half of each issuer driver: decisions use it directly, the drivers
// (controllers/certificate/drivers) build on it.

/** Which kind of issuer the policy names (the first of spec.issuers); undefined when it only validates endpoints. */
export function issuerKindOf(policy: TLSPolicy): IssuerKind | undefined {
  return issuerEntries(policy)[0]?.kind;
}

/** The one place that reads the union of issuer kinds. */
function kindOf(issuer: IssuerSpec | undefined): IssuerKind | undefined {
  if (issuer?.ca !== undefined) return 'ca';
  if (issuer?.selfSigned !== undefined) return 'selfSigned';
  if (issuer?.acme !== undefined) return 'acme';
  return undefined;
}

/** One issuer of a policy, in its order of preference. */
export interface IssuerEntry {
  /** The entry's name; for spec.issuer, its kind. */
  name: string;
  kind: IssuerKind;
  /**
   * The policy as this issuer's driver sees it: spec.issuer is this entry and
   * status.acme its account. The drivers read only spec.issuer, so one issuer
   * of a list is driven exactly as a policy with that single issuer.
   */
  policy: TLSPolicy;
  /** Whether the policy lists issuers (spec.issuers) rather than naming one. */
  listed: boolean;
}

export function issuerEntries(policy: TLSPolicy): IssuerEntry[] {
  const list = policy.spec.issuers;
  if (list === undefined) {
    const kind = kindOf(policy.spec.issuer);
    return kind === undefined ? [] : [{ name: kind, kind, policy, listed: false }];
  }
  const entries: IssuerEntry[] = [];
  for (const { name, ...issuer } of list) {
    const kind = kindOf(issuer);
    if (kind === undefined) continue;
    const { issuers: _issuers, ...spec } = policy.spec;
    const status = policy.status === undefined ? undefined : { ...policy.status, acme: policy.status.issuers?.find((i) => i.name === name)?.acme };
    entries.push({ name, kind, listed: true, policy: { ...policy, spec: { ...spec, issuer }, ...(status === undefined ? {} : { status }) } });
  }
  return entries;
}

const namesAsRequested = (spec: EffectiveSpec): IssuedNames => ({ commonName: { value: spec.commonName }, dnsNames: spec.dnsNames });

export const issuerRules: Readonly<Record<IssuerKind, IssuerRules>> = {
  selfSigned: { identity: () => 'selfSigned', checkSpec: () => undefined, issuedNames: namesAsRequested },
  ca: { identity: (policy) => `ca:${policy.spec.issuer?.ca?.secretName ?? ''}`, checkSpec: () => undefined, issuedNames: namesAsRequested },
  // An ACME CA issues for DNS names only, each proven by a challenge some solver of the policy answers.
  // The order also names the commonName, so the CA puts it among the DNS names and picks the subject itself.
  acme: {
    identity: (policy) => `acme:${policy.spec.issuer?.acme?.server ?? ''}`,
    checkSpec: acmeSpecViolation,
    issuedNames: (spec) => ({ commonName: undefined, dnsNames: acmeIdentifiers(spec) }),
  },
};
