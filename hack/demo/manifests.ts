import type { V1EndpointSlice, V1Namespace, V1Secret, V1Service } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { certificate } from '../../src/api/certificate.js';
import { API_VERSION } from '../../src/api/meta.js';
import type { tlsPolicy } from '../../src/api/tlspolicy.js';
import { summarizeCertificate, type CertificateSummary } from '../../src/pki/certificates.js';
import { encodePrivateKeyPem, generatePrivateKey } from '../../src/pki/keys.js';
import { selfSignCertificate } from '../../src/pki/sign.js';
import { OPERATOR_NAMESPACE } from '../env/operator.js';

// The objects the demo creates: what a platform team (namespace, CA, policy)
// and an app team (Certificates) would `kubectl apply`.

export { OPERATOR_NAMESPACE };
export const CA_SECRET = 'demo-ca';
export const APP_NAMESPACE = 'shop';
export const POLICY = 'internal-ca';
export const STOREFRONT = 'storefront';
export const STOREFRONT_SECRET = 'storefront-tls';
export const STOREFRONT_NAMES = ['storefront.shop.example', 'www.shop.example'] as const;
/** The Service that must serve storefront-tls (its pod starts in the endpoint step). */
export const STOREFRONT_SERVICE = 'storefront';
export const INTRUDER = 'intruder';
export const INTRUDER_NAME = 'bank.example';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_LIFETIME_MS = 30 * DAY_MS;

type CertificateManifest = z.input<typeof certificate>;
type TLSPolicyManifest = z.input<typeof tlsPolicy>;

export function namespace(name: string, labels?: Record<string, string>): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}

export interface DemoCa {
  /** The Secret to create; the only place the CA's private key ever goes. */
  secret: V1Secret;
  summary: CertificateSummary;
}

/** A fresh ECDSA P-256 CA valid for 30 days, as the kubernetes.io/tls Secret a TLSPolicy's `issuer.ca` names. */
export async function createDemoCa(now: Date): Promise<DemoCa> {
  const privateKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const { certificate, pem } = await selfSignCertificate({
    spec: {
      commonName: 'certkeeper demo CA',
      subject: { organizations: ['certkeeper demo'] },
      isCA: true,
      durationMs: CA_LIFETIME_MS,
    },
    privateKey,
    now,
  });
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: CA_SECRET, namespace: OPERATOR_NAMESPACE },
    stringData: { 'tls.crt': pem, 'tls.key': encodePrivateKeyPem(privateKey, 'PKCS8'), 'ca.crt': pem },
  };
  return { secret, summary: summarizeCertificate(certificate) };
}

export const internalCaPolicy = {
  apiVersion: API_VERSION,
  kind: 'TLSPolicy',
  metadata: { name: POLICY },
  spec: {
    namespaceSelector: { matchLabels: { team: 'shop' } },
    issuer: { ca: { secretName: CA_SECRET } },
    certificates: { allowedDomains: ['**.shop.example'], maxDuration: '720h' },
    // The demo's pods are nginx in a network namespace behind EndpointSlices it writes itself
    // (no controller-manager here): the shop's policy says to trust hand-written slices.
    trustUnmanagedEndpointSlices: true,
  },
} satisfies TLSPolicyManifest;

export const storefrontCertificate = {
  apiVersion: API_VERSION,
  kind: 'Certificate',
  metadata: { name: STOREFRONT, namespace: APP_NAMESPACE },
  spec: {
    secretName: STOREFRONT_SECRET,
    dnsNames: [...STOREFRONT_NAMES],
    duration: '24h',
    privateKey: { algorithm: 'ECDSA' },
    endpoints: [{ service: STOREFRONT_SERVICE, port: 443 }],
  },
} satisfies CertificateManifest;

/** Asks for a name outside the policy's allowedDomains: the operator must refuse it. */
export const intruderCertificate = {
  apiVersion: API_VERSION,
  kind: 'Certificate',
  metadata: { name: INTRUDER, namespace: APP_NAMESPACE },
  spec: {
    secretName: 'intruder-tls',
    dnsNames: [INTRUDER_NAME],
    duration: '24h',
    privateKey: { algorithm: 'ECDSA' },
  },
} satisfies CertificateManifest;

// --- ACME: the same app team, a public-style name, a CA that speaks ACME (Pebble here) ---

export const ACME_POLICY = 'acme-pebble';
export const ACME_ACCOUNT_SECRET = 'acme-pebble-account';
export const CHECKOUT = 'checkout';
export const CHECKOUT_SECRET = 'checkout-tls';
export const CHECKOUT_NAMES = ['checkout.shop.example', 'pay.shop.example'] as const;
/** The Service in front of the checkout pods; its label is what the grading policy selects. */
export const CHECKOUT_SERVICE = 'checkout';
export const EDGE_LABELS = { tier: 'edge' } as const;
export const HTTPS_PORT = { name: 'https', port: 443 } as const;

/**
 * Selects the shop namespace at a lower priority than the internal CA: a
 * Certificate there gets the CA unless its policyRef names this one (a
 * policyRef may only name a policy that selects the namespace).
 * The HTTP-01 solver's Ingress class is recorded on the temporary Ingress;
 * with no ingress controller here, Pebble reaches the operator's own
 * responder directly (challtestsrv resolves the names to 127.0.0.1).
 */
export function acmePolicy(directoryUrl: string) {
  return {
    apiVersion: API_VERSION,
    kind: 'TLSPolicy',
    metadata: { name: ACME_POLICY },
    spec: {
      namespaceSelector: { matchLabels: { team: 'shop' } },
      priority: -10,
      issuer: {
        acme: {
          server: directoryUrl,
          email: 'platform@shop.example',
          privateKeySecretRef: { name: ACME_ACCOUNT_SECRET },
          solvers: [{ http01: { ingress: { ingressClassName: 'nginx' } } }],
        },
      },
      certificates: { allowedDomains: ['**.shop.example'] },
    },
  } satisfies TLSPolicyManifest;
}

export const checkoutCertificate = {
  apiVersion: API_VERSION,
  kind: 'Certificate',
  metadata: { name: CHECKOUT, namespace: APP_NAMESPACE },
  spec: {
    secretName: CHECKOUT_SECRET,
    dnsNames: [...CHECKOUT_NAMES],
    policyRef: { name: ACME_POLICY },
    privateKey: { algorithm: 'ECDSA', rotationPolicy: 'Always' },
    endpoints: [{ service: CHECKOUT_SERVICE, port: HTTPS_PORT.port }],
  },
} satisfies CertificateManifest;

/** A ClusterIP Service without a selector, labelled tier=edge: its EndpointSlice is written by the demo (no controller-manager runs here). */
export function edgeService(name: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: APP_NAMESPACE, labels: { ...EDGE_LABELS } },
    spec: { type: 'ClusterIP', ports: [{ name: HTTPS_PORT.name, port: HTTPS_PORT.port, targetPort: HTTPS_PORT.port, protocol: 'TCP' }] },
  };
}

/** The slice the EndpointSlice controller would write for the Service's ready pods. */
export function endpointSlice(service: string, addresses: readonly string[]): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${service}-pods`,
      namespace: APP_NAMESPACE,
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'certkeeper-demo' },
    },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true, serving: true, terminating: false } })),
    ports: [{ name: HTTPS_PORT.name, port: HTTPS_PORT.port, protocol: 'TCP' }],
  };
}

/** What the platform team adds to internal-ca: grade every edge Service of the team's namespaces against Mozilla intermediate. */
export const edgeGrading = {
  endpoints: { serviceSelector: { matchLabels: { ...EDGE_LABELS } }, ports: [HTTPS_PORT.name], profile: 'intermediate', interval: '1h' },
} satisfies TLSPolicyManifest['spec'];

// --- A Secret nobody manages: made by hand long ago, about to expire ---

export const LEGACY_SECRET = 'legacy-admin-tls';
const LEGACY_LIFETIME_MS = 12 * DAY_MS;
const LEGACY_AGE_MS = 2 * DAY_MS;

/** `kubectl create secret tls` of a self-signed certificate issued 2 days ago for 12 days: the inventory must flag it. */
export async function legacySecret(now: Date): Promise<V1Secret> {
  const privateKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const { pem } = await selfSignCertificate({
    spec: { commonName: 'admin.shop.example', dnsNames: ['admin.shop.example'], durationMs: LEGACY_LIFETIME_MS },
    privateKey,
    now: new Date(now.getTime() - LEGACY_AGE_MS),
  });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name: LEGACY_SECRET, namespace: APP_NAMESPACE },
    stringData: { 'tls.crt': pem, 'tls.key': encodePrivateKeyPem(privateKey, 'PKCS8') },
  };
}
