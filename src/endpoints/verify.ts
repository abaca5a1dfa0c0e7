import { type Certificate, type CertificateEndpointStatus, MAX_ENDPOINT_STATUSES } from '../api/certificate.js';
import { ConditionType, Reason } from '../api/conditions.js';
import { MAX_ENDPOINT_VIOLATIONS, MAX_POST_QUANTUM_NAMESPACES, MAX_WORST_ENDPOINTS, type PolicyEndpointFinding, type PolicyEndpointsStatus } from '../api/tlspolicy.js';
import { type ConditionUpdate, formatTime } from '../kube/conditions.js';
import type { Grade } from '../probe/grade.js';
import { postQuantumByNamespace, type ReadinessItem } from './post-quantum.js';
import type { EndpointResult } from './results.js';
import { MAX_TARGETS_PER_NAMESPACE, type CertificateEndpointPlan, type EndpointTarget } from './targets.js';
import { compareText } from '../text-order.js';

// Pure: what the probes say about a Certificate (its EndpointsVerified
// condition and status.endpoints) and about a TLSPolicy's endpoints (the
// summary in its status). The reconcilers call these and write the outcome
// with the rest of the status: they are the only writers of status.

/** Grades as numbers for the metric and for ordering: A+=7 ... F=0 (SSL Labs' T and M are F here). */
export const GRADE_VALUE: Readonly<Record<Grade, number>> = { 'A+': 7, A: 6, 'A-': 5, B: 4, C: 3, D: 2, E: 1, F: 0 };

export const gradeValue = (g: string | undefined): number => (g !== undefined && g in GRADE_VALUE ? GRADE_VALUE[g as Grade] : 0);

/** The first 16 hex digits: enough to tell certificates apart in a message. */
export const shortFingerprint = (fp: string | undefined): string => (fp === undefined ? '(none)' : fp.replaceAll(':', '').toLowerCase().slice(0, 16));

/** Served leaf fingerprint differs from the Certificate's current one. */
export function servesStaleCertificate(served: string | undefined, current: string | undefined): boolean {
  if (served === undefined || current === undefined) return false;
  return served.replaceAll(':', '').toLowerCase() !== current.replaceAll(':', '').toLowerCase();
}

export interface Lookup {
  target(key: string): EndpointTarget | undefined;
  result(key: string): EndpointResult | undefined;
}

export interface CertificateVerification {
  condition: ConditionUpdate;
  endpoints: CertificateEndpointStatus[];
  /** Lagging endpoints, for the Warning events on their Services. */
  lagging: {
    service: string;
    serviceUid?: string | undefined;
    port: number;
    address: string;
    targetPort: number;
    served: string;
    /** The pod behind the address (EndpointSlice targetRef in the Certificate's namespace), if named. */
    pod?: string | undefined;
    /** The serial of the leaf it serves. */
    servedSerialNumber?: string | undefined;
  }[];
}

/**
 * EndpointsVerified and status.endpoints for a Certificate. `undefined`: the
 * Certificate lists no endpoints (the condition goes away). `'keep'`: the
 * status already has a verdict and nothing new is known yet — some address
 * has no probe for the current fingerprint (just renewed, or the operator
 * just started; the probe is under way) and none is known to be wrong. Keeping
 * the stored verdict means a renewal does not flash a false StaleCertificate
 * and a restart does not flip every Certificate to Pending and back.
 */
export function verifyCertificateEndpoints(
  cert: Certificate,
  fingerprint: string | undefined,
  plans: readonly CertificateEndpointPlan[] | undefined,
  lookup: Lookup,
  hasPrevious: boolean,
): CertificateVerification | 'keep' | undefined {
  if ((cert.spec.endpoints?.length ?? 0) === 0) return undefined;
  const certKey = `${cert.metadata.namespace ?? 'default'}/${cert.metadata.name}`;
  const observedGeneration = cert.metadata.generation ?? 0;
  const cond = (status: ConditionUpdate['status'], reason: string, message: string): ConditionUpdate => ({
    type: ConditionType.EndpointsVerified,
    status,
    reason,
    message,
    observedGeneration,
  });
  if (fingerprint === undefined) {
    return { condition: cond('Unknown', Reason.Pending, 'no certificate has been issued yet: nothing to look for'), endpoints: [], lagging: [] };
  }
  if (plans === undefined) {
    if (hasPrevious) return 'keep';
    return { condition: cond('Unknown', Reason.Pending, 'the endpoints have not been resolved yet'), endpoints: [], lagging: [] };
  }

  const notFound: string[] = [];
  const noReady: string[] = [];
  const stale: string[] = [];
  const unreachable: string[] = [];
  const lagging: CertificateVerification['lagging'] = [];
  let pending = 0;
  let current = 0;
  const rows: { row: CertificateEndpointStatus; rank: number }[] = [];
  for (const plan of plans) {
    const where = `${plan.service}/${plan.port}`;
    switch (plan.resolution.kind) {
      case 'service-not-found':
        notFound.push(`Service "${plan.service}" does not exist`);
        continue;
      case 'port-not-found':
        notFound.push(`Service "${plan.service}" has no TCP port ${plan.port} (it has ${plan.resolution.ports.join(', ') || 'none'})`);
        continue;
      case 'no-ready-endpoints': {
        const unvouched = plan.resolution.unvouched ?? 0;
        const outside = plan.resolution.outsideAllowed ?? 0;
        const overCap = plan.resolution.overNamespaceCap ?? 0;
        const addresses = (n: number) => `${n} ready ${n === 1 ? 'address is' : 'addresses are'}`;
        const why = [
          unvouched === 0 ? undefined : `${addresses(unvouched)} not probed: their EndpointSlices were written by hand, and no TLSPolicy governing this namespace sets trustUnmanagedEndpointSlices`,
          outside === 0 ? undefined : `${addresses(outside)} outside the operator's --probe-allowed-cidrs`,
          overCap === 0 ? undefined : `${addresses(overCap)} not probed: this namespace already has the most probe targets the operator keeps per namespace (${MAX_TARGETS_PER_NAMESPACE})`,
        ].filter((x): x is string => x !== undefined);
        noReady.push(`Service "${plan.service}" port ${plan.port}${why.length === 0 ? ' has no ready address in its EndpointSlices' : `: ${why.join('; ')}`}`);
        continue;
      }
      case 'targets':
        break;
    }
    for (const key of plan.resolution.targets) {
      const t = lookup.target(key);
      const r = lookup.result(key);
      if (t === undefined || r === undefined) {
        pending++;
        continue;
      }
      // Probed for an earlier fingerprint: says nothing about the current one yet.
      if (r.expected[certKey] !== fingerprint) {
        pending++;
        continue;
      }
      const at = `${t.pod === undefined ? '' : `pod ${t.pod} `}${t.address}:${t.targetPort} (${where})`;
      const served = r.served?.fingerprintSHA256;
      const row: CertificateEndpointStatus = {
        service: plan.service,
        port: plan.port,
        address: t.address,
        serverName: t.serverName ?? '',
        ...(served === undefined ? {} : { servedFingerprintSHA256: served }),
        current: served !== undefined && !servesStaleCertificate(served, fingerprint),
        ...(r.error === undefined ? {} : { error: r.error.slice(0, 1024) }),
        lastProbeTime: formatTime(r.probedAt),
      };
      if (served === undefined) {
        unreachable.push(`${at}: ${r.error ?? 'no certificate was served'}`);
        rows.push({ row, rank: 1 });
      } else if (!row.current) {
        stale.push(`${at} serves ${shortFingerprint(served)}`);
        lagging.push({ service: plan.service, serviceUid: t.serviceUid, port: plan.port, address: t.address, targetPort: t.targetPort, served, pod: t.pod, servedSerialNumber: r.served?.facts.serialNumber });
        rows.push({ row, rank: 0 });
      } else {
        current++;
        rows.push({ row, rank: 2 });
      }
    }
  }
  if (pending > 0 && hasPrevious && stale.length + unreachable.length + noReady.length + notFound.length === 0) return 'keep';
  rows.sort((a, b) => a.rank - b.rank || compareText(a.row.service, b.row.service) || a.row.port - b.row.port || compareText(a.row.address, b.row.address));
  const endpoints = rows.slice(0, MAX_ENDPOINT_STATUSES).map((r) => r.row);

  const cur = shortFingerprint(fingerprint);
  const probed = current + stale.length + unreachable.length;
  /** Other problems, counted, after the headline one. */
  const also = (parts: [number, string][]): string => {
    const extra = parts.filter(([count]) => count > 0).map(([count, what]) => `${count} ${what}`);
    return extra.length === 0 ? '' : `; also ${extra.join(', ')}`;
  };
  let condition: ConditionUpdate;
  if (stale.length > 0) {
    condition = cond(
      'False',
      Reason.StaleCertificate,
      `${stale.length} of ${probed} addresses serve a stale certificate instead of the current ${cur}: ${list(stale)}${also([[unreachable.length, 'unreachable'], [noReady.length, 'without ready addresses'], [notFound.length, 'not found'], [pending, 'not probed yet']])}`,
    );
  } else if (unreachable.length > 0) {
    condition = cond('False', Reason.EndpointUnreachable, `${unreachable.length} of ${probed} addresses could not be checked: ${list(unreachable)}${also([[noReady.length, 'without ready addresses'], [notFound.length, 'not found'], [pending, 'not probed yet']])}`);
  } else if (noReady.length > 0) {
    condition = cond('False', Reason.NoReadyEndpoints, `${list(noReady)}${also([[notFound.length, 'not found']])}`);
  } else if (notFound.length > 0) {
    condition = cond('False', Reason.ServiceNotFound, list(notFound));
  } else if (pending > 0) {
    condition = cond('Unknown', Reason.Pending, `${pending} of ${pending + current} addresses not probed yet`);
  } else {
    condition = cond('True', Reason.CurrentCertificateServed, `all ${current} ready ${current === 1 ? 'address serves' : 'addresses serve'} the current certificate ${cur}`);
  }
  return { condition, endpoints, lagging };
}

const MAX_LISTED = 50;

function list(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).join('; ');
  return items.length > MAX_LISTED ? `${shown}; and ${items.length - MAX_LISTED} more` : shown;
}

/** TLSPolicy.status.endpoints from the targets the policy selects. */
export function summarizePolicyEndpoints(policy: string, keys: readonly string[], lookup: Lookup): PolicyEndpointsStatus {
  let compliant = 0;
  let violating = 0;
  let unreachable = 0;
  let last = 0;
  const findings: (PolicyEndpointFinding & { count: number })[] = [];
  const readiness: ReadinessItem[] = [];
  for (const key of keys) {
    const t = lookup.target(key);
    const r = lookup.result(key);
    if (t === undefined || r === undefined) continue;
    readiness.push({ namespace: t.namespace, readiness: r.postQuantum?.readiness });
    last = Math.max(last, r.probedAt);
    const violations = r.verdicts?.[policy]?.violations ?? [];
    if (!r.reachable) unreachable++;
    else if (violations.length > 0) violating++;
    else compliant++;
    findings.push({
      namespace: t.namespace,
      service: t.service,
      port: t.port,
      address: t.address,
      grade: r.grade ?? 'F',
      violations: violations.slice(0, MAX_ENDPOINT_VIOLATIONS).map((v) => `${v.id}: ${v.message}`.slice(0, 512)),
      ...(r.reachable || r.error === undefined ? {} : { error: r.error.slice(0, 1024) }),
      count: violations.length,
    });
  }
  findings.sort(
    (a, b) =>
      gradeValue(a.grade) - gradeValue(b.grade) ||
      Number(b.error !== undefined) - Number(a.error !== undefined) ||
      b.count - a.count ||
      compareText(a.namespace, b.namespace) ||
      compareText(a.service, b.service) ||
      a.port - b.port ||
      compareText(a.address, b.address),
  );
  return {
    total: keys.length,
    compliant,
    violating,
    unreachable,
    ...(last === 0 ? {} : { lastProbeTime: formatTime(last) }),
    worst: findings.slice(0, MAX_WORST_ENDPOINTS).map(({ count: _count, ...f }) => f),
    ...(readiness.length === 0 ? {} : { postQuantum: postQuantumByNamespace(readiness, MAX_POST_QUANTUM_NAMESPACES) }),
  };
}
