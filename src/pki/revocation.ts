import { TAG_OID, decodeOid, readChildren, readTlv } from './der.js';
import type { DerCertificate } from './certificate-der.js';
import { usagesOfDerCertificate } from './certificates.js';
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

/** RFC 7633 Features ::= SEQUENCE OF INTEGER: does it hold status_request? */
export function tlsFeatureHasStatusRequest(der: Uint8Array): boolean {
  const sequence = readTlv(der, 0);
  if (sequence.tag !== 0x30) return false;
  return readChildren(sequence.value).some((item) => item.tag === 0x02 && item.value.length === 1 && item.value[0] === STATUS_REQUEST);
}

const AUTHORITY_INFO_ACCESS_OID = '1.3.6.1.5.5.7.1.1';
const OCSP_ACCESS_METHOD_OID = '1.3.6.1.5.5.7.48.1';
const CRL_DISTRIBUTION_POINTS_OID = '2.5.29.31';
/** GeneralName's uniformResourceIdentifier: [6] IMPLICIT IA5String. */
const TAG_URI = 0x86;
/** DistributionPoint's distributionPoint [0] and DistributionPointName's fullName [0], both constructed. */
const TAG_CONTEXT_0_CONSTRUCTED = 0xa0;

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');

/** AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod, accessLocation GeneralName }: the OCSP URIs. */
function ocspUrls(der: Uint8Array): string[] {
  const urls: string[] = [];
  for (const description of readChildren(readTlv(der, 0).value)) {
    const [method, location] = readChildren(description.value);
    if (method?.tag === TAG_OID && location?.tag === TAG_URI && decodeOid(method.value) === OCSP_ACCESS_METHOD_OID) urls.push(latin1(location.value));
  }
  return urls;
}

/** CRLDistributionPoints ::= SEQUENCE OF DistributionPoint: the URIs of each point's fullName. */
function crlUrls(der: Uint8Array): string[] {
  const urls: string[] = [];
  for (const point of readChildren(readTlv(der, 0).value)) {
    const name = readChildren(point.value).find((field) => field.tag === TAG_CONTEXT_0_CONSTRUCTED);
    const fullName = name === undefined ? undefined : readChildren(name.value).find((choice) => choice.tag === TAG_CONTEXT_0_CONSTRUCTED);
    for (const general of fullName === undefined ? [] : readChildren(fullName.value)) if (general.tag === TAG_URI) urls.push(latin1(general.value));
  }
  return urls;
}

/**
 * An extension's reading, or `fallback` where the extension is malformed: a
 * broken AIA or CDP leaves the certificate without those URLs, the rest of
 * it is still judged.
 */
function readOr<T>(cert: DerCertificate, oid: string, read: (der: Uint8Array) => T, fallback: T): T {
  const extension = cert.extensions.get(oid);
  if (extension === undefined) return fallback;
  try {
    return read(extension.value);
  } catch {
    return fallback;
  }
}

/** The summary's reading of the usages (certificates.ts); none where they do not parse, like the other extensions here. */
function usagesOf(cert: DerCertificate): UsageName[] {
  try {
    return usagesOfDerCertificate(cert);
  } catch {
    return [];
  }
}

/**
 * Read from the certificate's DER (certificate-der.ts), not by the X.509
 * library: this runs for every certificate of every probe, where the
 * library's ASN.1 parse was a tenth of a full scan's CPU.
 */
export function revocationInfo(cert: DerCertificate): RevocationInfo {
  return {
    ocspUrls: readOr(cert, AUTHORITY_INFO_ACCESS_OID, ocspUrls, []),
    crlUrls: readOr(cert, CRL_DISTRIBUTION_POINTS_OID, crlUrls, []),
    mustStaple: readOr(cert, TLS_FEATURE_OID, tlsFeatureHasStatusRequest, false),
    usages: usagesOf(cert),
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
