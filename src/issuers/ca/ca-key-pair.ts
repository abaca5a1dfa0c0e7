import { encodeCertificateChainPem, keyMatchesCertificate, parseCertificateChainPem, verifyChain } from '../../pki/certificates.js';
import { PkiError } from '../../pki/errors.js';
import { parsePrivateKeyPem, type PrivateKey } from '../../pki/keys.js';
import { formatName } from '../../pki/names.js';
import { x509 } from '../../pki/x509.js';
import { IssuerError } from '../types.js';

// Loading and validating a CA key pair from its kubernetes.io/tls Secret.
// Every check names the Secret and the field at fault, so the condition on a
// Certificate tells the platform team what to fix without anyone reading logs.

/** The decoded (PEM text) data of the CA's Secret. */
export interface CaSecretData {
  /** The CA certificate, optionally followed by its own intermediates (and root). */
  'tls.crt'?: string;
  'tls.key'?: string;
  /** Trust anchor(s) to publish as ca.crt; defaults to the last certificate of tls.crt. */
  'ca.crt'?: string;
}

export interface CaKeyPair {
  /** The signing CA certificate (first in tls.crt). */
  certificate: x509.X509Certificate;
  /** All of tls.crt, in order, starting with `certificate`. */
  chain: x509.X509Certificate[];
  privateKey: PrivateKey;
  /** What issued certificates publish as ca.crt. */
  caPem: string;
  /** Earliest notAfter in tls.crt: after it, no chain this CA issues verifies. */
  notAfter: Date;
}

export interface LoadCaKeyPairOptions {
  /** When the pair must be valid. */
  now: Date;
  /** "namespace/name" of the Secret, for messages. */
  secretName?: string;
}

function parseField<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    // PkiError messages already name the field (passed as their source) and never carry key bytes.
    if (error instanceof PkiError) throw new IssuerError('CASecretInvalid', error.message, { cause: error });
    throw error;
  }
}

/** Problems with the validity window of the CA at `now`, as an IssuerError, or undefined. */
export function caValidityError(certificate: x509.X509Certificate, now: Date, where: string): IssuerError | undefined {
  // Called before every signature: the subject is formatted (pure-JS ASN.1, ~0.2 ms) only for an error.
  const subject = (): string => formatName(certificate.subjectName);
  if (now < certificate.notBefore) {
    return new IssuerError(
      'CANotYetValid',
      `CA certificate "${subject()}" in ${where} is not valid before ${certificate.notBefore.toISOString()}`,
    );
  }
  if (now > certificate.notAfter) {
    return new IssuerError('CAExpired', `CA certificate "${subject()}" in ${where} expired at ${certificate.notAfter.toISOString()}`);
  }
  return undefined;
}

/**
 * Parses and checks a CA Secret: both fields present and parseable, the key
 * belongs to the first certificate, that certificate is a CA allowed to sign
 * certificates, it is valid at `now`, and tls.crt verifies against the ca.crt
 * that will be published. Throws IssuerError with the failing check as reason.
 */
export function loadCaKeyPair(data: CaSecretData, options: LoadCaKeyPairOptions): CaKeyPair {
  const secret = options.secretName === undefined ? 'the CA Secret' : `Secret ${options.secretName}`;
  const certificatePem = data['tls.crt'];
  const keyPem = data['tls.key'];
  if (certificatePem === undefined || certificatePem.trim() === '') {
    throw new IssuerError('CASecretIncomplete', `${secret} has no tls.crt`);
  }
  if (keyPem === undefined || keyPem.trim() === '') {
    throw new IssuerError('CASecretIncomplete', `${secret} has no tls.key`);
  }
  const chain = parseField(() => parseCertificateChainPem(certificatePem, `tls.crt of ${secret}`));
  const privateKey = parseField(() => parsePrivateKeyPem(keyPem, `tls.key of ${secret}`));
  const [certificate] = chain;
  if (certificate === undefined) throw new IssuerError('CASecretIncomplete', `${secret} has no certificate in tls.crt`);
  const subject = formatName(certificate.subjectName);

  if (!keyMatchesCertificate(privateKey, certificate)) {
    throw new IssuerError(
      'CAKeyMismatch',
      `tls.key of ${secret} does not belong to the certificate "${subject}" in tls.crt (their public keys differ)`,
    );
  }
  if (certificate.getExtension(x509.BasicConstraintsExtension)?.ca !== true) {
    throw new IssuerError(
      'CANotACA',
      `the certificate "${subject}" in tls.crt of ${secret} is not a CA (basicConstraints CA is not true)`,
    );
  }
  // A CA without keyUsage may sign anything (RFC 5280 4.2.1.3); OpenSSL-made CAs often omit it.
  const keyUsage = certificate.getExtension(x509.KeyUsagesExtension);
  if (keyUsage !== null && (keyUsage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new IssuerError(
      'CANotACA',
      `the certificate "${subject}" in tls.crt of ${secret} may not sign certificates (keyUsage lacks cert sign)`,
    );
  }
  const invalid = caValidityError(certificate, options.now, `tls.crt of ${secret}`);
  if (invalid !== undefined) throw invalid;

  const caCertificatePem = data['ca.crt'];
  const caPem =
    caCertificatePem !== undefined && caCertificatePem.trim() !== ''
      ? encodeCertificateChainPem(parseField(() => parseCertificateChainPem(caCertificatePem, `ca.crt of ${secret}`)))
      : encodeCertificateChainPem(chain.slice(-1));

  const verification = verifyChain({ chainPem: encodeCertificateChainPem(chain), caPem, at: options.now });
  if (!verification.valid) {
    throw new IssuerError('CAChainInvalid', `tls.crt of ${secret} does not verify against its ca.crt: ${verification.reason}`);
  }
  const notAfter = new Date(Math.min(...chain.map((c) => c.notAfter.getTime())));
  return { certificate, chain, privateKey, caPem, notAfter };
}
