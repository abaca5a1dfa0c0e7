import type { Certificate, CertificateStatus } from '../../../api/certificate.js';
import { ariCertId, nextRenewalInfoFetch, type AriPollBounds } from '../../../issuers/acme/ari.js';
import { formatTime } from '../../../kube/conditions.js';
import type { Logger } from '../../../log.js';
import type { Governed } from '../../../model/spec.js';
import { SecretAnnotation, type ValidSecret } from '../../../model/secret.js';
import { deleteNextKey } from './keys.js';
import { abandonOrder } from './order.js';
import type { AcmeIssuerDeps } from './pipeline.js';
import { AcmeStep } from './step.js';
import { cleanupHttp01Anyway } from './solvers.js';
import { CertificateGoneError } from '../status-writer.js';
import { revokeAndRelease, syncRevokeFinalizer, wantsRevocation } from './revocation.js';
import type { TLSPolicy } from '../../../api/tlspolicy.js';

// Work on ACME Certificates that are not issuing: take down what an order
// left behind (a crash after the Secret was written, a spec that went back,
// a policy that now refuses), and keep the CA's renewal window (ARI, RFC
// 9773) current for the certificate in the Secret.

export class AcmeUpkeep {
  /** After a failed renewalInfo fetch: no new one before this (per Certificate, in memory). */
  private readonly ariRetry = new Map<string, number>();

  constructor(private readonly deps: AcmeIssuerDeps & { ariBounds: AriPollBounds }) {}

  /** True when the Certificate's status still carries a finished or abandoned issuance. */
  static hasLeftovers(cert: Certificate): boolean {
    return cert.status?.acme !== undefined || cert.status?.nextPrivateKeySecretName !== undefined;
  }

  async cleanLeftovers(cert: Certificate, governed: Governed | undefined, log: Logger): Promise<void> {
    if (!AcmeUpkeep.hasLeftovers(cert)) return;
    const now = new Date(this.deps.clock.now());
    try {
      const account = governed?.issuerKind === 'acme' ? await this.deps.accounts.session(governed.policy) : undefined;
      if (governed !== undefined && account !== undefined && 'session' in account && cert.status?.acme !== undefined) {
        const step = new AcmeStep(cert, governed, account.session, this.deps, now, log, { reason: 'NotIssuing', message: 'not issuing' });
        await abandonOrder(step, 'the Certificate is current (or blocked): nothing to issue');
        cert = step.cert;
      } else {
        // No ACME policy governs it now (blocked, or another issuer): no solver to ask, so remove what HTTP-01 may have left by name.
        await this.cleanupWithoutSolver(cert, log);
      }
      await deleteNextKey(this.deps.core, cert);
      await this.patch(cert, { acme: undefined, nextPrivateKeySecretName: undefined });
    } catch (err) {
      // Deleted meanwhile: nothing left to clean on it (its namespaced resources go with it).
      if (!(err instanceof CertificateGoneError)) throw err;
    }
  }

  private async cleanupWithoutSolver(cert: Certificate, log: Logger): Promise<void> {
    for (const entry of cert.status?.acme?.challenges ?? []) {
      if (entry.state === 'Valid' || entry.state === 'Invalid') continue;
      if (entry.type === 'http-01') await cleanupHttp01Anyway(this.deps, cert, entry.token);
      else log.warn({ identifier: entry.identifier }, 'a DNS-01 record may be left at the nameserver: no policy names its solver any more');
    }
  }

  /**
   * Fetches the CA's suggested renewal window for the certificate in the
   * Secret when it is due (Retry-After, within bounds). Returns when to look
   * again, in ms, or undefined when ARI does not apply.
   */
  async refreshRenewalInfo(key: string, cert: Certificate, governed: Governed, secret: ValidSecret, log: Logger): Promise<number | undefined> {
    if (governed.issuerKind !== 'acme' || secret.annotations[SecretAnnotation.issuer] !== governed.issuerIdentity) return undefined;
    const aki = secret.facts.authorityKeyId;
    if (aki === undefined) return undefined;
    const now = this.deps.clock.now();
    const info = cert.status?.renewalInfo;
    const due = info === undefined || info.serialNumber !== secret.facts.serialNumber ? now : Date.parse(info.nextFetchTime);
    const retry = Math.max(Number.isNaN(due) ? now : due, this.ariRetry.get(key) ?? 0);
    if (retry > now) return retry - now;
    const account = await this.deps.accounts.session(governed.policy);
    if (!('session' in account)) return undefined;
    let window: Awaited<ReturnType<typeof account.session.renewalInfo>>;
    try {
      window = await account.session.renewalInfo(ariCertId(aki, secret.facts.serialNumber));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const retryAfter = typeof err === 'object' && err !== null && 'details' in err ? (err as { details: { retryAfterMs?: number } }).details.retryAfterMs : undefined;
      const next = nextRenewalInfoFetch(now, retryAfter ?? 3_600_000, this.deps.ariBounds);
      this.ariRetry.set(key, next);
      log.warn({ err: message, next: new Date(next) }, 'could not fetch the ACME renewal window; the schedule from the spec applies meanwhile');
      return next - now;
    }
    if (window === undefined) return undefined;
    const next = nextRenewalInfoFetch(now, window.retryAfterMs, this.deps.ariBounds);
    // Outside the CA's try: a failed status write is the API server's failure, retried by the queue, not the CA's.
    await this.patch(cert, {
      renewalInfo: {
        serialNumber: secret.facts.serialNumber,
        windowStart: window.start.toISOString(),
        windowEnd: window.end.toISOString(),
        ...(window.explanationURL === undefined ? {} : { explanationURL: window.explanationURL }),
        fetchedTime: formatTime(now),
        nextFetchTime: formatTime(next),
      },
    });
    this.ariRetry.delete(key);
    log.debug({ start: window.start, end: window.end, next: new Date(next) }, 'ACME renewal window fetched');
    return next - now;
  }

  private async patch(cert: Certificate, change: Partial<CertificateStatus>): Promise<void> {
    await this.deps.statusWriter.change(cert, change).catch((err: unknown) => {
      // Deleted meanwhile: nothing left to keep up.
      if (!(err instanceof CertificateGoneError)) throw err;
    });
  }

  forget(key: string): void {
    this.ariRetry.delete(key);
  }

  syncRevokeFinalizer(cert: Certificate, policy: TLSPolicy | undefined): Promise<void> {
    return syncRevokeFinalizer(this.deps, cert, wantsRevocation(policy));
  }

  /** The Certificate is going: revoke and delete its Secret if the policy asks for it, then drop the finalizer. */
  async release(cert: Certificate, policy: TLSPolicy | undefined, log: Logger): Promise<string | undefined> {
    if (AcmeUpkeep.hasLeftovers(cert)) await deleteNextKey(this.deps.core, cert);
    return revokeAndRelease(this.deps, cert, policy, log);
  }
}
