import type { Certificate, CertificateStatus } from '../../api/certificate.js';
import type { Clock } from '../../clock.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import type { EventRecorder } from '../../kube/events.js';
import { recordAll } from '../../kube/refs.js';
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
}

/** How long a written status waits for its watch echo before the cache is trusted again. */
const ECHO_WAIT_MS = 30_000;

export class CertificateStatusWriter {
  /**
   * Certificates whose status we wrote, by key: the resourceVersion the
   * write started from. While the cache still holds that version, it has not
   * seen the write, and a status computed from it would write again.
   */
  private readonly written = new Map<string, { from: string; until: number }>();

  constructor(private readonly deps: CertificateStatusWriterDeps) {}

  /**
   * True while `cert` (from the cache) is the object as it was before this
   * writer's last status write: its echo is on the way and will enqueue the
   * Certificate again. At most ECHO_WAIT_MS, then the cache is trusted.
   */
  awaitingEcho(cert: Certificate): boolean {
    const key = keyOf(cert);
    const w = this.written.get(key);
    if (w === undefined) return false;
    if (cert.metadata.resourceVersion === w.from && this.deps.clock.now() <= w.until) return true;
    this.written.delete(key);
    return false;
  }

  /** A deleted Certificate: nothing of its writes is awaited any more (else its entry would stay for good). */
  forget(key: string): void {
    this.written.delete(key);
  }

  /** After a write from `cert` that the server answered with `now`: its echo is awaited if the server changed the object. */
  private wrote(cert: Certificate, now: Certificate): void {
    const from = cert.metadata.resourceVersion;
    // A patch that changed nothing on the server keeps the version and sends no watch event.
    if (from === undefined || now.metadata.resourceVersion === from) return;
    this.written.set(keyOf(cert), { from, until: this.deps.clock.now() + ECHO_WAIT_MS });
  }

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
    this.wrote(cert, result.object);
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
    if (result.outcome === 'written') this.wrote(cert, result.object);
    return result.outcome === 'written' ? result.object : cert;
  }
}

function keyOf(cert: Certificate): string {
  return `${cert.metadata.namespace ?? 'default'}/${cert.metadata.name}`;
}
