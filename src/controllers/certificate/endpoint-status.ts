import type { Certificate, CertificateStatus } from '../../api/certificate.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import { shortFingerprint } from '../../endpoints/verify.js';
import { type Condition, getCondition, removeCondition, setCondition } from '../../kube/conditions.js';
import { certificateRef, serviceRef, type PendingEvent } from '../../kube/refs.js';

// EndpointsVerified and status.endpoints join whatever status a reconcile
// computed, so the Certificate has one writer of status. Events follow the
// condition's changes, not the probes: a Warning once per new set of lagging
// addresses, a Normal when all serve the current certificate again.

export interface VerifiedStatus {
  status: CertificateStatus;
  /** The events this change deserves: for the reconciler to record once the status is written. */
  events: PendingEvent[];
}

export function withEndpointVerification(cert: Certificate, computed: CertificateStatus, verifier: Pick<EndpointVerifier, 'verifyCertificate'>, now: Date): VerifiedStatus {
  const conditions = (computed.conditions ?? []) as Condition[];
  const prev = getCondition((cert.status?.conditions ?? []) as Condition[], ConditionType.EndpointsVerified);
  const v = verifier.verifyCertificate(cert, computed.fingerprintSHA256, prev !== undefined);
  if (v === 'keep') return { status: computed, events: [] };
  if (v === undefined) {
    const dropped = removeCondition(conditions, ConditionType.EndpointsVerified);
    return { status: { ...computed, conditions: dropped, endpoints: undefined }, events: [] };
  }
  const status: CertificateStatus = {
    ...computed,
    conditions: setCondition(conditions, v.condition, now),
    endpoints: v.endpoints.length === 0 ? undefined : v.endpoints,
  };
  const next = v.condition;
  const events: PendingEvent[] = [];
  if (next.reason === Reason.StaleCertificate && (prev?.reason !== Reason.StaleCertificate || prev.message !== next.message)) {
    events.push({ type: 'Warning', regarding: certificateRef(cert), reason: Reason.StaleCertificate, note: next.message, action: 'Probe' });
    const namespace = cert.metadata.namespace ?? 'default';
    const byService = new Map<string, typeof v.lagging>();
    for (const l of v.lagging) byService.set(l.service, [...(byService.get(l.service) ?? []), l]);
    for (const [service, lagging] of byService) {
      const uid = lagging[0]?.serviceUid;
      const which = lagging.map((l) => `${l.address}:${l.targetPort} (port ${l.port}) serves ${shortFingerprint(l.served)}`).join('; ');
      events.push({
        type: 'Warning',
        regarding: serviceRef(namespace, service, uid),
        reason: Reason.StaleCertificate,
        note: `${lagging.length} ${lagging.length === 1 ? 'address serves' : 'addresses serve'} a stale certificate instead of Certificate ${cert.metadata.name}'s current ${shortFingerprint(computed.fingerprintSHA256)}: ${which}`,
        action: 'Probe',
      });
    }
  } else if (next.status === 'True' && prev?.status === 'False') {
    events.push({ type: 'Normal', regarding: certificateRef(cert), reason: Reason.EndpointsVerified, note: next.message, action: 'Probe' });
  }
  return { status, events };
}
