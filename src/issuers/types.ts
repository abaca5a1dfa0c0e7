import type { PrivateKey } from '../pki/keys.js';
import type { CertificateTemplateSpec } from '../pki/spec.js';
import type { IssuerKind } from '../model/spec.js';

// What signs at once (the CA and self-signed issuers): (spec, key, time) in,
// a chain out. It neither generates keys nor decides lifetimes or renewal —
// those are the controller's and the policy's. The controllers reach every
// kind of issuer, ACME included, through its driver (controllers/drivers).

export interface IssueRequest {
  spec: CertificateTemplateSpec;
  /** The key the certificate is for; issuers use only its public half, except selfSigned which signs with it. */
  privateKey: PrivateKey;
  /** notBefore of the new certificate; notAfter = now + spec.durationMs. */
  now: Date;
}

export interface IssuedCertificate {
  /** PEM, leaf first, then the intermediates a client needs: the Secret's tls.crt. */
  certificatePem: string;
  /** PEM of the trust anchor(s) the chain verifies against: the Secret's ca.crt. */
  caPem: string;
}

export interface Issuer<K extends IssuerKind = IssuerKind> {
  readonly kind: K;
  issue(request: IssueRequest): Promise<IssuedCertificate>;
}

export type IssuerErrorReason =
  | 'CASecretNotFound'
  | 'CASecretIncomplete'
  | 'CASecretInvalid'
  | 'CAKeyMismatch'
  | 'CANotACA'
  | 'CANotYetValid'
  | 'CAExpired'
  | 'CAChainInvalid'
  | 'IssuanceFailed';

/**
 * Why an issuer cannot issue, with a PascalCase reason for the Certificate's
 * condition. Messages name the Secret field at fault, never key material.
 */
export class IssuerError extends Error {
  override readonly name = 'IssuerError';

  constructor(
    readonly reason: IssuerErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
