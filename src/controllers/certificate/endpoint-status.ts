import type { Certificate, CertificateStatus } from '../../api/certificate.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import { serviceRef } from '../../endpoints/validation.js';
import { shortFingerprint } from '../../endpoints/verify.js';
import { type Condition, getCondition, removeCondition, setCondition } from '../../kube/conditions.js';
import type { EventRecorder } from '../../kube/events.js';
import { certificateRef } from './reconciler.js';

// EndpointsVerified and status.endpoints join whatever status a reconcile
// computed, so the Certificate has one writer of status. Events follow the
// condition's changes, not the probes: a Warning once per new set of lagging
// addresses, a Normal when all serve the current certificate again.

export interface VerifiedStatus {
  status: CertificateStatus;
  /** Records the events this change deserves; call after the status was written. */
  announce(events: EventRecorder): void;
}

export function withEndpointVerification(cert: Certificate, computed: CertificateStatus, verifier: EndpointVerifier, now: Date): VerifiedStatus {
  const conditions = (computed.conditions ?? []) as Condition[];
  const prev = getCondition((cert.status?.conditions ?? []) as Condition[], ConditionType.EndpointsVerified);
  const v = verifier.verifyCertificate(cert, computed.fingerprintSHA256, prev !== undefined);
  const quiet = () => undefined;
  if (v === 'keep') return { status: computed, announce: quiet };
  if (v === undefined) {
    const dropped = removeCondition(conditions, ConditionType.EndpointsVerified);
    return { status: { ...computed, conditions: dropped, endpoints: undefined }, announce: quiet };
  }
  const status: CertificateStatus = {
    ...computed,
    conditions: setCondition(conditions, v.condition, now),
    endpoints: v.endpoints.length === 0 ? undefined : v.endpoints,
  };
  const next = v.condition;
  const announce = (events: EventRecorder): void => {
    if (next.reason === Reason.StaleCertificate && (prev?.reason !== Reason.StaleCertificate || prev.message !== next.message)) {
      events.warning(certificateRef(cert), Reason.StaleCertificate, next.message, 'Probe');
      const namespace = cert.metadata.namespace ?? 'default';
      const byService = new Map<string, typeof v.lagging>();
      for (const l of v.lagging) byService.set(l.service, [...(byService.get(l.service) ?? []), l]);
      for (const [service, lagging] of byService) {
        const uid = lagging[0]?.serviceUid;
        const which = lagging.map((l) => `${l.address}:${l.targetPort} (port ${l.port}) serves ${shortFingerprint(l.served)}`).join('; ');
        events.warning(
          serviceRef(namespace, service, uid),
          Reason.StaleCertificate,
          `${lagging.length} ${lagging.length === 1 ? 'address serves' : 'addresses serve'} a stale certificate instead of Certificate ${cert.metadata.name}'s current ${shortFingerprint(computed.fingerprintSHA256)}: ${which}`,
          'Probe',
        );
      }
    } else if (next.status === 'True' && prev?.status === 'False') {
      events.normal(certificateRef(cert), Reason.EndpointsVerified, next.message, 'Probe');
    }
  };
  return { status, announce };
}
