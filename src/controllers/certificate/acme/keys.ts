import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { Certificate } from '../../../api/certificate.js';
import { AcmeError } from '../../../issuers/acme/problem.js';
import { isConflict, isNotFound } from '../../../kube/errors.js';
import { encodePrivateKeyPem, generatePrivateKey, parsePrivateKeyPem, privateKeyMatchesSpec, type PrivateKey } from '../../../pki/keys.js';
import type { Governed } from '../../../model/spec.js';
import { SecretLabel } from '../../../model/secret.js';
import { readSecret, reusableKey } from '../secret-writer.js';

// The key manager: the private key of the issuance in flight lives in its own
// Secret, named in status.nextPrivateKeySecretName, before any order uses it.
// A restart finds the same key, so a resumed order is finalized with it and
// the certificate the CA returns matches it.

export const NEXT_KEY_SECRET_TYPE = 'certkeeper.dev/next-private-key';
export const NEXT_KEY_LABEL = 'certkeeper.dev/next-private-key';

export type KeySecretsApi = Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret' | 'replaceNamespacedSecret' | 'deleteNamespacedSecret'>;

/** Deterministic, so a crash between creating it and recording it in status leaves nothing behind. */
export function nextKeySecretName(cert: Certificate): string {
  return `${cert.metadata.name.slice(0, 200).replace(/[.-]+$/, '')}-next-private-key`;
}

function keyOf(secret: V1Secret, governed: Governed): PrivateKey | undefined {
  const b64 = secret.data?.['tls.key'];
  if (b64 === undefined) return undefined;
  try {
    const key = parsePrivateKeyPem(Buffer.from(b64, 'base64').toString('utf8'), 'tls.key');
    return privateKeyMatchesSpec(key, { algorithm: governed.spec.key.algorithm, size: governed.spec.key.size || undefined }) ? key : undefined;
  } catch {
    return undefined;
  }
}

export interface NextKey {
  key: PrivateKey;
  secretName: string;
  /** The live Secret's key, kept (rotationPolicy Never). */
  reused: boolean;
}

/**
 * The pending key: kept from its Secret when there is one of ours with a key for the spec, else
 * made (or, rotationPolicy Never, the live key copied) and written there. `likelyAbsent` (no
 * issuance names it yet): create first and read only when one is there already (a crash left it).
 */
export async function ensureNextKey(api: KeySecretsApi, cert: Certificate, governed: Governed, likelyAbsent = false): Promise<NextKey> {
  const namespace = cert.metadata.namespace ?? 'default';
  const secretName = nextKeySecretName(cert);
  if (likelyAbsent) {
    try {
      return await writeNextKey(api, cert, governed, undefined);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  const existing = await readSecret(api, namespace, secretName);
  if (existing !== undefined && existing.metadata?.labels?.[NEXT_KEY_LABEL] !== 'true') {
    throw new AcmeError('final', `Secret ${namespace}/${secretName} exists and was not made by certkeeper: rename the Certificate or delete that Secret`);
  }
  const kept = existing === undefined ? undefined : keyOf(existing, governed);
  if (kept !== undefined) {
    const reused = existing?.metadata?.annotations?.['certkeeper.dev/reused-live-key'] === 'true';
    return { key: kept, secretName, reused };
  }
  return writeNextKey(api, cert, governed, existing);
}

/** A new pending key written over `existing` (created when undefined). */
async function writeNextKey(api: KeySecretsApi, cert: Certificate, governed: Governed, existing: V1Secret | undefined): Promise<NextKey> {
  const namespace = cert.metadata.namespace ?? 'default';
  const secretName = nextKeySecretName(cert);
  const live = governed.spec.key.rotationPolicy === 'Never' ? reusableKey(await readSecret(api, namespace, governed.spec.secretName), governed) : undefined;
  const key = live ?? (await generatePrivateKey({ algorithm: governed.spec.key.algorithm, size: governed.spec.key.size || undefined }));
  const body: V1Secret = {
    metadata: {
      name: secretName,
      namespace,
      labels: { [SecretLabel.managedBy]: 'certkeeper', [SecretLabel.certificateName]: cert.metadata.name.slice(0, 63), [NEXT_KEY_LABEL]: 'true' },
      annotations: { 'certkeeper.dev/reused-live-key': String(live !== undefined) },
      ...(cert.metadata.uid === undefined
        ? {}
        : { ownerReferences: [{ apiVersion: cert.apiVersion, kind: 'Certificate', name: cert.metadata.name, uid: cert.metadata.uid, blockOwnerDeletion: false }] }),
      ...(existing?.metadata?.resourceVersion === undefined ? {} : { resourceVersion: existing.metadata.resourceVersion }),
    },
    type: NEXT_KEY_SECRET_TYPE,
    data: { 'tls.key': Buffer.from(encodePrivateKeyPem(key, 'PKCS8')).toString('base64') },
  };
  if (existing === undefined) await api.createNamespacedSecret({ namespace, body });
  else await api.replaceNamespacedSecret({ name: secretName, namespace, body });
  return { key, secretName, reused: live !== undefined };
}

export async function deleteNextKey(api: KeySecretsApi, cert: Certificate): Promise<void> {
  try {
    await api.deleteNamespacedSecret({ name: nextKeySecretName(cert), namespace: cert.metadata.namespace ?? 'default' });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
