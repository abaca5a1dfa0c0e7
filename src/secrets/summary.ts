import type { V1Secret } from '@kubernetes/client-node';
import type { KeyAlgorithm } from '../api/certificate.js';
import { authorityKeyIdOf, privateKeyPemMatchesCertificate, summarizeDerCertificate, type CertificateSummary } from '../pki/certificates.js';
import type { DerCertificate } from '../pki/certificate-der.js';
import { PkiError } from '../pki/errors.js';
import { controllerOwner, managedByAnnotations, parseChain, readSecretCertificates, type ParsedChain } from './facts.js';
import type { IssuedFacts, TlsSecretState, TlsSecretSummary } from '../model/secret.js';

const KNOWN_ALGORITHMS: readonly string[] = ['RSA', 'ECDSA', 'Ed25519'];

export function decodeSecretData(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 === undefined || b64 === '') return undefined;
  return Buffer.from(b64, 'base64').toString('utf8');
}

function ours(annotations: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations ?? {})) if (k.startsWith('certkeeper.dev/')) out[k] = v;
  return out;
}

/**
 * Reads tls.crt and tls.key into a TlsSecretState; never throws, never keeps the key.
 * `chain`: tls.crt already parsed; `summarize`: a memo shared with the inventory facts.
 */
export function tlsSecretState(
  secret: V1Secret,
  chain?: ParsedChain,
  summarize: (leaf: DerCertificate) => CertificateSummary = summarizeDerCertificate,
): TlsSecretState {
  const annotations = ours(secret.metadata?.annotations);
  const certPem = decodeSecretData(secret, 'tls.crt');
  const keyPem = decodeSecretData(secret, 'tls.key');
  const missing = [certPem === undefined ? 'tls.crt' : undefined, keyPem === undefined ? 'tls.key' : undefined].filter(
    (m): m is string => m !== undefined,
  );
  if (certPem === undefined || keyPem === undefined) return { state: 'incomplete', missing, annotations };
  try {
    const parsed = chain ?? parseChain(certPem, 'tls.crt');
    if (!parsed.ok) return { state: 'invalid', error: parsed.error, annotations };
    const [leaf] = parsed.certificates;
    if (leaf === undefined) return { state: 'invalid', error: 'tls.crt holds no certificate', annotations };
    // The key is not imported when the public half its DER states is the certificate's.
    if (!privateKeyPemMatchesCertificate(keyPem, leaf, 'tls.key')) return { state: 'mismatched', annotations };
    return { state: 'valid', facts: { ...issuedFactsOf(summarize(leaf)), authorityKeyId: authorityKeyId(leaf) }, annotations };
  } catch (err) {
    if (err instanceof PkiError) return { state: 'invalid', error: err.message, annotations };
    return { state: 'invalid', error: 'unreadable certificate or key', annotations };
  }
}

/** keyIdentifier of the leaf's authorityKeyIdentifier, hex: with the serial, it names the certificate to an ACME CA (ARI). */
export function authorityKeyId(leaf: DerCertificate): string | undefined {
  return authorityKeyIdOf(leaf);
}

/** The facts decisions need, from a parsed certificate. */
export function issuedFactsOf(s: CertificateSummary): IssuedFacts {
  const algorithm = KNOWN_ALGORITHMS.includes(s.keyAlgorithm) ? (s.keyAlgorithm as KeyAlgorithm) : 'unknown';
  return {
    commonName: s.commonName,
    dnsNames: s.dnsNames,
    ipAddresses: s.ipAddresses,
    uris: s.uris,
    emailAddresses: s.emailAddresses,
    notBefore: s.notBefore,
    notAfter: s.notAfter,
    serialNumber: s.serialNumber,
    fingerprintSHA256: s.fingerprintSHA256,
    isCA: s.isCA,
    keyAlgorithm: algorithm,
    // The API spells Ed25519 as size-less; the PKI layer reports its 256 bits.
    keySize: algorithm === 'Ed25519' ? 0 : (s.keySize ?? 0),
  };
}

export function summarizeTlsSecret(secret: V1Secret): TlsSecretSummary {
  const chain = parseChain(decodeSecretData(secret, 'tls.crt'), 'tls.crt');
  // The leaf is summarised once, for the state and for the inventory: it is the costly part.
  let memo: { leaf: DerCertificate; summary: CertificateSummary } | undefined;
  const summarize = (leaf: DerCertificate): CertificateSummary => {
    if (memo?.leaf !== leaf) memo = { leaf, summary: summarizeDerCertificate(leaf) };
    return memo.summary;
  };
  return {
    namespace: secret.metadata?.namespace ?? '',
    name: secret.metadata?.name ?? '',
    resourceVersion: secret.metadata?.resourceVersion ?? '',
    annotations: ours(secret.metadata?.annotations),
    labels: secret.metadata?.labels ?? {},
    state: tlsSecretState(secret, chain, summarize),
    certificates: readSecretCertificates(chain, decodeSecretData(secret, 'ca.crt'), summarize),
    managedBy: managedByAnnotations(secret.metadata?.annotations),
    owner: controllerOwner(secret.metadata?.ownerReferences),
  };
}
