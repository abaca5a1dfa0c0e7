import type { CertificateSummary } from '../pki/certificates.js';

// What the inventory and the endpoint checks keep of a certificate: public
// facts only, small and key-free, read once when a Secret is summarised or a
// leaf is served.

/** A certificate's summary without the usages (the inventory never reads them), plus whether it is self-issued. */
export type CertificateFacts = Omit<CertificateSummary, 'usages'> & {
  /** Subject and issuer are the same name (a root CA or a self-signed leaf). */
  selfIssued: boolean;
};

/** The certificates of one kubernetes.io/tls Secret. */
export interface SecretCertificates {
  /** tls.crt's first certificate: present whenever it parses, even if tls.key is missing or does not match. */
  leaf?: CertificateFacts;
  /** Why tls.crt gave no leaf (missing, empty, not PEM, not X.509). */
  leafError?: string;
  /** Certificates in tls.crt (leaf + intermediates). */
  chainLength: number;
  /** ca.crt's certificates, at most MAX_CA_CERTIFICATES. */
  caCertificates: CertificateFacts[];
  caError?: string;
  /**
   * The leaf chains (through tls.crt) to a public root and is valid longer
   * than the CA/Browser Forum allows for its issue date (SC-081). Checked only
   * for leaves that long, so private CAs' long-lived leaves cost one lookup.
   */
  publicLifetime?: { lifetimeDays: number; maxDays: number };
}
