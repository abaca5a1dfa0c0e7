import type { Certificate } from '../../../api/certificate.js';
import type { TLSPolicy } from '../../../api/tlspolicy.js';
import type { AcmeAccounts } from '../../../issuers/acme/accounts.js';
import { AcmeError } from '../../../issuers/acme/problem.js';
import type { CertificatesClient, SecretsClient } from '../../../kube/resources.js';
import type { Logger } from '../../../log.js';
import { SecretAnnotation } from '../../../model/secret.js';
import { decodeSecretData } from '../../../secrets/summary.js';
import { parseCertificateChainPem, summarizeCertificate } from '../../../pki/certificates.js';

// revokeOnDelete (opt-in on the policy): a finalizer on each Certificate the
// policy issues keeps it until its certificate is revoked at the CA and its
// Secret deleted — only a certificate this Certificate was issued (its serial
// is in status.issuedSerialNumbers), never whatever a tenant put in the Secret. Without the option nothing is added, and deleting a
// Certificate keeps its Secret, as with cert-manager.

export const REVOKE_FINALIZER = 'certkeeper.dev/revoke-on-delete';

export const wantsRevocation = (policy: TLSPolicy | undefined): boolean => policy?.spec.issuer?.acme?.revokeOnDelete === true;

export interface RevocationDeps {
  secrets: Pick<SecretsClient, 'get' | 'delete'>;
  certificates: Pick<CertificatesClient, 'setFinalizers'>;
  accounts: AcmeAccounts;
}

/** Adds or removes the finalizer to match the policy. */
export async function syncRevokeFinalizer(d: RevocationDeps, cert: Certificate, want: boolean): Promise<void> {
  const current = cert.metadata.finalizers ?? [];
  const has = current.includes(REVOKE_FINALIZER);
  if (want === has) return;
  await d.certificates.setFinalizers(cert, want ? [...current, REVOKE_FINALIZER] : current.filter((f) => f !== REVOKE_FINALIZER));
}

/**
 * The Certificate is being deleted: revoke what its Secret holds (when this
 * policy's CA issued it), delete the Secret, then let the Certificate go. A
 * CA that refuses for good (already revoked, unauthorized) does not keep the
 * Certificate forever; a transient failure is retried.
 */
/** The serial of tls.crt's first certificate, as status records it; undefined when it does not parse. */
function leafSerial(pem: string): string | undefined {
  try {
    const [leaf] = parseCertificateChainPem(pem, 'tls.crt');
    return leaf === undefined ? undefined : summarizeCertificate(leaf).serialNumber;
  } catch {
    return undefined;
  }
}

export async function revokeAndRelease(d: RevocationDeps, cert: Certificate, policy: TLSPolicy | undefined, log: Logger): Promise<string | undefined> {
  let note: string | undefined;
  const acme = policy?.spec.issuer?.acme;
  if (policy !== undefined && acme !== undefined && acme.revokeOnDelete === true) {
    const namespace = cert.metadata.namespace ?? 'default';
    const secret = await d.secrets.get(namespace, cert.spec.secretName);
    const pem = secret === undefined ? undefined : decodeSecretData(secret, 'tls.crt');
    const serial = pem === undefined ? undefined : leafSerial(pem);
    // A status written before issuedSerialNumbers existed names only the current serial.
    const issued = cert.status?.issuedSerialNumbers ?? (cert.status?.serialNumber === undefined ? [] : [cert.status.serialNumber]);
    const ours = serial !== undefined && issued.includes(serial);
    if (secret !== undefined && pem !== undefined && !ours) {
      // Whatever the Secret holds now was not issued for this Certificate (someone replaced it): neither revoked nor deleted.
      note = `not revoked: Secret ${cert.spec.secretName} holds ${serial === undefined ? 'no readable certificate' : `serial ${serial}`}, which certkeeper did not issue for this Certificate; the Secret is left as it is`;
      log.warn({ serial }, 'revocation on delete skipped: not a certificate this Certificate was issued');
    } else if (secret !== undefined && pem !== undefined && secret.metadata?.annotations?.[SecretAnnotation.issuer] === `acme:${acme.server}`) {
      const account = await d.accounts.session(policy);
      if (!('session' in account)) throw new Error(`cannot revoke: ${account.waiting}`);
      try {
        await account.session.revoke(pem);
        note = `revoked serial ${serial ?? '?'} at ${acme.server}`;
      } catch (err) {
        if (!(err instanceof AcmeError) || err.kind !== 'final') throw err;
        note = `the CA refused the revocation: ${err.message}`;
      }
      log.info({ note }, 'revocation on delete');
      await d.secrets.delete(namespace, cert.spec.secretName);
    }
  }
  await d.certificates.setFinalizers(cert, (cert.metadata.finalizers ?? []).filter((f) => f !== REVOKE_FINALIZER));
  return note;
}
