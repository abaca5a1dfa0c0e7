/**
 * Integration helpers around certkeeper objects: an operator process per test
 * file, CA Secrets made at test time, Certificates and TLSPolicies, and waits
 * on their conditions.
 */
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { PatchStrategy, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from '../../src/api/meta.js';
import type { Certificate, CertificateSpec } from '../../src/api/certificate.js';
import type { TLSPolicy, TLSPolicySpec } from '../../src/api/tlspolicy.js';
import { OPERATOR_NAMESPACE, startOperatorProcess, waitForOperatorReady, type OperatorProcess } from '../../hack/env/operator.js';
import { isNotFound } from '../../src/kube/errors.js';
import { makeTestCa } from './pki.js';
import { testKube, waitFor, type TestKube } from './kube.js';

export { OPERATOR_NAMESPACE };

export async function ensureOperatorNamespace(kube: TestKube = testKube()): Promise<void> {
  try {
    await kube.core.createNamespace({ body: { metadata: { name: OPERATOR_NAMESPACE } } });
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

export async function startTestOperator(
  name: string,
  options: {
    leaderElect?: boolean;
    identity?: string | undefined;
    /** Extra settings as environment variables (CERTKEEPER_ENDPOINT_RECHECK_INTERVAL=2s). */
    env?: Record<string, string>;
    /** Who may read /metrics and /inventory (default here: anyone; the operator's own default: kubernetes). */
    httpAuth?: 'kubernetes' | 'none';
  } = {},
): Promise<OperatorProcess> {
  await ensureOperatorNamespace();
  const op = await startOperatorProcess({
    kubeconfigPath: inject('kubeconfigPath'),
    logFile: join(inject('envDir'), `operator-${name}-${randomBytes(3).toString('hex')}.log`),
    leaderElect: options.leaderElect ?? false,
    ...(options.identity === undefined ? {} : { identity: options.identity }),
    namespace: OPERATOR_NAMESPACE,
    logLevel: 'debug',
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.httpAuth === undefined ? {} : { httpAuth: options.httpAuth }),
  });
  await waitForOperatorReady(op);
  return op;
}

export const uniqueSuffix = () => randomBytes(3).toString('hex');

/** A CA key pair valid from an hour ago for a year, stored as a TLS Secret in the operator namespace. */
export async function createCaSecret(name: string, kube: TestKube = testKube()): Promise<void> {
  await ensureOperatorNamespace(kube);
  const ca = await makeTestCa({ notBefore: new Date(Date.now() - 3_600_000), slot: 100 + Math.floor(Math.random() * 1000) });
  await kube.core.createNamespacedSecret({
    namespace: OPERATOR_NAMESPACE,
    body: {
      metadata: { name },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': Buffer.from(ca['tls.crt']).toString('base64'),
        'tls.key': Buffer.from(ca['tls.key']).toString('base64'),
        'ca.crt': Buffer.from(ca['ca.crt']).toString('base64'),
      },
    },
  });
}

/**
 * The namespace label a test policy without a namespaceSelector of its own
 * selects: a Certificate may use only a policy that selects its namespace,
 * so createCertificate grants the policy its policyRef names (grantPolicy).
 */
export function grantLabel(policy: string): string {
  const name = policy.length <= 63 ? policy : createHash('sha256').update(policy).digest('hex').slice(0, 40);
  return `grant.certkeeper.test/${name}`;
}

export async function createPolicy(name: string, spec: Partial<TLSPolicySpec>, kube: TestKube = testKube()): Promise<void> {
  const selecting = spec.namespaceSelector === undefined ? { ...spec, namespaceSelector: { matchLabels: { [grantLabel(name)]: 'true' } } } : spec;
  await kube.customObjects.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'tlspolicies',
    body: { apiVersion: API_VERSION, kind: 'TLSPolicy', metadata: { name }, spec: selecting },
  });
}

/** Labels the namespace so the test policy of this name (made by createPolicy without a selector) selects it. */
export async function grantPolicy(namespace: string, policy: string): Promise<void> {
  await testKube().core.patchNamespace(
    { name: namespace, body: { metadata: { labels: { [grantLabel(policy)]: 'true' } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

export async function deletePolicy(name: string, kube: TestKube = testKube()): Promise<void> {
  await kube.customObjects.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name }).catch((err: unknown) => {
    if (!isNotFound(err)) throw err;
  });
}

export async function patchPolicySpec(name: string, spec: Partial<TLSPolicySpec>, kube: TestKube = testKube()): Promise<void> {
  const current = (await kube.customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name })) as TLSPolicy;
  await kube.customObjects.replaceClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'tlspolicies',
    name,
    body: { ...current, spec: { ...current.spec, ...spec } },
  });
}

export async function createCertificate(namespace: string, name: string, spec: CertificateSpec, kube: TestKube = testKube()): Promise<void> {
  if (spec.policyRef !== undefined) await grantPolicy(namespace, spec.policyRef.name);
  await kube.customObjects.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'certificates',
    namespace,
    body: { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name, namespace }, spec },
  });
}

export async function getCertificate(namespace: string, name: string, kube: TestKube = testKube()): Promise<Certificate> {
  return (await kube.customObjects.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace, name })) as Certificate;
}

export async function getPolicy(name: string, kube: TestKube = testKube()): Promise<TLSPolicy> {
  return (await kube.customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name })) as TLSPolicy;
}

export async function replaceCertificateSpec(namespace: string, name: string, spec: Partial<CertificateSpec>, kube: TestKube = testKube()): Promise<void> {
  const current = await getCertificate(namespace, name, kube);
  await kube.customObjects.replaceNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'certificates',
    namespace,
    name,
    body: { ...current, spec: { ...current.spec, ...spec } },
  });
}

export function condition(c: { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } }, type: string) {
  return c.status?.conditions?.find((x) => x.type === type);
}

/** Waits until the Certificate's condition `type` has `status` (and `reason`, if given), and returns the Certificate. */
export async function waitForCondition(
  namespace: string,
  name: string,
  want: { type?: string; status: 'True' | 'False'; reason?: string; where?: (c: Certificate) => boolean },
  timeoutMs = 30_000,
): Promise<Certificate> {
  const type = want.type ?? 'Ready';
  return waitFor(
    async ({ observe }) => {
      const c = await getCertificate(namespace, name);
      observe({ conditions: c.status?.conditions, revision: c.status?.revision });
      const cond = condition(c, type);
      if (cond?.status !== want.status) return undefined;
      if (want.reason !== undefined && cond.reason !== want.reason) return undefined;
      if (want.where !== undefined && !want.where(c)) return undefined;
      return c;
    },
    { description: `Certificate ${namespace}/${name} ${type}=${want.status}${want.reason ? `/${want.reason}` : ''}`, timeoutMs, intervalMs: 250 },
  );
}

export async function readSecret(namespace: string, name: string, kube: TestKube = testKube()): Promise<V1Secret> {
  return kube.core.readNamespacedSecret({ namespace, name });
}

export function secretText(secret: V1Secret, key: string): string {
  const b64 = secret.data?.[key];
  if (b64 === undefined) throw new Error(`Secret ${secret.metadata?.name} has no ${key}`);
  return Buffer.from(b64, 'base64').toString('utf8');
}
