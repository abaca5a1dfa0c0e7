import { API_VERSION } from '../../src/api/meta.js';
import type { Certificate, CertificateSpec } from '../../src/api/certificate.js';
import type { TLSPolicy, TLSPolicySpec } from '../../src/api/tlspolicy.js';

// Small builders so a test states only what it is about:
//   certificate('web', withDnsNames('a.example.com'), withDuration('1h'))

export type CertificateOption = (c: Certificate) => void;
export type PolicyOption = (p: TLSPolicy) => void;

export function certificate(name: string, ...options: CertificateOption[]): Certificate {
  const c: Certificate = {
    apiVersion: API_VERSION,
    kind: 'Certificate',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, generation: 1 },
    spec: { secretName: `${name}-tls`, dnsNames: [`${name}.example.com`] },
  };
  for (const o of options) o(c);
  return c;
}

export const inNamespace = (namespace: string): CertificateOption => (c) => {
  c.metadata.namespace = namespace;
};
export const withSpec = (spec: Partial<CertificateSpec>): CertificateOption => (c) => {
  c.spec = { ...c.spec, ...spec };
};
export const withDnsNames = (...dnsNames: string[]): CertificateOption => withSpec({ dnsNames });
export const withDuration = (duration: string): CertificateOption => withSpec({ duration });
export const withKey = (privateKey: CertificateSpec['privateKey']): CertificateOption => withSpec({ privateKey });
export const withPolicyRef = (name: string): CertificateOption => withSpec({ policyRef: { name } });

export function tlsPolicy(name: string, ...options: PolicyOption[]): TLSPolicy {
  const p: TLSPolicy = {
    apiVersion: API_VERSION,
    kind: 'TLSPolicy',
    metadata: { name, generation: 1 },
    spec: { priority: 0 },
  };
  for (const o of options) o(p);
  return p;
}

export const withPolicySpec = (spec: Partial<TLSPolicySpec>): PolicyOption => (p) => {
  p.spec = { ...p.spec, ...spec };
};
export const selectingAll: PolicyOption = withPolicySpec({ namespaceSelector: {} });
export const selecting = (matchLabels: Record<string, string>): PolicyOption => withPolicySpec({ namespaceSelector: { matchLabels } });
export const withPriority = (priority: number): PolicyOption => withPolicySpec({ priority });
export const withSelfSigned: PolicyOption = withPolicySpec({ issuer: { selfSigned: {} } });
export const withCaIssuer = (secretName: string): PolicyOption => withPolicySpec({ issuer: { ca: { secretName } } });
export const withGuardrails = (certificates: TLSPolicySpec['certificates']): PolicyOption => withPolicySpec({ certificates });
