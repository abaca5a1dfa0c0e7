import { readChildren, readTlv } from './der.js';
import { usagesOfExtensions } from './usages.js';
import type { UsageName } from './spec.js';
import { x509 } from './x509.js';

// What a certificate says about its own revocation and purposes: where its
// OCSP responder and CRLs are (RFC 5280 §4.2.2.1, §4.2.1.13), whether it
// demands a stapled OCSP response (TLS Feature "Must-Staple", RFC 7633), and
// its extended key usages. Pure parsing; fetching is the prober's.

const TLS_FEATURE_OID = '1.3.6.1.5.5.7.1.24';
/** RFC 7633: the TLS extension number of status_request. */
const STATUS_REQUEST = 5;

export interface RevocationInfo {
  /** http(s) URIs of OCSP responders (AIA id-ad-ocsp). */
  ocspUrls: string[];
  /** URIs of CRL distribution points (full names only). */
  crlUrls: string[];
  /** The TLS Feature extension lists status_request. */
  mustStaple: boolean;
  /** cert-manager's names of the usages: 'server auth', 'client auth', ... */
  usages: UsageName[];
}

function uris(names: readonly { type: string; value: string }[]): string[] {
  return names.filter((n) => n.type === 'url').map((n) => n.value);
}

/** RFC 7633 Features ::= SEQUENCE OF INTEGER: does it hold status_request? */
export function tlsFeatureHasStatusRequest(der: Uint8Array): boolean {
  const sequence = readTlv(der, 0);
  if (sequence.tag !== 0x30) return false;
  return readChildren(sequence.value).some((item) => item.tag === 0x02 && item.value.length === 1 && item.value[0] === STATUS_REQUEST);
}

export function revocationInfo(certificate: x509.X509Certificate): RevocationInfo {
  const aia = certificate.getExtension(x509.AuthorityInfoAccessExtension);
  const cdp = certificate.getExtension(x509.CRLDistributionPointsExtension);
  const feature = certificate.extensions.find((e) => e.type === TLS_FEATURE_OID);
  let mustStaple = false;
  if (feature !== undefined) {
    try {
      mustStaple = tlsFeatureHasStatusRequest(new Uint8Array(feature.value));
    } catch {
      mustStaple = false;
    }
  }
  const crlUrls: string[] = [];
  for (const point of cdp?.distributionPoints ?? []) {
    for (const name of point.distributionPoint?.fullName ?? []) if (name.uniformResourceIdentifier !== undefined) crlUrls.push(name.uniformResourceIdentifier);
  }
  return {
    ocspUrls: aia === null ? [] : uris(aia.ocsp.map((n) => ({ type: n.type, value: n.value }))),
    crlUrls,
    mustStaple,
    usages: usagesOfExtensions(certificate.extensions),
  };
}

export interface CrlFacts {
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Serial numbers (lower-case hex) of the revoked certificates. */
  revokedSerials: string[];
  /** Signed by `issuer` (undefined: no issuer certificate to check with). */
  signatureValid: boolean | undefined;
}

/** Parses a DER CRL and, given its issuer's certificate, checks its signature. Throws on a CRL that does not parse. */
export async function crlFacts(der: Uint8Array, issuer: x509.X509Certificate | undefined): Promise<CrlFacts> {
  const crl = new x509.X509Crl(der);
  let signatureValid: boolean | undefined;
  if (issuer !== undefined) {
    try {
      signatureValid = await crl.verify({ publicKey: issuer.publicKey });
    } catch {
      signatureValid = false;
    }
  }
  return {
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate,
    revokedSerials: crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^0+(?=.)/, '')),
    signatureValid,
  };
}
