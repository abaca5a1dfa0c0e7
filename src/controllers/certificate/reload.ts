import type { ReloadSpec, ReloadState, ReloadStatus } from '../../api/certificate.js';
import { parseDuration } from '../../api/duration.js';
import { compareText } from '../../text-order.js';

// Pure: whether to restart the workloads of pods that keep serving an older
// certificate of a Certificate (spec.reload), and what to report after. At
// most one restart per issued certificate (status.reload.serialNumber), never
// of a workload whose pods do not serve one of this Certificate's own older
// certificates, never while every stale pod is already going away.

export const DEFAULT_RELOAD_AFTER_MS = 5 * 60_000;
/** How soon to look again while every stale pod is terminating (its replacement comes up meanwhile). */
export const TERMINATING_RECHECK_MS = 15_000;

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export interface WorkloadRef {
  kind: WorkloadKind;
  name: string;
}

/** One address that serves another certificate than the current one, with what the gatherer found out about its pod. */
export interface StaleAddress {
  address: string;
  /** The pod behind it (EndpointSlice targetRef, same namespace), if the slice names one. */
  pod?: string | undefined;
  /** It serves a certificate this Certificate issued before (its serial is in status.issuedSerialNumbers). */
  servesOlderOwnCertificate: boolean;
  /** The pod is being deleted. */
  terminating: boolean;
  /** The Deployment, StatefulSet or DaemonSet that controls the pod (a Deployment through its ReplicaSet). */
  workload?: WorkloadRef | undefined;
}

export interface ReloadInput {
  now: number;
  reload: ReloadSpec | undefined;
  /** The current certificate's serial; undefined before the first issuance. */
  serialNumber: string | undefined;
  /** Since when EndpointsVerified has said StaleCertificate; undefined when it does not. */
  staleSince: number | undefined;
  stale: readonly StaleAddress[];
  previous: ReloadStatus | undefined;
}

export type ReloadDecision =
  | { kind: 'none' }
  /** Nothing to do yet: look again at `at`. */
  | { kind: 'wait'; at: number }
  | { kind: 'restart'; workloads: WorkloadRef[]; message: string }
  /** Record this outcome of the reload of the current certificate (an event and, for StillStale, an alert follow). */
  | { kind: 'report'; state: Exclude<ReloadState, 'Restarted'>; message: string };

export function reloadAfterMs(reload: ReloadSpec): number {
  if (reload.after === undefined) return DEFAULT_RELOAD_AFTER_MS;
  try {
    return parseDuration(reload.after);
  } catch {
    return DEFAULT_RELOAD_AFTER_MS;
  }
}

const label = (w: WorkloadRef) => `${w.kind}/${w.name}`;

export function decideReload(i: ReloadInput): ReloadDecision {
  if (i.reload === undefined || i.serialNumber === undefined) return { kind: 'none' };
  const afterMs = reloadAfterMs(i.reload);
  const prev = i.previous?.serialNumber === i.serialNumber ? i.previous : undefined;

  if (prev !== undefined) {
    // Once per issued certificate: after the restart, only the verdict is left to give.
    if (prev.state !== 'Restarted') return { kind: 'none' };
    if (i.staleSince === undefined) return { kind: 'report', state: 'Verified', message: `every address serves the current certificate after restarting ${(prev.workloads ?? []).join(', ')}` };
    const verdictAt = Date.parse(prev.time) + afterMs;
    if (i.now < verdictAt) return { kind: 'wait', at: verdictAt };
    const still = i.stale.map((s) => (s.pod === undefined ? s.address : `pod ${s.pod} (${s.address})`));
    return {
      kind: 'report',
      state: 'StillStale',
      message: `restarting ${(prev.workloads ?? []).join(', ')} did not help: ${still.join(', ') || 'some addresses'} still serve a stale certificate; the server reads its certificate from elsewhere than the Secret, or does not reload it`,
    };
  }

  if (i.staleSince === undefined) return { kind: 'none' };
  const dueAt = i.staleSince + afterMs;
  if (i.now < dueAt) return { kind: 'wait', at: dueAt };
  // Only pods that serve an older certificate of this very Certificate: a Service listed in spec.endpoints
  // whose pods serve anything else is not this Certificate's to restart.
  const ours = i.stale.filter((s) => s.servesOlderOwnCertificate && s.pod !== undefined);
  if (ours.length === 0) return { kind: 'none' };
  const live = ours.filter((s) => !s.terminating);
  if (live.length === 0) return { kind: 'wait', at: i.now + TERMINATING_RECHECK_MS };
  const workloads = new Map<string, WorkloadRef>();
  for (const s of live) if (s.workload !== undefined) workloads.set(label(s.workload), s.workload);
  const orphans = live.filter((s) => s.workload === undefined).map((s) => `pod ${s.pod ?? '?'}`);
  if (workloads.size === 0) {
    return { kind: 'report', state: 'NotRestartable', message: `${orphans.join(', ')} ${orphans.length === 1 ? 'is' : 'are'} not controlled by a Deployment, StatefulSet or DaemonSet: restart ${orphans.length === 1 ? 'it' : 'them'} by hand` };
  }
  const list = [...workloads.values()].sort((a, b) => compareText(label(a), label(b)));
  const pods = live.map((s) => s.pod ?? s.address).join(', ');
  return {
    kind: 'restart',
    workloads: list,
    message: `restarting ${list.map(label).join(', ')}: ${pods} served a stale certificate for ${Math.round((i.now - i.staleSince) / 1000)}s${orphans.length === 0 ? '' : `; ${orphans.join(', ')} have no workload to restart`}`,
  };
}
