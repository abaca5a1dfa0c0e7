import type { Clock } from '../../clock.js';
import { createCaIssuer, type CaIssuer } from '../../issuers/ca/ca-issuer.js';
import { IssuerError } from '../../issuers/types.js';
import type { SecretsClient } from '../../kube/resources.js';
import { decodeSecretData } from '../../secrets/summary.js';

/**
 * CA issuers by the name of their key pair's Secret (in the operator's
 * namespace). Kept for a short while, so a burst of 1,000 Certificates costs
 * one read, not 1,000, while a rotated CA Secret is picked up within seconds.
 */
export class CaIssuers {
  private readonly cache = new Map<string, { issuer: CaIssuer; loadedAt: number }>();

  constructor(private readonly deps: { secrets: Pick<SecretsClient, 'get'>; operatorNamespace: string; clock: Clock; ttlMs?: number }) {}

  /** Loads (and validates) the CA Secret; IssuerError says what is wrong with it. */
  async get(secretName: string): Promise<CaIssuer> {
    const now = this.deps.clock.now();
    const cached = this.cache.get(secretName);
    if (cached !== undefined && now - cached.loadedAt < (this.deps.ttlMs ?? 10_000)) return cached.issuer;
    const where = `${this.deps.operatorNamespace}/${secretName}`;
    const secret = await this.deps.secrets.get(this.deps.operatorNamespace, secretName);
    if (secret === undefined) throw new IssuerError('CASecretNotFound', `CA Secret ${where} does not exist`);
    const issuer = createCaIssuer({
      secretData: {
        'tls.crt': decodeSecretData(secret, 'tls.crt'),
        'tls.key': decodeSecretData(secret, 'tls.key'),
        'ca.crt': decodeSecretData(secret, 'ca.crt'),
      },
      secretName: where,
      now: new Date(now),
    });
    this.cache.set(secretName, { issuer, loadedAt: now });
    return issuer;
  }

  /** Read the Secret again next time (the policy's reconciler checks it afresh). */
  forget(secretName: string): void {
    this.cache.delete(secretName);
  }
}
