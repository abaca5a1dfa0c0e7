import { parseCertificateChainPem } from '../../pki/certificates.js';
import { readCertificateChainPem } from '../../pki/certificate-der.js';
import { encodePem } from '../../pki/pem.js';
import { crlFacts, revocationInfo } from '../../pki/revocation.js';
import { fetchCrl, type FetchedCrl } from './crl.js';
import { describeError, failed, mapAccepted, rejected, type JobOutcome } from './outcome.js';

// The CRL check of a served leaf: fetch its first http distribution point
// (bounded, see crl.ts), parse it, check its signature with the served
// issuer, and say whether the leaf is listed. Whether that makes the leaf
// revoked or the CRL stale is the analyser's call (it holds the clock).

export interface CrlCheck {
  url: string;
  bytes: number;
  thisUpdate: string;
  nextUpdate: string | undefined;
  /** The leaf's serial is on the list. */
  listsLeaf: boolean;
  /** Signed by the served issuer; undefined when the issuer was not served. */
  signatureValid: boolean | undefined;
  /** The CRL's issuer name, for the report. */
  issuer: string;
}

/** The http CRL URL of a leaf (DER, base64), if it names one. */
export function crlUrlOf(leafDer: string): string | undefined {
  // Only the DER is read: OpenSSL's parse of the leaf is not needed for its extensions.
  const [leaf] = readCertificateChainPem(encodePem('CERTIFICATE', Buffer.from(leafDer, 'base64')), 'served leaf', { lazyLeaf: true });
  return leaf === undefined ? undefined : revocationInfo(leaf).crlUrls.find((u) => u.startsWith('http:'));
}

/** Parses a fetched CRL against the served chain (DER, base64, leaf first). */
export async function checkCrl(fetched: JobOutcome<FetchedCrl>, chain: readonly string[]): Promise<JobOutcome<CrlCheck>> {
  if (fetched.status !== 'accepted') return fetched;
  const [leafDer, issuerDer] = chain;
  if (leafDer === undefined) return failed('no leaf to check', fetched.elapsedMs);
  const pem = (der: string) => encodePem('CERTIFICATE', Buffer.from(der, 'base64'));
  const [leaf] = parseCertificateChainPem(pem(leafDer), 'served leaf');
  const [issuer] = issuerDer === undefined ? [] : parseCertificateChainPem(pem(issuerDer), 'served issuer');
  if (leaf === undefined) return failed('no leaf to check', fetched.elapsedMs);
  try {
    const facts = await crlFacts(Buffer.from(fetched.value.der, 'base64'), issuer);
    const serial = leaf.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
    return mapAccepted(fetched, ({ url, bytes }) => ({
      url,
      bytes,
      thisUpdate: facts.thisUpdate.toISOString(),
      nextUpdate: facts.nextUpdate?.toISOString(),
      listsLeaf: facts.revokedSerials.includes(serial),
      signatureValid: facts.signatureValid,
      issuer: facts.issuer,
    }));
  } catch (error) {
    return failed(`the CRL at ${fetched.value.url} does not parse: ${describeError(error)}`, fetched.elapsedMs);
  }
}

/** Fetches and checks the leaf's CRL; rejected when the leaf names no http distribution point. */
export async function probeCrl(chain: readonly string[], limits?: { timeoutMs: number; maxBytes: number }): Promise<JobOutcome<CrlCheck>> {
  const [leaf] = chain;
  let url: string | undefined;
  try {
    url = leaf === undefined ? undefined : crlUrlOf(leaf);
  } catch (error) {
    return failed(`the served leaf does not parse: ${describeError(error)}`, 0);
  }
  if (url === undefined) return rejected('the certificate names no http CRL distribution point', 0);
  return checkCrl(await fetchCrl(url, limits), chain);
}
