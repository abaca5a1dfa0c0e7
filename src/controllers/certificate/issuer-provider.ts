import type { CoreV1Api } from '@kubernetes/client-node';
import type { Clock } from '../../clock.js';
import { createCaIssuer, type CaIssuer } from '../../issuers/ca/ca-issuer.js';
import { createSelfSignedIssuer } from '../../issuers/selfsigned/self-signed-issuer.js';
import { IssuerError, type Issuer } from '../../issuers/types.js';
import { isNotFound } from '../../kube/errors.js';
import type { Governed } from '../../model/spec.js';
import { decodeSecretData } from '../../secrets/summary.js';

/**
 * Turns a governing policy into a ready Issuer. CA key pairs are read from
 * their Secret in the operator's namespace and kept for a short while, so a
 * burst of 1,000 Certificates costs one read, not 1,000, while a rotated CA
 * Secret is picked up within seconds.
 */
export class IssuerProvider {
  private readonly caCache = new Map<string, { issuer: CaIssuer; loadedAt: number }>();
  private readonly selfSigned = createSelfSignedIssuer();

  constructor(
    private readonly deps: { core: Pick<CoreV1Api, 'readNamespacedSecret'>; operatorNamespace: string; clock: Clock; caTtlMs?: number },
  ) {}

  async issuerFor(governed: Governed): Promise<Issuer> {
    const issuer = governed.policy.spec.issuer;
    if (issuer?.selfSigned !== undefined) return this.selfSigned;
    if (issuer?.ca !== undefined) return this.caIssuer(issuer.ca.secretName);
    if (issuer?.acme !== undefined) {
      throw new IssuerError('IssuanceFailed', 'ACME issuance is not available in this version of certkeeper: use a ca or selfSigned issuer');
    }
    throw new IssuerError('IssuanceFailed', `TLSPolicy "${governed.policy.metadata.name}" has no issuer`);
  }

  /** Loads (and validates) the CA Secret; IssuerError says what is wrong with it. */
  async caIssuer(secretName: string): Promise<CaIssuer> {
    const now = this.deps.clock.now();
    const cached = this.caCache.get(secretName);
    if (cached !== undefined && now - cached.loadedAt < (this.deps.caTtlMs ?? 10_000)) return cached.issuer;
    const where = `${this.deps.operatorNamespace}/${secretName}`;
    let secret;
    try {
      secret = await this.deps.core.readNamespacedSecret({ name: secretName, namespace: this.deps.operatorNamespace });
    } catch (err) {
      if (isNotFound(err)) throw new IssuerError('CASecretIncomplete', `CA Secret ${where} does not exist`);
      throw err;
    }
    const issuer = createCaIssuer({
      secretData: {
        'tls.crt': decodeSecretData(secret, 'tls.crt'),
        'tls.key': decodeSecretData(secret, 'tls.key'),
        'ca.crt': decodeSecretData(secret, 'ca.crt'),
      },
      secretName: where,
      now: new Date(now),
    });
    this.caCache.set(secretName, { issuer, loadedAt: now });
    return issuer;
  }

  forget(secretName: string): void {
    this.caCache.delete(secretName);
  }
}
