import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { summarizeDerCertificate } from '../pki/certificates.js';
import { chainsToPublicRoots, verifyServedChain } from '../pki/trust-anchors.js';
import { lifetimeDaysOf } from './lifetimes.js';
import { readCertificateChainPem } from '../pki/certificate-der.js';
import { encodePem } from '../pki/pem.js';
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
  const revocation = revocationInfo(parsed);
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

function validityState(leaf: CertificateDetails, now: Date): ValidityState {
  if (now < new Date(leaf.notBefore)) return 'not-yet-valid';
  if (now > new Date(leaf.notAfter)) return 'expired';
  return 'valid';
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
      lifetimeDays: lifetimeDaysOf(new Date(leaf.notBefore), new Date(leaf.notAfter)),
    },
  };
}
