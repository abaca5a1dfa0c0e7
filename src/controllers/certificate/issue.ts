import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import type { Certificate } from '../../api/certificate.js';
import { keyMatchesCertificate, parseCertificateChainPem, summarizeCertificate, verifyChain } from '../../pki/certificates.js';
import { encodePrivateKeyPem, generatePrivateKey, parsePrivateKeyPem, privateKeyMatchesSpec, type PrivateKey } from '../../pki/keys.js';
import type { CertificateTemplateSpec } from '../../pki/spec.js';
import { IssuerError } from '../../issuers/types.js';
import { isNotFound } from '../../kube/errors.js';
import type { Governed } from './decide.js';
import type { IssuerProvider } from './issuer-provider.js';
import { type IssuedFacts, SecretAnnotation, SecretLabel } from './secret-state.js';
import { decodeSecretData, issuedFactsOf } from './secret-summary.js';

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

export function templateOf(governed: Governed): CertificateTemplateSpec {
  const s = governed.spec;
  return {
    commonName: s.commonName,
    dnsNames: s.dnsNames,
    ipAddresses: s.ipAddresses,
    uris: s.uris,
    emailAddresses: s.emailAddresses,
    subject: s.subject,
    durationMs: s.durationMs,
    usages: s.usages,
    isCA: s.isCA,
  };
}

async function readSecret(api: SecretsApi, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await api.readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** rotationPolicy Never: keep the Secret's key while it matches the requested algorithm and size. */
function reusableKey(existing: V1Secret | undefined, governed: Governed): PrivateKey | undefined {
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
 * One issuance: key, signature, checks, and a single write of the live
 * Secret. The Secret is written once, whole, and only with a chain whose leaf
 * matches the key and which verifies against ca.crt — a crash anywhere before
 * that write leaves the old Secret untouched; a crash after it is seen as a
 * current Secret by the next reconcile.
 */
export interface IssueDeps {
  secrets: SecretsApi;
  issuers: IssuerProvider;
  now: Date;
  /**
   * The Secret cache says there is no Secret: create without reading first.
   * Should the cache be behind, the create fails with a conflict and the
   * reconcile is retried once the cache has caught up.
   */
  secretKnownAbsent?: boolean;
}

export async function issueCertificate(deps: IssueDeps, cert: Certificate, governed: Governed): Promise<IssueResult> {
  const namespace = cert.metadata.namespace ?? 'default';
  const secretName = governed.spec.secretName;
  const issuer = await deps.issuers.issuerFor(governed);
  const existing = deps.secretKnownAbsent === true ? undefined : await readSecret(deps.secrets, namespace, secretName);

  const reused = reusableKey(existing, governed);
  const key = reused ?? (await generatePrivateKey({ algorithm: governed.spec.key.algorithm, size: governed.spec.key.size || undefined }));
  const issued = await issuer.issue({ spec: templateOf(governed), privateKey: key, now: deps.now });

  const [leaf] = parseCertificateChainPem(issued.certificatePem, 'issued chain');
  if (leaf === undefined || !keyMatchesCertificate(key, leaf)) {
    throw new IssuerError('IssuanceFailed', 'the issuer returned a certificate that does not match the private key');
  }
  const verified = verifyChain({ chainPem: issued.certificatePem, caPem: issued.caPem, at: deps.now });
  if (!verified.valid) throw new IssuerError('IssuanceFailed', `the issued chain does not verify against ca.crt: ${verified.reason}`);

  const previousRevision = Number(existing?.metadata?.annotations?.[SecretAnnotation.revision] ?? 0);
  const revision = (Number.isInteger(previousRevision) ? previousRevision : 0) + 1;
  const summary = summarizeCertificate(leaf);
  const template = cert.spec.secretTemplate;
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
        [SecretAnnotation.serialNumber]: summary.serialNumber,
      },
    },
    data: {
      // Keys other tools put in the Secret survive; ours are replaced together.
      ...existing?.data,
      'tls.crt': Buffer.from(issued.certificatePem).toString('base64'),
      'tls.key': Buffer.from(encodePrivateKeyPem(key, governed.spec.key.encoding)).toString('base64'),
      'ca.crt': Buffer.from(issued.caPem).toString('base64'),
    },
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
    reusedKey: reused !== undefined,
    secretResourceVersion: written.metadata?.resourceVersion,
    facts: issuedFactsOf(summary),
  };
}
