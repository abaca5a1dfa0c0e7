import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { verifyChain } from './certificates.js';
import { certificatePemBlocks, encodePem } from './pem.js';

// Verifying a chain (DER, leaf first) against a PEM bundle of trust anchors
// without handing OpenSSL the whole bundle: the prober does it for every
// served chain, the Secret reader for long-lived leaves (is it publicly
// trusted?), so a bundle's anchors are parsed once and only the ones named as
// the chain's issuer are verified against.

interface Anchor {
  subject: string;
  fingerprint256: string;
  pem: string;
}

/** A few bundles at a time: the system roots, and the --ca-file or policy bundles the prober alternates with. */
const anchorCache = new Map<string, Anchor[]>();
const ANCHOR_CACHE_SIZE = 8;

/** The anchors of a PEM bundle, parsed once per bundle (node's OpenSSL parse is cheap, the library's is not). */
function anchorsOf(bundle: string): Anchor[] {
  const cached = anchorCache.get(bundle);
  if (cached !== undefined) return cached;
  const anchors = certificatePemBlocks(bundle).flatMap((pem) => {
    try {
      const certificate = new NodeX509Certificate(pem);
      return [{ subject: certificate.subject, fingerprint256: certificate.fingerprint256, pem: `${pem}\n` }];
    } catch {
      return [];
    }
  });
  if (anchorCache.size >= ANCHOR_CACHE_SIZE) anchorCache.delete(anchorCache.keys().next().value ?? '');
  anchorCache.set(bundle, anchors);
  return anchors;
}

/**
 * The anchors that can end this chain: the last certificate itself or one
 * named as its issuer. Verifying against these alone keeps a check against
 * ~140 system roots from parsing them all every time.
 */
function candidateAnchors(last: Uint8Array, bundle: string): string {
  const parsed = new NodeX509Certificate(last);
  return anchorsOf(bundle)
    .filter((a) => a.subject === parsed.issuer || a.fingerprint256 === parsed.fingerprint256)
    .map((a) => a.pem)
    .join('');
}

export function verifyServedChain(served: readonly Uint8Array[], bundle: string, at: Date): { valid: boolean; reason?: string } {
  const last = served[served.length - 1];
  if (last === undefined) return { valid: false, reason: 'no certificate served' };
  const anchors = candidateAnchors(last, bundle);
  if (anchors === '') {
    const issuer = new NodeX509Certificate(last).issuer.replace(/\n/g, ', ');
    return { valid: false, reason: `no trust anchor is named ${issuer}, the issuer of the last certificate served` };
  }
  return verifyChain({ chainPem: served.map((der) => encodePem('CERTIFICATE', der)).join(''), caPem: anchors, at });
}

/** Node's bundled Mozilla roots: what "publicly trusted" means under the CA/Browser Forum's rules. */
export const PUBLIC_ROOTS = rootCertificates.join('\n');

/**
 * The chain (DER, leaf first) leads to one of `roots` (default: the public
 * roots). Judged at `at`, or inside the leaf's validity when `at` is outside
 * it: an expired public certificate is still a public one.
 */
export function chainsToPublicRoots(chain: readonly Uint8Array[], at: Date, roots: string = PUBLIC_ROOTS): boolean {
  const [leaf] = chain;
  if (leaf === undefined) return false;
  const l = new NodeX509Certificate(leaf);
  const from = new Date(l.validFrom);
  const to = new Date(l.validTo);
  const inside = at < from ? from : at > to ? to : at;
  return verifyServedChain(chain, roots, inside).valid;
}
