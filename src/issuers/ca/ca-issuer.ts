import { encodeCertificateChainPem } from '../../pki/certificates.js';
import { signCertificateWithCa } from '../../pki/sign.js';
import type { IssueRequest, IssuedCertificate, Issuer } from '../types.js';
import { caValidityError, loadCaKeyPair, type CaKeyPair, type CaSecretData } from './ca-key-pair.js';

// Issues from a CA key pair kept in a Secret. Like cert-manager's CA issuer,
// tls.crt of an issued certificate is the leaf followed by the CA Secret's
// whole tls.crt (so clients get every intermediate), and ca.crt is the CA
// Secret's ca.crt, or the last certificate of its tls.crt.

export interface CaIssuerConfig {
  secretData: CaSecretData;
  /** "namespace/name" of the CA Secret, for messages. */
  secretName?: string;
  /** When the key pair is checked for validity. */
  now: Date;
}

export class CaIssuer implements Issuer<'ca'> {
  readonly kind = 'ca' as const;
  private readonly chainPem: string;

  constructor(
    private readonly keyPair: CaKeyPair,
    private readonly secretName = 'the CA Secret',
  ) {
    this.chainPem = encodeCertificateChainPem(keyPair.chain);
  }

  /**
   * Earliest notAfter of the CA's tls.crt. The issuer does not cap leaf
   * lifetimes: a leaf outliving this stops verifying at this instant, so the
   * caller (the policy) decides whether to shorten the duration or refuse.
   */
  get caNotAfter(): Date {
    return this.keyPair.notAfter;
  }

  async issue(request: IssueRequest): Promise<IssuedCertificate> {
    // The pair was valid when loaded; it may have expired since.
    const invalid = caValidityError(this.keyPair.certificate, request.now, `tls.crt of ${this.secretName}`);
    if (invalid !== undefined) throw invalid;
    const leaf = await signCertificateWithCa({
      spec: request.spec,
      subjectKey: request.privateKey,
      ca: { certificate: this.keyPair.certificate, privateKey: this.keyPair.privateKey },
      now: request.now,
    });
    return { certificatePem: leaf.pem + this.chainPem, caPem: this.keyPair.caPem };
  }
}

/** Validates the CA Secret (see loadCaKeyPair) and returns an issuer for it; throws IssuerError. */
export function createCaIssuer(config: CaIssuerConfig): CaIssuer {
  const keyPair = loadCaKeyPair(config.secretData, { now: config.now, secretName: config.secretName });
  return new CaIssuer(keyPair, config.secretName === undefined ? undefined : `Secret ${config.secretName}`);
}
