import { selfSignCertificate } from '../../pki/sign.js';
import type { IssueRequest, IssuedCertificate, Issuer } from '../types.js';

// The certificate signs itself with its own key, so it is its own trust
// anchor: ca.crt is the certificate. Spec problems surface as PkiError
// (reason InvalidTemplate) from the PKI layer.

/** TLSPolicy `issuer.selfSigned: {}` has no settings. */
export type SelfSignedIssuerConfig = Record<string, never>;

export class SelfSignedIssuer implements Issuer<'selfSigned'> {
  readonly kind = 'selfSigned' as const;

  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    const { pem } = await selfSignCertificate({ spec: request.spec, privateKey: request.privateKey, now: request.now });
    return { certificatePem: pem, caPem: pem };
  }
}

export function createSelfSignedIssuer(_config: SelfSignedIssuerConfig = {}): SelfSignedIssuer {
  return new SelfSignedIssuer();
}
