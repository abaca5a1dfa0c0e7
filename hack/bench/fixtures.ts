import { CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { writeFile } from 'node:fs/promises';
import { GROUP, VERSION } from '../../src/api/meta.js';
import type { z } from 'zod';
import type { tlsPolicy } from '../../src/api/tlspolicy.js';
import type { certificate } from '../../src/api/certificate.js';
import { encodeCertificateChainPem } from '../../src/pki/certificates.js';
import { encodePrivateKeyPem, generatePrivateKey } from '../../src/pki/keys.js';
import { selfSignCertificate } from '../../src/pki/sign.js';
import type { BenchKeyAlgorithm } from './options.js';
import { impersonating } from '../env/kubeconfig.js';
import { OPERATOR_NAMESPACE } from '../env/operator.js';

// The objects the bench runs against: the operator's namespace with a CA
// Secret, a TLSPolicy issuing from it for namespaces labelled bench=true, one
// such namespace, and the Certificates in it. Made as admin, before the
// operator starts.

export { OPERATOR_NAMESPACE };
export const BENCH_NAMESPACE = 'bench';
export const CA_SECRET = 'bench-ca';
export const POLICY_NAME = 'bench';
/** The user the operator's requests are made as (impersonated), so the audit log tells them apart. */
export const OPERATOR_USER = 'certkeeper-operator';
const OPERATOR_BINDING = 'certkeeper-bench-operator';
const DAY_MS = 24 * 60 * 60 * 1000;

export interface BenchClients {
  kubeconfig: KubeConfig;
  core: CoreV1Api;
  customObjects: CustomObjectsApi;
  rbac: RbacAuthorizationV1Api;
}

export function benchClients(kubeconfigPath: string): BenchClients {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return { kubeconfig: kc, core: kc.makeApiClient(CoreV1Api), customObjects: kc.makeApiClient(CustomObjectsApi), rbac: kc.makeApiClient(RbacAuthorizationV1Api) };
}

/**
 * The admin kubeconfig with `as: certkeeper-operator` in its user entry:
 * client-node 1.4.0 sends that as Impersonate-User (it has no
 * Impersonate-Group support: `as-groups` is not read), so the user gets its
 * rights from a ClusterRoleBinding, see grantOperatorUser.
 */
export async function writeOperatorKubeconfig(adminKubeconfigPath: string, path: string): Promise<void> {
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfigPath);
  // JSON is YAML; exportConfig writes the impersonated user as `as`.
  await writeFile(path, impersonating(admin, OPERATOR_USER).exportConfig(), { mode: 0o600 });
}

/** cluster-admin for the operator's user: the bench measures speed, not least privilege (the RBAC tests do that). */
export async function grantOperatorUser(clients: BenchClients): Promise<void> {
  await clients.rbac.createClusterRoleBinding({
    body: {
      metadata: { name: OPERATOR_BINDING },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: OPERATOR_USER }],
    },
  });
}

/** A fresh ECDSA P-256 CA, generated now, as the data of a kubernetes.io/tls Secret. */
async function caSecretData(): Promise<Record<string, string>> {
  const privateKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const now = new Date();
  const { certificate } = await selfSignCertificate({
    spec: { commonName: 'certkeeper bench CA', isCA: true, durationMs: 30 * DAY_MS },
    privateKey,
    now: new Date(now.getTime() - 60_000),
  });
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  const pem = encodeCertificateChainPem([certificate]);
  return { 'tls.crt': b64(pem), 'tls.key': b64(encodePrivateKeyPem(privateKey, 'PKCS8')), 'ca.crt': b64(pem) };
}

/** Specs as written to the API server: fields with defaults may be left out. */
export type PolicySpecInput = z.input<typeof tlsPolicy>['spec'];
export type CertificateSpecInput = z.input<typeof certificate>['spec'];

/** Creates the cluster-scoped TLSPolicy `name`. */
export async function createPolicy(clients: BenchClients, name: string, spec: PolicySpecInput): Promise<void> {
  await clients.customObjects.createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'tlspolicies',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'TLSPolicy', metadata: { name }, spec },
  });
}

/** Creates the Certificate `namespace/name`. */
export async function createCertificate(clients: BenchClients, namespace: string, name: string, spec: CertificateSpecInput): Promise<void> {
  await clients.customObjects.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'certificates',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Certificate', metadata: { name, namespace }, spec },
  });
}

/** CA Secret, TLSPolicy and the bench namespace: everything but the Certificates (the operator's namespace is cluster.ts's). */
export async function createBenchSetup(clients: BenchClients): Promise<void> {
  await clients.core.createNamespacedSecret({
    namespace: OPERATOR_NAMESPACE,
    body: { metadata: { name: CA_SECRET }, type: 'kubernetes.io/tls', data: await caSecretData() },
  });
  // The endpoint scenario's "pods" stand behind hand-written EndpointSlices: trusted here.
  await createPolicy(clients, POLICY_NAME, { namespaceSelector: { matchLabels: { bench: 'true' } }, priority: 0, issuer: { ca: { secretName: CA_SECRET } }, trustUnmanagedEndpointSlices: true });
  await clients.core.createNamespace({ body: { metadata: { name: BENCH_NAMESPACE, labels: { bench: 'true' } } } });
}

export function certificateName(index: number): string {
  return `bench-${String(index).padStart(4, '0')}`;
}

/** Creates bench-0000 … with at most `concurrency` requests in flight; resolves with the seconds it took. */
export async function createCertificates(
  clients: BenchClients,
  options: { count: number; algorithm: BenchKeyAlgorithm; concurrency: number; signal: AbortSignal },
): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.count) {
      options.signal.throwIfAborted();
      const name = certificateName(next++);
      await createCertificate(clients, BENCH_NAMESPACE, name, { secretName: `${name}-tls`, dnsNames: [`${name}.bench.example.com`], privateKey: { algorithm: options.algorithm } });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, worker));
  return (performance.now() - started) / 1000;
}
