import { X509Certificate } from 'node:crypto';
import type { RenewalInfoStatus } from '../../../api/certificate.js';
import { Reason } from '../../../api/conditions.js';
import { ariCertId, nextRenewalInfoFetch } from '../../../issuers/acme/ari.js';
import { formatTime } from '../../../kube/conditions.js';
import { AcmeError } from '../../../issuers/acme/problem.js';
import type { AcmeOrder } from '../../../issuers/acme/session.js';
import { createCsr } from '../../../pki/csr.js';
import { decodePemBlocks, encodePem } from '../../../pki/pem.js';
import type { TlsSecretState } from '../../../model/secret.js';
import { templateOf } from '../issue.js';
import { readSecret, writeIssuedSecret, type IssueResult } from '../secret-writer.js';
import { acmeIdentifiers } from './checks.js';
import { deleteNextKey, type NextKey } from './keys.js';
import type { AcmeOrderStatus } from './order.js';
import { timed, type AcmeStep } from './step.js';

// Finalize with a CSR made from the pending key, download the chain (the
// preferred one when the policy names it), and end in the same single whole
// write of the live Secret every issuer uses. Then the order's traces go:
// the pending key's Secret and the order in status.

/**
 * Finalizes with a CSR from the pending key. The order's state (with `finished`, the challenges
 * just taken down) is written only when the CA is still at work: a valid order is downloaded in
 * the same pass, whose write clears the order from status.
 */
export async function finalizeOrder(
  step: AcmeStep,
  order: AcmeOrder,
  next: NextKey,
  firstIssuance: boolean,
  finished?: AcmeOrderStatus,
): Promise<{ order: AcmeOrder; retryAfterMs?: number | undefined }> {
  const template = { ...templateOf(step.governed), dnsNames: acmeIdentifiers(step.governed.spec) };
  const csr = await timed(step.deps, 'csr', () => createCsr(template, next.key));
  const polled = await step.session.finalize(order, csr);
  const acme = finished ?? step.status.acme;
  if (acme !== undefined && polled.value.status !== 'valid') {
    await step.save({
      acme: { ...acme, state: polled.value.status },
      conditions: step.issuingConditions({ reason: Reason.Finalizing, message: `finalizing ACME order ${order.url}` }, firstIssuance),
    });
  }
  return { order: polled.value, retryAfterMs: polled.retryAfterMs };
}

/** Splits a PEM bundle into its certificates' PEMs. */
function certificatesOf(pem: string): string[] {
  return decodePemBlocks(pem, 'the certificate from the CA').map((b) => encodePem(b.type, b.der));
}

/** The chain as the Secret holds it, and ca.crt: the root when the CA sent one (self-issued last certificate), else none. */
export function splitChain(pem: string): { chainPem: string; caPem: string | undefined } {
  const certs = certificatesOf(pem);
  const last = certs[certs.length - 1];
  if (certs.length > 1 && last !== undefined) {
    const root = new X509Certificate(last);
    if (root.issuer === root.subject && root.checkIssued(root)) return { chainPem: certs.slice(0, -1).join(''), caPem: last };
  }
  return { chainPem: certs.join(''), caPem: undefined };
}

/** `cached`: the live Secret as the cache has it; when it has none, the Secret is created without a read (a conflict is retried). */
export async function downloadAndWrite(step: AcmeStep, order: AcmeOrder, next: NextKey, cached: TlsSecretState): Promise<IssueResult> {
  const preferredChain = step.governed.policy.spec.issuer?.acme?.preferredChain;
  const pem = await step.session.downloadCertificate(order, preferredChain);
  const { chainPem, caPem } = splitChain(pem);
  const namespace = step.cert.metadata.namespace ?? 'default';
  let result: IssueResult;
  try {
    result = await timed(step.deps, 'secret_write', async () =>
      writeIssuedSecret(
        { secrets: step.deps.core, now: step.now },
        step.cert,
        step.governed,
        { key: next.key, chainPem, caPem, reusedKey: next.reused },
        cached.state === 'absent' ? undefined : await readSecret(step.deps.core, namespace, step.governed.spec.secretName),
      ),
    );
  } catch (err) {
    // A chain for another key, or one that does not hang together: this order cannot give a usable Secret.
    if (err instanceof Error && err.name === 'IssuerError') throw new AcmeError('final', `order ${order.url}: ${err.message}`, {}, { cause: err });
    throw err;
  }
  // The CA's renewal window for the new certificate goes into the same write, so the Ready status that
  // follows has its renewal time at once and the upkeep has nothing to fetch or write for it yet.
  const renewalInfo = await renewalInfoFor(step, result.facts);
  await step.save({ acme: undefined, nextPrivateKeySecretName: undefined, retryAfterTime: undefined, ...(renewalInfo === undefined ? {} : { renewalInfo }) });
  await timed(step.deps, 'pending_key', () => deleteNextKey(step.deps.core, step.cert));
  return result;
}

/**
 * The CA's suggested renewal window (ARI, RFC 9773) for a certificate just issued, as
 * status.renewalInfo; undefined when the CA offers none or the request fails (the upkeep then
 * asks on its own schedule, as for any certificate).
 */
async function renewalInfoFor(step: AcmeStep, facts: IssueResult['facts']): Promise<RenewalInfoStatus | undefined> {
  const bounds = step.deps.ariBounds;
  const aki = facts.authorityKeyId;
  if (bounds === undefined || aki === undefined) return undefined;
  try {
    const window = await step.session.renewalInfo(ariCertId(aki, facts.serialNumber));
    if (window === undefined) return undefined;
    const now = step.deps.clock.now();
    return {
      serialNumber: facts.serialNumber,
      windowStart: window.start.toISOString(),
      windowEnd: window.end.toISOString(),
      ...(window.explanationURL === undefined ? {} : { explanationURL: window.explanationURL }),
      fetchedTime: formatTime(now),
      nextFetchTime: formatTime(nextRenewalInfoFetch(now, window.retryAfterMs, bounds)),
    };
  } catch (err) {
    step.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'no renewal window with the issuance; the upkeep asks later');
    return undefined;
  }
}
