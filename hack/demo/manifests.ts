import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import type { z } from 'zod';
import type { certificate } from '../../src/api/certificate.js';
import { API_VERSION } from '../../src/api/meta.js';
import type { tlsPolicy } from '../../src/api/tlspolicy.js';
import { summarizeCertificate, type CertificateSummary } from '../../src/pki/certificates.js';
import { encodePrivateKeyPem, generatePrivateKey } from '../../src/pki/keys.js';
import { selfSignCertificate } from '../../src/pki/sign.js';

// The objects the demo creates: what a platform team (namespace, CA, policy)
// and an app team (Certificates) would `kubectl apply`.

export const OPERATOR_NAMESPACE = 'certkeeper';
export const CA_SECRET = 'demo-ca';
export const APP_NAMESPACE = 'shop';
export const POLICY = 'internal-ca';
export const STOREFRONT = 'storefront';
export const STOREFRONT_SECRET = 'storefront-tls';
export const STOREFRONT_NAMES = ['storefront.shop.example', 'www.shop.example'] as const;
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
