import { PatchStrategy, setHeaderOptions, type CoreV1Api, type CustomObjectsApi } from '@kubernetes/client-node';
import type { Certificate } from '../../../api/certificate.js';
import { GROUP, VERSION } from '../../../api/meta.js';
import type { TLSPolicy } from '../../../api/tlspolicy.js';
import type { AcmeAccounts } from '../../../issuers/acme/accounts.js';
import { AcmeError } from '../../../issuers/acme/problem.js';
import { isNotFound } from '../../../kube/errors.js';
import type { Logger } from '../../../log.js';
import { SecretAnnotation } from '../../../model/secret.js';
import { decodeSecretData } from '../../../secrets/summary.js';

// revokeOnDelete (opt-in on the policy): a finalizer on each Certificate the
// policy issues keeps it until its certificate is revoked at the CA and its
// Secret deleted. Without the option nothing is added, and deleting a
// Certificate keeps its Secret, as with cert-manager.

export const REVOKE_FINALIZER = 'certkeeper.dev/revoke-on-delete';

export const wantsRevocation = (policy: TLSPolicy | undefined): boolean => policy?.spec.issuer?.acme?.revokeOnDelete === true;

export interface RevocationDeps {
  core: Pick<CoreV1Api, 'readNamespacedSecret' | 'deleteNamespacedSecret'>;
  customObjects: Pick<CustomObjectsApi, 'patchNamespacedCustomObject'>;
  accounts: AcmeAccounts;
}

async function setFinalizers(d: RevocationDeps, cert: Certificate, finalizers: string[]): Promise<void> {
  try {
    await d.customObjects.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: 'certificates',
        namespace: cert.metadata.namespace ?? 'default',
        name: cert.metadata.name,
        // resourceVersion: someone else's finalizer added meanwhile is not dropped (409, retried).
        body: { metadata: { finalizers, resourceVersion: cert.metadata.resourceVersion } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Adds or removes the finalizer to match the policy. */
export async function syncRevokeFinalizer(d: RevocationDeps, cert: Certificate, want: boolean): Promise<void> {
  const current = cert.metadata.finalizers ?? [];
  const has = current.includes(REVOKE_FINALIZER);
  if (want === has) return;
  await setFinalizers(d, cert, want ? [...current, REVOKE_FINALIZER] : current.filter((f) => f !== REVOKE_FINALIZER));
}

/**
 * The Certificate is being deleted: revoke what its Secret holds (when this
 * policy's CA issued it), delete the Secret, then let the Certificate go. A
 * CA that refuses for good (already revoked, unauthorized) does not keep the
 * Certificate forever; a transient failure is retried.
 */
export async function revokeAndRelease(d: RevocationDeps, cert: Certificate, policy: TLSPolicy | undefined, log: Logger): Promise<string | undefined> {
  let note: string | undefined;
  const acme = policy?.spec.issuer?.acme;
  if (policy !== undefined && acme !== undefined && acme.revokeOnDelete === true) {
    const namespace = cert.metadata.namespace ?? 'default';
    let secret;
    try {
      secret = await d.core.readNamespacedSecret({ name: cert.spec.secretName, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const pem = secret === undefined ? undefined : decodeSecretData(secret, 'tls.crt');
    if (secret !== undefined && pem !== undefined && secret.metadata?.annotations?.[SecretAnnotation.issuer] === `acme:${acme.server}`) {
      const account = await d.accounts.session(policy);
      if (!('session' in account)) throw new Error(`cannot revoke: ${account.waiting}`);
      try {
        await account.session.revoke(pem);
        note = `revoked serial ${secret.metadata?.annotations?.[SecretAnnotation.serialNumber] ?? '?'} at ${acme.server}`;
      } catch (err) {
        if (!(err instanceof AcmeError) || err.kind !== 'final') throw err;
        note = `the CA refused the revocation: ${err.message}`;
      }
      log.info({ note }, 'revocation on delete');
      try {
        await d.core.deleteNamespacedSecret({ name: cert.spec.secretName, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
  await setFinalizers(d, cert, (cert.metadata.finalizers ?? []).filter((f) => f !== REVOKE_FINALIZER));
  return note;
}
