import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { encodePrivateKeyPem } from '../../src/pki/keys.js';
import { signCertificateWithCa } from '../../src/pki/sign.js';
import { DAY_MS, testKey, type TestCa } from './pki.js';

// TLS Secrets as other tools leave them in a cluster: leaves signed by a test
// CA with any validity window, corrupt data, missing keys, foreign
// annotations. Shared by the inventory unit tests and integration tests.

export interface LeafOptions {
  commonName?: string;
  dnsNames?: string[];
  notBefore: Date;
  durationMs?: number;
  /** testKey slot of the leaf's key (distinct slots: distinct keys). */
  slot?: number;
}

export interface Leaf {
  certPem: string;
  keyPem: string;
}

export async function signedLeaf(ca: TestCa, o: LeafOptions): Promise<Leaf> {
  const key = await testKey({ algorithm: 'ECDSA', size: 256 }, o.slot ?? 1);
  const signed = await signCertificateWithCa({
    spec: { commonName: o.commonName, dnsNames: o.dnsNames ?? ['leaf.example.com'], durationMs: o.durationMs ?? 30 * DAY_MS },
    subjectKey: key,
    ca,
    now: o.notBefore,
  });
  return { certPem: signed.pem, keyPem: encodePrivateKeyPem(key, 'PKCS8') };
}

export interface TlsSecretOptions {
  namespace?: string;
  name: string;
  crt?: string;
  key?: string;
  ca?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: V1OwnerReference[];
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

export function tlsSecret(o: TlsSecretOptions): V1Secret {
  const data: Record<string, string> = {};
  if (o.crt !== undefined) data['tls.crt'] = b64(o.crt);
  if (o.key !== undefined) data['tls.key'] = b64(o.key);
  if (o.ca !== undefined) data['ca.crt'] = b64(o.ca);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: {
      name: o.name,
      namespace: o.namespace ?? 'default',
      ...(o.labels === undefined ? {} : { labels: o.labels }),
      ...(o.annotations === undefined ? {} : { annotations: o.annotations }),
      ...(o.ownerReferences === undefined ? {} : { ownerReferences: o.ownerReferences }),
    },
    data,
  };
}

export const CORRUPT_PEM = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
