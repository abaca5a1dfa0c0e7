import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { Certificate } from '../../api/certificate.js';
import { IssuerError } from '../../issuers/types.js';
import { describeCause } from '../../pki/errors.js';
import { isNotFound } from '../../kube/errors.js';
import { keyMatchesDerCertificate, summarizeDerCertificate, verifyParsedChain } from '../../pki/certificates.js';
import { readCertificateChainPem, type ChainCertificate } from '../../pki/certificate-der.js';
import { encodePrivateKeyPem, parsePrivateKeyPem, privateKeyMatchesSpec, type PrivateKey } from '../../pki/keys.js';
import type { Governed } from '../../model/spec.js';
import { type IssuedFacts, SecretAnnotation, SecretLabel } from '../../model/secret.js';
import { authorityKeyId, decodeSecretData, issuedFactsOf } from '../../secrets/summary.js';

// The one write of the live Secret every issuer path ends in: whole, once,
// and only with a chain whose leaf matches the key and which verifies. A
// crash before it leaves the old Secret untouched; a crash after it is seen
// as a current Secret by the next reconcile.

export type SecretsApi = Pick<CoreV1Api, 'readNamespacedSecret' | 'createNamespacedSecret' | 'replaceNamespacedSecret'>;

export interface IssueResult {
  revision: number;
  serialNumber: string;
  notAfter: Date;
  reusedKey: boolean;
  /** resourceVersion of the Secret as written: the cache must reach it before the next decision. */
  secretResourceVersion: string | undefined;
  facts: IssuedFacts;
}

/** What an issuer produced for a key. */
export interface IssuedMaterial {
  key: PrivateKey;
  /** Leaf first, then intermediates: tls.crt. */
  chainPem: string;
  /** Trust anchor(s), ca.crt. Undefined when the issuer does not hand one out (ACME): the chain is then only checked for consistency and ca.crt is left out. */
  caPem: string | undefined;
  reusedKey: boolean;
}

export async function readSecret(api: Pick<CoreV1Api, 'readNamespacedSecret'>, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await api.readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** rotationPolicy Never: keep the Secret's key while it matches the requested algorithm and size. */
export function reusableKey(existing: V1Secret | undefined, governed: Governed): PrivateKey | undefined {
  if (governed.spec.key.rotationPolicy !== 'Never' || existing === undefined) return undefined;
  const pem = decodeSecretData(existing, 'tls.key');
  if (pem === undefined) return undefined;
  try {
    const key = parsePrivateKeyPem(pem, 'tls.key');
    return privateKeyMatchesSpec(key, { algorithm: governed.spec.key.algorithm, size: governed.spec.key.size || undefined }) ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a chain that does not belong to the key or does not verify (against
 * caPem, or within itself). Returns the chain as read, leaf first, so the
 * write that follows parses nothing again.
 */
export function checkIssuedMaterial(material: IssuedMaterial, now: Date): ChainCertificate[] {
  let chain: ChainCertificate[];
  let anchors: ChainCertificate[];
  try {
    chain = readCertificateChainPem(material.chainPem, 'issued chain', { lazyLeaf: true });
    // Without a trust anchor the chain must at least be consistent: each certificate issued by the next.
    anchors = material.caPem === undefined ? chain.slice(-1) : readCertificateChainPem(material.caPem, 'CA', { anchors: true });
  } catch (error) {
    throw new IssuerError('IssuanceFailed', `the issued chain does not verify${material.caPem === undefined ? '' : ' against ca.crt'}: ${describeCause(error)}`);
  }
  const [leaf] = chain;
  if (leaf === undefined || !keyMatchesDerCertificate(material.key, leaf)) {
    throw new IssuerError('IssuanceFailed', 'the issuer returned a certificate that does not match the private key');
  }
  const verified = verifyParsedChain(chain, anchors, now);
  if (!verified.valid) {
    throw new IssuerError('IssuanceFailed', `the issued chain does not verify${material.caPem === undefined ? '' : ' against ca.crt'}: ${verified.reason}`);
  }
  return chain;
}

export async function writeIssuedSecret(
  deps: { secrets: SecretsApi; now: Date },
  cert: Certificate,
  governed: Governed,
  material: IssuedMaterial,
  existing: V1Secret | undefined,
): Promise<IssueResult> {
  const [leaf] = checkIssuedMaterial(material, deps.now);
  const namespace = cert.metadata.namespace ?? 'default';
  const secretName = governed.spec.secretName;
  if (leaf === undefined) throw new IssuerError('IssuanceFailed', 'the issued chain is empty');
  const previousRevision = Number(existing?.metadata?.annotations?.[SecretAnnotation.revision] ?? 0);
  const revision = (Number.isInteger(previousRevision) ? previousRevision : 0) + 1;
  const summary = summarizeDerCertificate(leaf);
  const template = cert.spec.secretTemplate;
  // Keys other tools put in the Secret survive; ours are replaced together.
  const data: Record<string, string> = { ...existing?.data };
  data['tls.crt'] = Buffer.from(material.chainPem).toString('base64');
  data['tls.key'] = Buffer.from(encodePrivateKeyPem(material.key, governed.spec.key.encoding)).toString('base64');
  if (material.caPem === undefined) delete data['ca.crt'];
  else data['ca.crt'] = Buffer.from(material.caPem).toString('base64');
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: secretName,
      namespace,
      ...(existing?.metadata?.resourceVersion === undefined ? {} : { resourceVersion: existing.metadata.resourceVersion }),
      labels: {
        ...existing?.metadata?.labels,
        ...template?.labels,
        [SecretLabel.managedBy]: 'certkeeper',
        [SecretLabel.certificateName]: cert.metadata.name,
      },
      annotations: {
        ...existing?.metadata?.annotations,
        ...template?.annotations,
        [SecretAnnotation.certificateName]: cert.metadata.name,
        [SecretAnnotation.revision]: String(revision),
        [SecretAnnotation.specHash]: governed.specHash,
        [SecretAnnotation.policy]: governed.policy.metadata.name,
        [SecretAnnotation.issuerKind]: governed.issuerKind,
        [SecretAnnotation.issuer]: governed.issuerIdentity,
        [SecretAnnotation.serialNumber]: summary.serialNumber,
        [SecretAnnotation.issuedAt]: deps.now.toISOString(),
      },
    },
    data,
  };
  const written =
    existing === undefined
      ? await deps.secrets.createNamespacedSecret({ namespace, body: secret })
      : // resourceVersion makes this a compare-and-swap: a concurrent writer means retry, not overwrite.
        await deps.secrets.replaceNamespacedSecret({ name: secretName, namespace, body: secret });
  return {
    revision,
    serialNumber: summary.serialNumber,
    notAfter: summary.notAfter,
    reusedKey: material.reusedKey,
    secretResourceVersion: written.metadata?.resourceVersion,
    facts: { ...issuedFactsOf(summary), authorityKeyId: authorityKeyId(leaf) },
  };
}
