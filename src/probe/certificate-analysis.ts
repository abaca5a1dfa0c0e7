import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { summarizeDerCertificate, verifyChain } from '../pki/certificates.js';
import { readCertificateChainPem } from '../pki/certificate-der.js';
import { x509 } from '../pki/x509.js';
import { certificatePemBlocks, encodePem } from '../pki/pem.js';
import { revocationInfo } from '../pki/revocation.js';
import type { CertificateDetails, CertificateFindings, ValidityState } from './findings.js';
import { hostnameMatches } from './hostname.js';

// Pure judgement of a served chain against trust anchors, a name and a time.
// Parsing, summaries and path verification are src/pki's; this module turns
// them into the findings' terms.

const DAY_MS = 24 * 60 * 60 * 1000;

const CURVE_BY_SIZE: Readonly<Record<number, string>> = { 256: 'prime256v1', 384: 'secp384r1', 521: 'secp521r1' };

export interface CertificateContext {
  /** The name the certificate must cover: the SNI, else the host. */
  name: string;
  now: Date;
  /** PEM trust anchors: the --ca-file bundle, else the system roots. */
  anchorsPem: string;
  anchors: 'ca-bundle' | 'system';
}

function selfSigned(certificate: NodeX509Certificate): boolean {
  return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
}

function details(der: Buffer): CertificateDetails {
  // Read natively (and by OpenSSL, once): the library's asn1js parse is not needed for a summary.
  const [parsed] = readCertificateChainPem(encodePem('CERTIFICATE', der), 'served certificate');
  if (parsed === undefined) throw new Error('served certificate did not parse');
  const summary = summarizeDerCertificate(parsed);
  // The extensions the DER reader does not read: one library parse per probed leaf, not on a hot path.
  const revocation = revocationInfo(new x509.X509Certificate(der));
  return {
    subject: summary.subject,
    commonName: summary.commonName,
    issuer: summary.issuer,
    dnsNames: summary.dnsNames,
    ipAddresses: summary.ipAddresses,
    keyAlgorithm: summary.keyAlgorithm,
    keySize: summary.keySize,
    curve: summary.keyAlgorithm === 'ECDSA' && summary.keySize !== undefined ? CURVE_BY_SIZE[summary.keySize] : undefined,
    signatureAlgorithm: summary.signatureAlgorithm,
    notBefore: summary.notBefore.toISOString(),
    notAfter: summary.notAfter.toISOString(),
    serialNumber: summary.serialNumber,
    fingerprintSHA256: summary.fingerprintSHA256,
    isCA: summary.isCA,
    selfSigned: selfSigned(parsed.node),
    ocspUrls: revocation.ocspUrls,
    crlUrls: revocation.crlUrls,
    mustStaple: revocation.mustStaple,
    usages: revocation.usages,
  };
}

interface Anchor {
  subject: string;
  fingerprint256: string;
  pem: string;
}

let anchorCache: { pem: string; anchors: Anchor[] } | undefined;

/** The anchors of a PEM bundle, parsed once per bundle (node's OpenSSL parse is cheap, src/pki's is not). */
function anchorsOf(bundle: string): Anchor[] {
  if (anchorCache?.pem !== bundle) {
    const anchors = certificatePemBlocks(bundle).flatMap((pem) => {
      try {
        const certificate = new NodeX509Certificate(pem);
        return [{ subject: certificate.subject, fingerprint256: certificate.fingerprint256, pem: `${pem}\n` }];
      } catch {
        return [];
      }
    });
    anchorCache = { pem: bundle, anchors };
  }
  return anchorCache.anchors;
}

/**
 * The anchors that can end this chain: the last served certificate itself
 * or one named as its issuer. Verifying against these alone keeps a check
 * against ~140 system roots from parsing them all every time.
 */
function candidateAnchors(lastServed: Buffer, bundle: string): string {
  const last = new NodeX509Certificate(lastServed);
  return anchorsOf(bundle)
    .filter((a) => a.subject === last.issuer || a.fingerprint256 === last.fingerprint256)
    .map((a) => a.pem)
    .join('');
}

function verifyServedChain(served: readonly Buffer[], bundle: string, at: Date): { valid: boolean; reason?: string } {
  const last = served[served.length - 1];
  if (last === undefined) return { valid: false, reason: 'no certificate served' };
  const anchors = candidateAnchors(last, bundle);
  if (anchors === '') {
    const issuer = new NodeX509Certificate(last).issuer.replace(/\n/g, ', ');
    return { valid: false, reason: `no trust anchor is named ${issuer}, the issuer of the last certificate served` };
  }
  return verifyChain({ chainPem: served.map((der) => encodePem('CERTIFICATE', der)).join(''), caPem: anchors, at });
}

const PUBLIC_ROOTS = rootCertificates.join('\n');

/**
 * The served chain (DER, leaf first) leads to one of node's bundled Mozilla
 * roots: a publicly trusted certificate, under the CA/Browser Forum's rules.
 * Judged at `at`, or inside the leaf's validity when `at` is outside it.
 */
export function chainsToPublicRoots(served: readonly Buffer[], at: Date): boolean {
  const [leaf] = served;
  if (leaf === undefined) return false;
  const l = new NodeX509Certificate(leaf);
  const from = new Date(l.validFrom);
  const to = new Date(l.validTo);
  const inside = at < from ? from : at > to ? to : at;
  return verifyServedChain(served, PUBLIC_ROOTS, inside).valid;
}

function validityState(leaf: CertificateDetails, now: Date): ValidityState {
  if (now < new Date(leaf.notBefore)) return 'not-yet-valid';
  if (now > new Date(leaf.notAfter)) return 'expired';
  return 'valid';
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Findings about a served chain (DER, leaf first). Throws when a served
 * certificate cannot be parsed at all; the analyser reports that instead.
 */
export function analyseCertificate(served: readonly Buffer[], context: CertificateContext): CertificateFindings {
  const certificates = served.map(details);
  const [leaf] = certificates;
  if (leaf === undefined) throw new Error('the server sent no certificate');
  const state = validityState(leaf, context.now);
  let verification = verifyServedChain(served, context.anchorsPem, context.now);
  if (!verification.valid && state !== 'valid') {
    // Judge the path at the leaf's validity instant nearest to now, so an expired leaf reads as
    // "expired" and not also as "untrusted".
    const inside = state === 'expired' ? new Date(leaf.notAfter) : new Date(leaf.notBefore);
    verification = verifyServedChain(served, context.anchorsPem, inside);
  }
  const rest = certificates.slice(1);
  return {
    leaf,
    served: certificates,
    intermediatesSent: rest.filter((c) => c.isCA && !c.selfSigned).length,
    rootSent: rest.some((c) => c.selfSigned),
    trust: {
      anchors: context.anchors,
      chainsToAnchor: verification.valid,
      publiclyTrusted: verification.valid && (context.anchors === 'system' || chainsToPublicRoots(served, context.now)),
      ...(verification.valid ? {} : { reason: verification.reason }),
    },
    hostname: { name: context.name, matches: hostnameMatches(context.name, leaf.dnsNames, leaf.ipAddresses) },
    validity: {
      state,
      daysRemaining: Math.floor((new Date(leaf.notAfter).getTime() - context.now.getTime()) / DAY_MS),
      lifetimeDays: round2((new Date(leaf.notAfter).getTime() - new Date(leaf.notBefore).getTime()) / DAY_MS),
    },
  };
}
