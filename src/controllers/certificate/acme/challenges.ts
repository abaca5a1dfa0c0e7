import type { AcmeChallengeStatus } from '../../../api/certificate.js';
import { Reason } from '../../../api/conditions.js';
import { keyAuthorization } from '../../../issuers/acme/jws.js';
import { AcmeError, describeProblem } from '../../../issuers/acme/problem.js';
import type { AcmeAuthorization, AcmeOrder, Polled } from '../../../issuers/acme/session.js';
import { selectSolver } from '../../../issuers/acme/solver-selection.js';
import { formatTime } from '../../../kube/conditions.js';
import { cleanupChallenge, presentChallenge, selfCheckChallenge, type PresentedChallenge } from './solvers.js';
import { pollWait, timed, wait, type AcmeStep, type Wait } from './step.js';

// Challenge solving for a pending order: pick a solver per authorization,
// record the challenge in status, present it, self-check it (time-bounded,
// the result in status while it waits), tell the CA, follow the
// authorization, and take the challenge down once it is valid. Each state
// change is saved before the next action, so a restart picks up where it was.

const SELF_CHECK_INTERVAL_MS = 1_000;

/** What the validation polls of an order are keyed by (the poll schedule counts from the first). */
export const validationSubject = (order: AcmeOrder): string => `validate ${order.url}`;

const nameOf = (a: AcmeAuthorization): string => (a.wildcard ? `*.${a.identifier.value}` : a.identifier.value);

export function failedValidation(a: AcmeAuthorization): AcmeError {
  const failed = a.challenges.find((c) => c.error !== undefined) ?? a.challenges.find((c) => c.status === 'invalid');
  const why = failed?.error !== undefined ? describeProblem(failed.error) : `the authorization is ${a.status}`;
  return new AcmeError('final', `the CA could not validate ${nameOf(a)}${failed === undefined ? '' : ` (${failed.type})`}: ${why}`);
}

export interface ChallengeTimeouts {
  selfCheckMs: number;
}

export async function advanceChallenges(step: AcmeStep, order: AcmeOrder, timeouts: ChallengeTimeouts, firstIssuance: boolean): Promise<Wait | 'authorized'> {
  const acme = step.status.acme;
  if (acme === undefined) throw new Error('unreachable: advanceChallenges without an order in status');
  const policy = step.governed.policy;
  const solvers = policy.spec.issuer?.acme?.solvers ?? [];
  const polled: Polled<AcmeAuthorization>[] = await Promise.all(order.authorizations.map((url) => step.session.getAuthorization(url)));
  const authzs = new Map(polled.map((p) => [p.value.url, p]));
  for (const { value } of polled) if (value.status !== 'pending' && value.status !== 'valid') throw failedValidation(value);

  // 1. Record a challenge for every pending authorization: saved before anything is presented.
  let entries: AcmeChallengeStatus[] = [...(acme.challenges ?? [])];
  const known = entries.length;
  for (const { value: a } of polled) {
    if (a.status !== 'pending' || entries.some((e) => e.authorizationURL === a.url)) continue;
    const name = nameOf(a);
    const choice = selectSolver(policy.metadata.name, solvers, name);
    if ('error' in choice) throw new AcmeError('final', choice.error);
    const challenge = a.challenges.find((c) => c.type === choice.type);
    if (challenge === undefined) {
      throw new AcmeError('final', `the CA offers no ${choice.type} challenge for ${name} (it offers ${a.challenges.map((c) => c.type).join(', ') || 'none'})`);
    }
    entries.push({ identifier: name, type: choice.type, authorizationURL: a.url, url: challenge.url, token: challenge.token, solver: choice.index, state: 'Pending' });
  }
  const save = async (list: AcmeChallengeStatus[], reason: Reason, message: string) => {
    entries = list;
    await step.save({ acme: { ...acme, challenges: list }, conditions: step.issuingConditions({ reason, message }, firstIssuance) });
  };
  if (entries.length > known) {
    const names = entries.filter((e) => e.state === 'Pending').map((e) => `${e.identifier} (${e.type})`);
    await save(entries, Reason.OrderPending, `presenting challenges for ${names.join(', ')}`);
  }

  const ctx = (e: AcmeChallengeStatus): PresentedChallenge => {
    const solver = solvers[e.solver];
    if (solver === undefined) throw new AcmeError('final', `solver ${e.solver} of TLSPolicy "${policy.metadata.name}" is gone`);
    return { cert: step.cert, entry: e, solver, keyAuthorization: keyAuthorization(e.token, step.session.thumbprint) };
  };
  const authzOf = (e: AcmeChallengeStatus) => authzs.get(e.authorizationURL)?.value;

  // 2. Present.
  const presented = await Promise.all(
    entries.map(async (e): Promise<AcmeChallengeStatus> => {
      if (e.state !== 'Pending') return e;
      await timed(step.deps, 'present', () => presentChallenge(step.deps, ctx(e)));
      return { ...e, state: 'Presented', presentedTime: formatTime(step.now) };
    }),
  );

  // 3. Self-check what is presented; accept what passes; 4. follow what was accepted.
  let accepted = 0;
  const checked = await Promise.all(
    presented.map(async (e): Promise<AcmeChallengeStatus> => {
      const authz = authzOf(e);
      if ((e.state === 'Presented' || e.state === 'Accepted') && authz?.status === 'valid') {
        await timed(step.deps, 'cleanup', () => cleanupChallenge(step.deps, ctx(e)));
        return { ...e, state: 'Valid', selfCheck: undefined };
      }
      if (e.state !== 'Presented') return e;
      const failure = await timed(step.deps, 'self_check', () => selfCheckChallenge(step.deps, ctx(e)));
      if (failure === undefined) {
        await step.session.acceptChallenge({ url: e.url, type: e.type, token: e.token });
        accepted++;
        return { ...e, state: 'Accepted', selfCheck: undefined };
      }
      const since = Date.parse(e.presentedTime ?? '') || step.now.getTime();
      if (step.now.getTime() - since > timeouts.selfCheckMs) {
        throw new AcmeError('final', `the self-check of ${e.identifier} did not pass within ${Math.round(timeouts.selfCheckMs / 1000)} s: ${failure}`);
      }
      return { ...e, selfCheck: failure.slice(0, 1000) };
    }),
  );

  const waitingSelfCheck = checked.filter((e) => e.state === 'Presented');
  const validating = checked.filter((e) => e.state === 'Accepted');
  if (waitingSelfCheck.length === 0 && validating.length === 0 && [...authzs.values()].every((a) => a.value.status === 'valid' || checked.some((e) => e.authorizationURL === a.value.url && e.state === 'Valid'))) {
    await save(checked, Reason.Validating, 'every name is validated');
    return 'authorized';
  }
  if (waitingSelfCheck.length > 0) {
    const message = `waiting for the self-check of ${waitingSelfCheck.map((e) => `${e.identifier}: ${e.selfCheck ?? 'not checked yet'}`).join('; ')}`;
    await save(checked, Reason.SelfCheckPending, message);
    const violation = { reason: Reason.SelfCheckPending, message };
    // Something was just accepted: follow it on the poll schedule (the self-check is repeated on the way).
    return accepted > 0 ? pollWait(validationSubject(order), undefined, violation) : wait(SELF_CHECK_INTERVAL_MS, violation);
  }
  const message = validatingMessage(validating);
  await save(checked, Reason.Validating, message);
  // The answers were read before anything was accepted just now; only then does their Retry-After speak of this wait.
  const retryAfter = accepted > 0 ? 0 : Math.max(...validating.map((e) => authzs.get(e.authorizationURL)?.retryAfterMs ?? 0));
  return pollWait(validationSubject(order), retryAfter || undefined, { reason: Reason.Validating, message });
}

const validatingMessage = (validating: readonly AcmeChallengeStatus[]): string =>
  `the CA is validating ${validating.map((e) => `${e.identifier} (${e.type})`).join(', ')}`;

/**
 * A pending order whose every authorization has its challenge accepted (and
 * none left to present or self-check) needs nothing but the order itself to
 * follow: it turns "ready" once every authorization is valid and "invalid"
 * when one fails (RFC 8555 7.1.6), so the authorizations are not read on each
 * poll. Undefined when there is more to do than wait.
 */
export function awaitingValidation(step: AcmeStep, order: AcmeOrder, retryAfterMs: number | undefined): Wait | undefined {
  const entries = step.status.acme?.challenges ?? [];
  const byAuthorization = order.authorizations.map((url) => entries.find((e) => e.authorizationURL === url));
  if (byAuthorization.length === 0 || byAuthorization.some((e) => e === undefined || (e.state !== 'Accepted' && e.state !== 'Valid'))) return undefined;
  const validating = entries.filter((e) => e.state === 'Accepted');
  if (validating.length === 0) return undefined;
  return pollWait(validationSubject(order), retryAfterMs, { reason: Reason.Validating, message: validatingMessage(validating) });
}
