import { createCaIssuer, type CaIssuerConfig } from './ca/ca-issuer.js';
import { createSelfSignedIssuer, type SelfSignedIssuerConfig } from './selfsigned/self-signed-issuer.js';
import type { IssuerFactory } from './types.js';
import type { IssuerKind } from '../model/spec.js';

// Factories for the issuers that need nothing but a Secret. The operator
// completes the registry with ACME:
//
//   const issuers: IssuerRegistry<BuiltInIssuerConfigs & { acme: AcmeIssuerConfig }> =
//     { ...builtInIssuerFactories, acme: createAcmeIssuer };

export interface BuiltInIssuerConfigs {
  selfSigned: SelfSignedIssuerConfig;
  ca: CaIssuerConfig;
}

type BuiltInKind = keyof BuiltInIssuerConfigs & IssuerKind;

export const builtInIssuerFactories: { readonly [K in BuiltInKind]: IssuerFactory<K, BuiltInIssuerConfigs[K]> } = {
  selfSigned: createSelfSignedIssuer,
  ca: createCaIssuer,
};
