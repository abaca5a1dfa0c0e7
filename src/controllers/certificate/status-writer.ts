import type { Certificate, CertificateStatus } from '../../api/certificate.js';
import type { Clock } from '../../clock.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import type { EventRecorder } from '../../kube/events.js';
import { recordAll } from '../../kube/refs.js';
import type { InformerCache } from '../../kube/namespaced-informers.js';
import type { CertificatesClient } from '../../kube/resources.js';
import { withChange } from '../../kube/status.js';
import { withEndpointVerification } from './endpoint-status.js';

// The one way the Certificate controller writes a Certificate's status. Its
// parts (readiness, issuing, the ACME order, ARI upkeep) each compute what
// they own; this writes it as a merge patch of only the changed fields, so a
// part never writes back another's fields from a cache a step behind.
// EndpointsVerified and status.endpoints join every full status computed by
// the reconciler, and their events are recorded once the status is written.

export class CertificateGoneError extends Error {
  override readonly name = 'CertificateGoneError';
}

export interface CertificateStatusWriterDeps {
  certificates: CertificatesClient;
  clock: Clock;
  events: EventRecorder;
  /** Live endpoint validation: EndpointsVerified and status.endpoints come from it. */
  endpoints?: Pick<EndpointVerifier, 'verifyCertificate'> | undefined;
  /**
   * The Certificate cache the reconciler reads: it is handed the server's
   * answer to each write, so a reconcile before the watch echo decides from
   * what was written, not from the object before it (and does not write again).
   */
  cache?: Pick<InformerCache<unknown>, 'observe'> | undefined;
}

export class CertificateStatusWriter {
  constructor(private readonly deps: CertificateStatusWriterDeps) {}

  /**
   * Writes a full status the reconciler computed, with what the live probes
   * say added (`withEndpoints`: not for an object that does not parse).
   * Patches only a real change; returns whether it did.
   */
  async write(cert: Certificate, computed: CertificateStatus, withEndpoints = true): Promise<boolean> {
    const verifier = this.deps.endpoints;
    const verified = withEndpoints && verifier !== undefined ? withEndpointVerification(cert, computed, verifier, new Date(this.deps.clock.now())) : undefined;
    const result = await this.deps.certificates.writeStatus(cert, verified?.status ?? computed);
    if (result.outcome !== 'written') return false;
    if (result.served !== undefined) this.deps.cache?.observe(result.served);
    if (verified !== undefined) recordAll(this.deps.events, verified.events);
    return true;
  }

  /**
   * Writes `change` over the current status (undefined fields are removed)
   * and returns the Certificate as the server now holds it. Throws
   * CertificateGoneError when it was deleted meanwhile.
   */
  async change(cert: Certificate, change: Partial<CertificateStatus>): Promise<Certificate> {
    const result = await this.deps.certificates.writeStatus(cert, withChange(cert.status ?? {}, change));
    if (result.outcome === 'gone') throw new CertificateGoneError(`Certificate ${cert.metadata.namespace}/${cert.metadata.name} was deleted`);
    if (result.outcome === 'written' && result.served !== undefined) this.deps.cache?.observe(result.served);
    return result.outcome === 'written' ? result.object : cert;
  }
}

