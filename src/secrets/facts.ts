import type { V1OwnerReference } from '@kubernetes/client-node';
import { describeCause } from '../pki/errors.js';
import { summarizeDerCertificate, type CertificateSummary } from '../pki/certificates.js';
import { readCertificateChainPem, type ChainCertificate, type DerCertificate } from '../pki/certificate-der.js';
import type { CertificateFacts, SecretCertificates } from '../model/certificate-facts.js';
import { chainsToPublicRoots } from '../pki/trust-anchors.js';
import { lifetimeDaysOf, publicLifetimeExcess } from '../probe/lifetimes.js';

// Reading a Secret's certificates into public facts (model/certificate-facts.ts):
// once, when the Secret is summarised (secrets/summary.ts), never again.

/** A ca.crt bundle can be a whole trust store; the inventory lists its first few. */
export const MAX_CA_CERTIFICATES = 4;

export function certificateFacts(certificate: DerCertificate, summarize: (c: DerCertificate) => CertificateSummary = summarizeDerCertificate): CertificateFacts {
  const { usages: _usages, ...facts } = summarize(certificate);
  return { ...facts, selfIssued: facts.subject === facts.issuer };
}

/**
 * tls.crt parsed once: the certificates, or why not. Shared by the Secret's
 * state and its inventory facts. Read natively (pki/certificate-der.ts): the
 * library's asn1js parse was most of the cost of summarising a Secret.
 */
export type ParsedChain = { ok: true; certificates: ChainCertificate[] } | { ok: false; error: string };

export function parseChain(pem: string | undefined, source: string): ParsedChain {
  if (pem === undefined) return { ok: false, error: `${source} is missing` };
  try {
    // Facts need the DER fields only: OpenSSL's parse of the leaf is skipped.
    const certificates = readCertificateChainPem(pem, source, { lazyLeaf: true });
    if (certificates.length === 0) return { ok: false, error: `${source} holds no certificate` };
    return { ok: true, certificates };
  } catch (err) {
    return { ok: false, error: describeCause(err) };
  }
}

type CaFacts = { certificates: CertificateFacts[] } | { error: string };

/**
 * ca.crt bundles repeat across Secrets (every Secret from one CA carries the
 * same one): each distinct bundle is parsed once and its facts shared, which
 * saves both the parsing and the memory. Bounded; the oldest is forgotten.
 */
const caFactsCache = new Map<string, CaFacts>();
const CA_CACHE_SIZE = 256;
const MAX_CACHED_PEM = 16_384;

function caFacts(caPem: string): CaFacts {
  const cached = caFactsCache.get(caPem);
  if (cached !== undefined) return cached;
  let result: CaFacts;
  const ca = parseChain(caPem, 'ca.crt');
  if (!ca.ok) result = { error: ca.error };
  else {
    try {
      result = { certificates: ca.certificates.slice(0, MAX_CA_CERTIFICATES).map((c) => certificateFacts(c)) };
    } catch (err) {
      result = { error: describeCause(err) };
    }
  }
  // A whole trust store in ca.crt is not worth keeping as a key.
  if (caPem.length > MAX_CACHED_PEM) return result;
  if (caFactsCache.size >= CA_CACHE_SIZE) caFactsCache.delete(caFactsCache.keys().next().value ?? '');
  caFactsCache.set(caPem, result);
  return result;
}

/**
 * SC-081 for a Secret's leaf: only a leaf longer than the limit for its
 * issue date is checked against the public roots (a chain verification), so
 * the common case costs nothing. tls.crt must carry the intermediates, as a
 * server needs it to.
 */
function publicLifetime(chain: readonly ChainCertificate[], leaf: CertificateFacts, publicRoots: string | undefined): SecretCertificates['publicLifetime'] {
  const excess = publicLifetimeExcess(leaf.notBefore, lifetimeDaysOf(leaf.notBefore, leaf.notAfter));
  if (excess === undefined) return undefined;
  try {
    return chainsToPublicRoots(
      chain.map((c) => c.der),
      leaf.notBefore,
      publicRoots,
    )
      ? excess
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Never throws: whatever does not parse becomes an error string. `summarize`:
 * a memo for the leaf, shared with the Secret's state. `publicRoots`: what
 * counts as publicly trusted (default node's Mozilla roots; tests pass their own).
 */
export function readSecretCertificates(
  chain: ParsedChain,
  caPem: string | undefined,
  summarize: (c: DerCertificate) => CertificateSummary = summarizeDerCertificate,
  publicRoots?: string,
): SecretCertificates {
  const out: SecretCertificates = { chainLength: chain.ok ? chain.certificates.length : 0, caCertificates: [] };
  if (!chain.ok) out.leafError = chain.error;
  else {
    try {
      out.leaf = certificateFacts(chain.certificates[0] as ChainCertificate, summarize);
      const excess = publicLifetime(chain.certificates, out.leaf, publicRoots);
      if (excess !== undefined) out.publicLifetime = excess;
    } catch (err) {
      out.leafError = describeCause(err);
    }
  }
  if (caPem !== undefined && caPem.trim() !== '') {
    const ca = caFacts(caPem);
    if ('error' in ca) out.caError = ca.error;
    else out.caCertificates = ca.certificates;
  }
  return out;
}

/**
 * Annotations other controllers put on the Secrets they write, kept so the
 * inventory can say who manages a certificate. Exact keys only: the rest of
 * a Secret's annotations can be large and are never read.
 */
export const MANAGED_BY_ANNOTATIONS = [
  'cert-manager.io/certificate-name',
  'cert-manager.io/issuer-name',
  'cert-manager.io/issuer-kind',
  'service.beta.openshift.io/originating-service-name',
  'service.alpha.openshift.io/originating-service-name',
  'meta.helm.sh/release-name',
  'meta.helm.sh/release-namespace',
] as const;

const MAX_HINT_VALUE = 253;

/** The MANAGED_BY_ANNOTATIONS present, values cut to 253 characters. */
export function managedByAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (annotations === undefined) return out;
  for (const key of MANAGED_BY_ANNOTATIONS) {
    const value = annotations[key];
    if (value !== undefined) out[key] = value.slice(0, MAX_HINT_VALUE);
  }
  return out;
}

/** "Kind/name" of the controlling owner reference, if any. */
export function controllerOwner(refs: V1OwnerReference[] | undefined): string | undefined {
  const ref = refs?.find((r) => r.controller === true) ?? refs?.[0];
  return ref === undefined ? undefined : `${ref.kind}/${ref.name}`.slice(0, MAX_HINT_VALUE);
}
