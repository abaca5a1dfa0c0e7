import type { Certificate } from '../../../api/certificate.js';
import { Reason } from '../../../api/conditions.js';
import type { Clock } from '../../../clock.js';
import { ariCertId } from '../../../issuers/acme/ari.js';
import type { AcmeAccounts } from '../../../issuers/acme/accounts.js';
import { AcmeError, describeProblem } from '../../../issuers/acme/problem.js';
import type { AcmeOrder, AcmeSession } from '../../../issuers/acme/session.js';
import { apiErrorMessage, isClientFault } from '../../../kube/errors.js';
import type { CertificatesClient, SecretsClient } from '../../../kube/resources.js';
import type { Logger } from '../../../log.js';
import type { Violation } from '../../../model/violation.js';
import { backoffUntil } from '../decide.js';
import { type Governed } from '../../../model/spec.js';
import type { IssueResult } from '../secret-writer.js';
import { SecretAnnotation, type TlsSecretState } from '../../../model/secret.js';
import { advanceChallenges, awaitingValidation, failedValidation } from './challenges.js';
import { nextPollDelay } from '../../../issuers/acme/poll.js';
import { downloadAndWrite, finalizeOrder } from './finalize.js';
import { ensureNextKey, nextKeySecretName, type NextKey } from './keys.js';
import { abandonOrder, ensureOrder, finishChallenges, type AcmeOrderStatus } from './order.js';
import { AcmeStep, pollWait, timed, type AcmeStepDeps, type Wait } from './step.js';
import { CertificateGoneError } from '../status-writer.js';

// One ACME issuance, advanced as far as it can go without waiting, each time
// the Certificate is reconciled: account (from the policy's status) → pending
// key → order → challenges → finalize → download → the live Secret. The
// parts talk only through the Certificate's status; whatever reconcile comes
// next, on this replica or a new leader, continues from there.

export interface AcmeIssuerDeps extends AcmeStepDeps {
  clock: Clock;
  accounts: AcmeAccounts;
  /** Reads the Certificate fresh (a resumed order is the one the server recorded) and keeps the revocation finalizer. */
  certificates: Pick<CertificatesClient, 'get' | 'setFinalizers'>;
  secrets: Pick<SecretsClient, 'get' | 'delete'>;
  selfCheckTimeoutMs: number;
}

export type AcmeOutcome =
  | { kind: 'issued'; result: IssueResult; cert: Certificate }
  | { kind: 'waiting'; ms: number; violation: Violation }
  | { kind: 'failed'; error: AcmeError; cert: Certificate }
  | { kind: 'gone' };

/** What one run ends in: a wait may still be a poll whose length the schedule decides. */
type RunOutcome = Exclude<AcmeOutcome, { kind: 'waiting' }> | { kind: 'waiting'; ms: number; violation: Violation; poll?: Wait['poll'] };

const MAX_PASSES = 6;
/** How long what our own writes got back stands in for a fresh read (the cache normally catches up within milliseconds). */
const KNOWN_FOR_MS = 30_000;
/** The versions remembered per Certificate (one issuance writes about 6 times). */
const KNOWN_VERSIONS = 32;
/** After MAX_PASSES in one reconcile (an order that keeps changing under us), look again this soon. */
const AGAIN_MS = 250;
const issuanceSubject = (order: AcmeOrder): string => `issue ${order.url}`;

export class AcmeIssuer {
  /** In-memory only: how soon a key may be looked at again, so our own status writes do not make it poll the CA early. */
  private readonly notBefore = new Map<string, { until: number; generation: number }>();
  /** In-memory only: what each key's polls wait for and since when (a restart starts the schedule again, at its short end). */
  private readonly polls = new Map<string, { subject: string; since: number }>();
  /**
   * In-memory only: the Certificate as the server answered our last status
   * write of a run that ended waiting (after which the reconciler writes
   * nothing), and every resourceVersion the object went through by our hand
   * since it was last read fresh. While the cache shows one of those, nobody
   * else has changed the object as far as the watch has told, and the server's
   * object is the one we hold: no fresh read. Anything else (another writer,
   * a spec change, a restart with empty memory) reads it fresh.
   */
  private readonly known = new Map<string, { cert: Certificate; versions: string[]; until: number; nextKey?: NextKey | undefined }>();

  constructor(private readonly deps: AcmeIssuerDeps) {}

  /** The Certificate as the API server has it now; undefined when it is gone. */
  private fresh(cert: Certificate): Promise<Certificate | undefined> {
    return timed(this.deps, 'read_certificate', () => this.deps.certificates.get(cert.metadata.name, cert.metadata.namespace ?? 'default'));
  }

  /** What our own last write got back, when the cache has seen nothing since but our writes (see `known`). */
  private current(key: string, cached: Certificate): { cert: Certificate; versions: string[]; nextKey?: NextKey | undefined } | undefined {
    const entry = this.known.get(key);
    if (entry === undefined) return undefined;
    const rv = cached.metadata.resourceVersion;
    const trusted =
      rv !== undefined &&
      entry.versions.includes(rv) &&
      this.deps.clock.now() <= entry.until &&
      cached.metadata.uid === entry.cert.metadata.uid &&
      (cached.metadata.generation ?? 0) === (entry.cert.metadata.generation ?? 0);
    if (!trusted) {
      this.known.delete(key);
      return undefined;
    }
    return entry;
  }

  /** `replaces` for the renewal order: the current certificate, when this CA issued it and offers ARI. */
  private async replaces(session: AcmeSession, governed: Governed, secret: TlsSecretState): Promise<string | undefined> {
    if (secret.state !== 'valid' || secret.annotations[SecretAnnotation.issuer] !== governed.issuerIdentity) return undefined;
    const aki = secret.facts.authorityKeyId;
    if (aki === undefined) return undefined;
    const directory = await session.directory();
    return directory.renewalInfo === undefined ? undefined : ariCertId(aki, secret.facts.serialNumber);
  }

  async issue(key: string, cached: Certificate, governed: Governed, trigger: Violation, secret: TlsSecretState, log: Logger): Promise<AcmeOutcome> {
    const now = this.deps.clock.now();
    const gate = this.notBefore.get(key);
    const generation = cached.metadata.generation ?? 0;
    if (gate !== undefined && gate.generation === generation && now < gate.until) {
      return { kind: 'waiting', ms: gate.until - now, violation: { reason: Reason.OrderPending, message: 'waiting' } };
    }
    this.notBefore.delete(key);
    let ran: RunOutcome;
    try {
      ran = await this.run(key, cached, governed, trigger, secret, log, new Date(now));
    } catch (err) {
      // Writes of this run may have happened before the throw: what we knew is not the server's object now.
      this.known.delete(key);
      throw err;
    }
    // Only a wait is followed by no write of the reconciler's: after anything else, read fresh next time.
    if (ran.kind !== 'waiting') this.known.delete(key);
    const outcome = ran.kind === 'waiting' ? { kind: ran.kind, ms: this.pollDelay(key, ran), violation: ran.violation } : ran;
    if (ran.kind !== 'waiting' || ran.poll === undefined) this.polls.delete(key);
    // Waiting for the account costs the CA nothing and must end as soon as the policy registers it.
    if (outcome.kind === 'waiting' && outcome.violation.reason !== Reason.AccountNotReady) this.notBefore.set(key, { until: now + outcome.ms, generation });
    return outcome;
  }

  /** The wait's own length, or for a poll, the schedule's: counted from the first poll of the same subject. */
  private pollDelay(key: string, w: { ms: number; poll?: Wait['poll'] }): number {
    if (w.poll === undefined) return w.ms;
    const now = this.deps.clock.now();
    const known = this.polls.get(key);
    const since = known?.subject === w.poll.subject ? known.since : now;
    this.polls.set(key, { subject: w.poll.subject, since });
    return nextPollDelay(now - since, w.poll.retryAfterMs);
  }

  private async run(key: string, cached: Certificate, governed: Governed, trigger: Violation, secret: TlsSecretState, log: Logger, now: Date): Promise<RunOutcome> {
    const firstIssuance = secret.state !== 'valid';
    const account = await timed(this.deps, 'account', () => this.deps.accounts.session(governed.policy));
    if ('waiting' in account) {
      // The reconciler writes the prerequisite's condition: what we knew of the object is stale after it.
      this.known.delete(key);
      return { kind: 'waiting', ms: 10_000, violation: { reason: Reason.AccountNotReady, message: account.waiting } };
    }
    const known = this.current(key, cached);
    const cert = known?.cert ?? (await this.fresh(cached));
    if (cert === undefined) return { kind: 'gone' };
    // The cache may not show the last failure yet; the API server does.
    const retryAt = backoffUntil(cert, now);
    if (retryAt !== undefined) {
      return { kind: 'waiting', ms: retryAt.getTime() - now.getTime(), violation: { reason: Reason.Backoff, message: 'backing off after a failed attempt' } };
    }
    const step = new AcmeStep(cert, governed, account.session, this.deps, now, log, trigger);
    // The pending key this issuer made or read, while the Certificate is the one it knows: no read of its Secret.
    const keyKnown = known?.nextKey !== undefined && cert.status?.nextPrivateKeySecretName === known.nextKey.secretName ? known.nextKey : undefined;
    const pending: { next?: NextKey | undefined } = { next: keyKnown };
    const outcome = await this.advance(step, governed, secret, firstIssuance, pending);
    if (outcome.kind === 'waiting') {
      const versions = [...new Set([...(known?.versions ?? []), ...step.versions])].slice(-KNOWN_VERSIONS);
      this.known.set(key, { cert: step.cert, versions, until: this.deps.clock.now() + KNOWN_FOR_MS, nextKey: pending.next });
    }
    return outcome;
  }

  private async advance(step: AcmeStep, governed: Governed, secret: TlsSecretState, firstIssuance: boolean, pending: { next?: NextKey | undefined }): Promise<RunOutcome> {
    const { log } = step;
    // The pending key is made before the first order and named in status by the write that records
    // that order (or on its own when an order is already recorded); after that it is read only when
    // finalizing or downloading, not on every poll (and not at all when this issuer made it).
    const unnamedInStatus = step.status.nextPrivateKeySecretName !== nextKeySecretName(step.cert);
    const pendingKey = async (): Promise<NextKey> =>
      (pending.next ??= await timed(this.deps, 'pending_key', () => ensureNextKey(this.deps.core, step.cert, governed, unnamedInStatus && step.status.acme === undefined)));
    let unnamed: string | undefined;
    try {
      if (unnamedInStatus) {
        const { secretName } = await pendingKey();
        if (step.status.acme === undefined) unnamed = secretName;
        else await step.save({ nextPrivateKeySecretName: secretName });
      }
      const replaces = step.status.acme === undefined ? await this.replaces(step.session, governed, secret) : undefined;
      // Challenges taken down in this run: done once, their state written with what follows.
      let finished = false;
      let unwritten: AcmeOrderStatus | undefined;
      for (let pass = 0; pass < MAX_PASSES; pass++) {
        const { order, retryAfterMs } = await ensureOrder(step, replaces, firstIssuance, unnamed === undefined ? {} : { nextPrivateKeySecretName: unnamed });
        unnamed = undefined;
        if (order.status !== 'pending' && order.status !== 'invalid' && !finished) {
          // Ready: the finalize writes it; valid: the download clears the order; processing: written now.
          unwritten = await finishChallenges(step, order, order.status === 'processing');
          finished = true;
        }
        let result: Wait | 'again';
        switch (order.status) {
          case 'pending': {
            const advanced = awaitingValidation(step, order, retryAfterMs) ?? (await advanceChallenges(step, order, { selfCheckMs: this.deps.selfCheckTimeoutMs }, firstIssuance));
            result = advanced === 'authorized' ? 'again' : advanced;
            break;
          }
          case 'ready': {
            const next = await pendingKey();
            const finalized = await finalizeOrder(step, order, next, firstIssuance, unwritten);
            unwritten = undefined;
            // Issued at once: the finalize answer is the valid order (with its certificate URL); no look at it again.
            if (finalized.order.status === 'valid') return { kind: 'issued', result: await downloadAndWrite(step, finalized.order, next, secret), cert: step.cert };
            result = pollWait(issuanceSubject(order), finalized.retryAfterMs, { reason: Reason.Finalizing, message: `the CA is issuing the certificate of order ${order.url}` });
            break;
          }
          case 'processing':
            result = pollWait(issuanceSubject(order), retryAfterMs, { reason: Reason.Finalizing, message: `the CA is issuing the certificate of order ${order.url}` });
            break;
          case 'valid':
            return { kind: 'issued', result: await downloadAndWrite(step, order, await pendingKey(), secret), cert: step.cert };
          case 'invalid':
            throw await invalidOrder(step.session, order);
        }
        if (result !== 'again') return { kind: 'waiting', ms: result.ms, violation: result.violation, poll: result.poll };
      }
      return { kind: 'waiting', ms: AGAIN_MS, violation: { reason: Reason.OrderPending, message: 'the order is progressing' } };
    } catch (err) {
      if (err instanceof CertificateGoneError) return { kind: 'gone' };
      const error = toAcmeError(err);
      if (error === undefined) throw err;
      if (error.kind === 'final') await abandonOrder(step, error.message).catch((e: unknown) => log.warn({ err: String(e) }, 'could not abandon the ACME order'));
      // No order recorded it: name the pending key now, so clean-up finds it if this Certificate stops issuing.
      if (unnamed !== undefined && step.status.nextPrivateKeySecretName !== unnamed) {
        await step.save({ nextPrivateKeySecretName: unnamed }).catch((e: unknown) => log.warn({ err: String(e) }, 'could not name the pending key in status'));
      }
      return { kind: 'failed', error, cert: step.cert };
    }
  }

  forget(key: string): void {
    this.notBefore.delete(key);
    this.polls.delete(key);
    this.known.delete(key);
  }
}

/** Why the CA gave up on an order: the failed challenge's problem document when there is one, else the order's. */
async function invalidOrder(session: AcmeSession, order: AcmeOrder): Promise<AcmeError> {
  for (const url of order.authorizations) {
    const authz = await session.getAuthorization(url).catch(() => undefined);
    if (authz !== undefined && authz.value.status !== 'valid' && authz.value.status !== 'pending') return failedValidation(authz.value);
  }
  return new AcmeError('final', `the CA gave up on order ${order.url}: ${order.error === undefined ? 'no reason given' : describeProblem(order.error)}`);
}

/** Failures the user should see on the Certificate (the CA's, DNS, Kubernetes 4xx); anything else is a bug and throws on. */
function toAcmeError(err: unknown): AcmeError | undefined {
  if (err instanceof AcmeError) return err;
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'DnsUpdateError' || err.name === 'DnsWireError' || err.name === 'PkiError' || err.name === 'IssuerError') {
    return new AcmeError('final', err.message, {}, { cause: err });
  }
  if (isClientFault(err)) {
    return new AcmeError('final', `Kubernetes API: ${apiErrorMessage(err)}`, {}, { cause: err });
  }
  return undefined;
}
