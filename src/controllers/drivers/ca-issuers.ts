import type { Clock } from '../../clock.js';
import { createCaIssuer, type CaIssuer } from '../../issuers/ca/ca-issuer.js';
import { IssuerError } from '../../issuers/types.js';
import type { SecretsClient } from '../../kube/resources.js';
import { decodeSecretData } from '../../secrets/summary.js';

/**
 * CA issuers by the name of their key pair's Secret (in the operator's
 * namespace). Kept for a short while, so a burst of 1,000 Certificates costs
 * one read, not 1,000, while a rotated CA Secret is picked up within seconds.
 * Callers that miss the cache together share one read and one load: with 16
 * workers, each expiry of the entry cost 16 reads and 16 parses of the CA.
 */
export class CaIssuers {
  private readonly cache = new Map<string, { issuer: CaIssuer; loadedAt: number }>();
  /** Loads under way, by Secret name; a forget() detaches the running one from later callers. */
  private readonly loading = new Map<string, Promise<CaIssuer>>();

  constructor(private readonly deps: { secrets: Pick<SecretsClient, 'get'>; operatorNamespace: string; clock: Clock; ttlMs?: number }) {}

  /** Loads (and validates) the CA Secret; IssuerError says what is wrong with it. */
  async get(secretName: string): Promise<CaIssuer> {
    const now = this.deps.clock.now();
    const cached = this.cache.get(secretName);
    if (cached !== undefined && now - cached.loadedAt < (this.deps.ttlMs ?? 10_000)) return cached.issuer;
    const running = this.loading.get(secretName);
    if (running !== undefined) return running;
    const load: Promise<CaIssuer> = this.load(secretName, now)
      .then((issuer) => {
        // A forget() while this read was under way asked for a fresher one: then this is not cached.
        if (this.loading.get(secretName) === load) this.cache.set(secretName, { issuer, loadedAt: now });
        return issuer;
      })
      .finally(() => {
        if (this.loading.get(secretName) === load) this.loading.delete(secretName);
      });
    this.loading.set(secretName, load);
    return load;
  }

  /** Reads and validates the CA Secret (not cached here). */
  private async load(secretName: string, now: number): Promise<CaIssuer> {
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
    return issuer;
  }

  /** Read the Secret again next time (the policy's reconciler checks it afresh). */
  forget(secretName: string): void {
    this.cache.delete(secretName);
    this.loading.delete(secretName);
  }
}
