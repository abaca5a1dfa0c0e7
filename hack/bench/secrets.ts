import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { encodeCertificateChainPem } from '../../src/pki/certificates.js';
import { encodePrivateKeyPem, generatePrivateKey } from '../../src/pki/keys.js';
import { selfSignCertificate, signCertificateWithCa } from '../../src/pki/sign.js';

// Many Secrets, some of them kubernetes.io/tls (valid, expiring, expired,
// corrupt, some holding the same certificate), in namespaces inv-0 … : what
// the operator's inventory reads. The inventory scenario measures them alone;
// the Certificates bench can hold them beside its backlog (--secrets).

const DAY_MS = 86_400_000;
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** The TLS Secrets' data: one CA, one leaf key; leaves valid, expiring, expired; a few corrupt; some certificates in two Secrets. */
export async function tlsSecretData(count: number): Promise<{ data: Record<string, string>[]; expectedEntries: number }> {
  if (count === 0) return { data: [], expectedEntries: 0 };
  const caKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const leafKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const now = Date.now();
  const caCert = (await selfSignCertificate({ spec: { commonName: 'bench inventory CA', isCA: true, durationMs: 400 * DAY_MS }, privateKey: caKey, now: new Date(now - 200 * DAY_MS) })).certificate;
  const ca = { certificate: caCert, privateKey: caKey };
  const caPem = encodeCertificateChainPem([caCert]);
  const keyPem = encodePrivateKeyPem(leafKey, 'PKCS8');
  const corrupt = Math.max(1, Math.floor(count / 100));
  const duplicates = Math.floor(count / 20);
  const distinct = count - corrupt - duplicates;
  const pems: string[] = [];
  for (let i = 0; i < distinct; i++) {
    // 5 % expired, 5 % expiring within the default 21 days, the rest fine.
    const daysLeft = i % 20 === 0 ? -3 : i % 20 === 1 ? 10 : 60 + (i % 300);
    const signed = await signCertificateWithCa({
      spec: { commonName: `svc-${i}`, dnsNames: [`svc-${i}.bench.example`], durationMs: 90 * DAY_MS },
      subjectKey: leafKey,
      ca,
      now: new Date(now - (90 - daysLeft) * DAY_MS),
    });
    pems.push(signed.pem);
  }
  const data: Record<string, string>[] = pems.map((pem, i) => ({ 'tls.crt': b64(pem), 'tls.key': b64(keyPem), ...(i % 2 === 0 ? { 'ca.crt': b64(caPem) } : {}) }));
  for (let i = 0; i < duplicates; i++) data.push({ 'tls.crt': b64(pems[i] ?? ''), 'tls.key': b64(keyPem) });
  for (let i = 0; i < corrupt; i++) data.push({ 'tls.crt': b64('-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'), 'tls.key': b64(keyPem) });
  // distinct leaves + the CA (from the first leaf's ca.crt, when there is one) + one entry per corrupt Secret.
  return { data, expectedEntries: distinct + (distinct > 0 ? 1 : 0) + corrupt };
}

/**
 * Creates `secrets` Secrets spread over `namespaces` new namespaces inv-0 …:
 * the first tls.length are kubernetes.io/tls with that data, the rest Opaque.
 * Resolves with the seconds it took.
 */
export async function createSecrets(
  core: CoreV1Api,
  o: { secrets: number; namespaces: number },
  tls: readonly Record<string, string>[],
  log: (l: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const started = performance.now();
  for (let n = 0; n < o.namespaces; n++) await core.createNamespace({ body: { metadata: { name: `inv-${n}` } } });
  const opaque = { 'config.json': b64(JSON.stringify({ setting: 'x'.repeat(400) })), password: b64('not-a-real-password') };
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < o.secrets) {
      signal.throwIfAborted();
      const i = next++;
      const isTls = i < tls.length;
      const body: V1Secret = isTls
        ? { metadata: { name: `tls-${i}`, labels: { app: `app-${i % 50}` } }, type: 'kubernetes.io/tls', data: tls[i] }
        : { metadata: { name: `opaque-${i}` }, type: 'Opaque', data: opaque };
      await core.createNamespacedSecret({ namespace: `inv-${i % o.namespaces}`, body });
      if (++done % 2000 === 0) log(`  ${done}/${o.secrets} Secrets`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return (performance.now() - started) / 1000;
}
