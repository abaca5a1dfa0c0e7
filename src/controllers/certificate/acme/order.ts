import type { AcmeChallengeStatus, CertificateStatus } from '../../../api/certificate.js';
import { Reason } from '../../../api/conditions.js';
import { keyAuthorization } from '../../../issuers/acme/jws.js';
import { AcmeError } from '../../../issuers/acme/problem.js';
import type { AcmeOrder } from '../../../issuers/acme/session.js';
import { formatTime } from '../../../kube/conditions.js';
import { acmeIdentifiers } from './checks.js';
import { cleanupChallenge } from './solvers.js';
import { timed, type AcmeStep } from './step.js';

// The order manager: one order per issuance. Its URL is in status before
// anything else is done with it, so a restart or a new leader continues that
// order (one order at the CA, however often the operator restarts). A spec
// change, another account, or an order the CA gave up on starts a new one.

/** Takes down whatever the order's challenges still have up, best effort, and forgets the order. */
export async function abandonOrder(step: AcmeStep, why: string): Promise<void> {
  const acme = step.status.acme;
  if (acme === undefined) return;
  await cleanupChallenges(step, acme.challenges ?? []);
  step.log.info({ order: acme.url, why }, 'ACME order abandoned');
  await step.save({ acme: undefined });
}

/** Cleans up challenges that may have something presented; errors are logged, not thrown (the order is over either way). */
export async function cleanupChallenges(step: AcmeStep, entries: readonly AcmeChallengeStatus[]): Promise<void> {
  const solvers = step.governed.policy.spec.issuer?.acme?.solvers ?? [];
  await Promise.all(
    entries
      .filter((e) => e.state !== 'Valid' && e.state !== 'Invalid')
      .map(async (entry) => {
        const solver = solvers[entry.solver];
        if (solver === undefined) return;
        try {
          await cleanupChallenge(step.deps, { cert: step.cert, entry, solver, keyAuthorization: keyAuthorization(entry.token, step.session.thumbprint) });
        } catch (err) {
          step.log.warn({ identifier: entry.identifier, type: entry.type, err: err instanceof Error ? err.message : String(err) }, 'could not clean up an ACME challenge');
        }
      }),
  );
}

export type AcmeOrderStatus = NonNullable<CertificateStatus['acme']>;

/**
 * Once the order is past "pending", every authorization is valid: take down
 * what any challenge still has up, and record that with the order's state in
 * one write. With `write` false the caller's next write carries it (finalize;
 * a download clears the order anyway): returned, undefined when nothing was
 * up or it was written. Unwritten, a crash only repeats the clean-up (deletes
 * of what is gone already).
 */
export async function finishChallenges(step: AcmeStep, order: AcmeOrder, write = true): Promise<AcmeOrderStatus | undefined> {
  const acme = step.status.acme;
  const open = (acme?.challenges ?? []).filter((e) => e.state !== 'Valid' && e.state !== 'Invalid');
  if (acme === undefined || open.length === 0) return undefined;
  await timed(step.deps, 'cleanup', () => cleanupChallenges(step, open));
  const challenges = (acme.challenges ?? []).map((e) => (open.includes(e) ? { ...e, state: 'Valid' as const, selfCheck: undefined } : e));
  const finished = { ...acme, state: order.status, challenges };
  if (!write) return finished;
  await step.save({ acme: finished });
  return undefined;
}

/**
 * Whether a change of the order's state is worth a write of its own. "ready"
 * and "valid" are not: the same pass goes on to finalize or download and
 * writes what comes of it (the state in status is for people; a resumed
 * order is always read from the CA).
 */
const recordStateAlone = (status: AcmeOrder['status']): boolean => status !== 'ready' && status !== 'valid';

/**
 * The order in flight (read from the CA), or a new one, recorded in status before it is returned;
 * `alongside` goes into the same write as a new order (the pending key's name).
 */
export async function ensureOrder(
  step: AcmeStep,
  replaces: string | undefined,
  firstIssuance: boolean,
  alongside: Partial<CertificateStatus> = {},
): Promise<{ order: AcmeOrder; retryAfterMs?: number | undefined }> {
  const recorded = step.status.acme;
  if (recorded !== undefined) {
    if (recorded.specHash !== step.governed.specHash || recorded.accountURI !== step.session.accountURI) {
      await abandonOrder(step, recorded.specHash !== step.governed.specHash ? 'the spec changed' : 'the account changed');
    } else {
      try {
        const polled = await step.session.getOrder(recorded.url);
        if (polled.value.status !== recorded.state && recordStateAlone(polled.value.status)) await step.save({ acme: { ...recorded, state: polled.value.status } });
        return { order: polled.value, retryAfterMs: polled.retryAfterMs };
      } catch (err) {
        if (!(err instanceof AcmeError) || err.kind !== 'final') throw err;
        await abandonOrder(step, err.message);
      }
    }
  }
  const acme = step.governed.policy.spec.issuer?.acme;
  const identifiers = acmeIdentifiers(step.governed.spec).map((value) => ({ type: 'dns' as const, value }));
  let order: AcmeOrder;
  let sentReplaces = replaces;
  try {
    order = await step.session.createOrder({ identifiers, profile: acme?.profile, replaces });
  } catch (err) {
    // A CA that will not take this `replaces` (already replaced, unknown) still issues without it.
    if (replaces === undefined || !(err instanceof AcmeError) || err.kind !== 'final') throw err;
    step.log.info({ replaces, err: err.message }, 'the CA refused the ARI replaces field; ordering without it');
    sentReplaces = undefined;
    order = await step.session.createOrder({ identifiers, profile: acme?.profile });
  }
  const message = `created ACME order ${order.url} for ${identifiers.map((i) => i.value).join(', ')}${sentReplaces === undefined ? '' : ` (replaces ${sentReplaces})`}`;
  step.log.info({ order: order.url, replaces: sentReplaces, profile: acme?.profile }, 'ACME order created');
  await step.save({
    ...alongside,
    acme: {
      url: order.url,
      state: order.status,
      accountURI: step.session.accountURI,
      specHash: step.governed.specHash,
      createdTime: formatTime(step.now),
      ...(sentReplaces === undefined ? {} : { replaces: sentReplaces }),
      challenges: [],
    },
    conditions: step.issuingConditions({ reason: Reason.OrderPending, message }, firstIssuance),
  });
  return { order };
}
