import type { TLSPolicy } from '../../api/tlspolicy.js';
import type { EffectiveSpec, IssuerKind } from '../../model/spec.js';
import { acmeIdentifiers, acmeSpecViolation } from '../certificate/acme/checks.js';
import type { IssuedNames, IssuerRules } from './driver.js';

// The pure half of each issuer driver: decisions use it directly, the drivers
// (controllers/certificate/drivers) build on it.

/** Which kind of issuer the policy names; undefined when it only validates endpoints. The one place that reads the union. */
export function issuerKindOf(policy: TLSPolicy): IssuerKind | undefined {
  const issuer = policy.spec.issuer;
  if (issuer?.ca !== undefined) return 'ca';
  if (issuer?.selfSigned !== undefined) return 'selfSigned';
  if (issuer?.acme !== undefined) return 'acme';
  return undefined;
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
