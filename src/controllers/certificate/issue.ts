import type { Certificate } from '../../api/certificate.js';
import { generatePrivateKey } from '../../pki/keys.js';
import type { CertificateTemplateSpec } from '../../pki/spec.js';
import type { Governed } from '../../model/spec.js';
import type { Issuer } from '../../issuers/types.js';
import { readSecret, reusableKey, writeIssuedSecret, type IssueResult, type SecretsApi } from './secret-writer.js';

export type { IssueResult, SecretsApi } from './secret-writer.js';

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
    ...(s.caConstraints === undefined ? {} : { caConstraints: s.caConstraints }),
  };
}

export interface IssueDeps {
  secrets: SecretsApi;
  now: Date;
  /**
   * The Secret cache says there is no Secret: create without reading first.
   * Should the cache be behind, the create fails with a conflict and the
   * reconcile is retried once the cache has caught up.
   */
  secretKnownAbsent?: boolean;
}

/**
 * One-shot issuance for issuers that sign at once (CA, selfSigned): key,
 * signature, and the single whole write of the live Secret (secret-writer).
 */
export async function issueCertificate(deps: IssueDeps, issuer: Issuer, cert: Certificate, governed: Governed): Promise<IssueResult> {
  const namespace = cert.metadata.namespace ?? 'default';
  const existing = deps.secretKnownAbsent === true ? undefined : await readSecret(deps.secrets, namespace, governed.spec.secretName);
  const reused = reusableKey(existing, governed);
  const key = reused ?? (await generatePrivateKey({ algorithm: governed.spec.key.algorithm, size: governed.spec.key.size || undefined }));
  const issued = await issuer.issue({ spec: templateOf(governed), privateKey: key, now: deps.now });
  return writeIssuedSecret(
    { secrets: deps.secrets, now: deps.now },
    cert,
    governed,
    { key, chainPem: issued.certificatePem, caPem: issued.caPem, reusedKey: reused !== undefined },
    existing,
  );
}
