import type { Certificate, ReloadStatus } from '../../api/certificate.js';
import { ConditionType, Reason } from '../../api/conditions.js';
import type { TLSPolicy } from '../../api/tlspolicy.js';
import type { Clock } from '../../clock.js';
import type { EndpointVerifier } from '../../endpoints/validation.js';
import { formatTime } from '../../kube/conditions.js';
import { apiErrorMessage, isClientFault } from '../../kube/errors.js';
import type { EventRecorder } from '../../kube/events.js';
import { certificateRef } from '../../kube/refs.js';
import type { PodOwner, RestartableKind } from '../../kube/workloads.js';
import type { Logger } from '../../log.js';
import { decideReload, reloadAfterMs, type StaleAddress } from './reload.js';

// spec.reload, acted on: gather (the probes' stale addresses, their pods and
// owning workloads, read in the Certificate's own namespace only), decide
// (reload.ts), act (restart, or record the verdict in status.reload with an
// event). Runs while the Certificate is current, after its status was written.

export interface ReloaderDeps {
  clock: Clock;
  endpoints: Pick<EndpointVerifier, 'verifyCertificate'>;
  workloads: {
    podOwner(namespace: string, pod: string): Promise<PodOwner | undefined>;
    restart(namespace: string, kind: RestartableKind, name: string, at: Date): Promise<void>;
  };
  /** Writes status.reload (only that field). */
  writeReload(cert: Certificate, reload: ReloadStatus): Promise<void>;
  events: Pick<EventRecorder, 'normal' | 'warning'>;
}

/** After the API server refused to show a pod or its workload: how soon to try again. */
const REFUSED_RETRY_MS = 5 * 60_000;

export class Reloader {
  constructor(private readonly deps: ReloaderDeps) {}

  /** Returns when to look again (ms), if a reload is waiting for its time. */
  async reconcile(cert: Certificate, policy: TLSPolicy, log: Logger): Promise<number | undefined> {
    const reload = cert.spec.reload ?? policy.spec.reload;
    const status = cert.status;
    if (reload === undefined || status?.serialNumber === undefined) return undefined;
    const namespace = cert.metadata.namespace ?? 'default';
    const now = this.deps.clock.now();
    const v = this.deps.endpoints.verifyCertificate(cert, status.fingerprintSHA256, true);
    if (v === 'keep') return undefined;
    const lagging = v?.lagging ?? [];
    const condition = status.conditions?.find((c) => c.type === ConditionType.EndpointsVerified);
    const since = condition?.reason === Reason.StaleCertificate ? Date.parse(condition.lastTransitionTime) : Number.NaN;
    const staleSince = lagging.length === 0 ? undefined : Number.isFinite(since) ? since : now;

    const ownSerials = new Set((status.issuedSerialNumbers ?? []).filter((s) => s !== status.serialNumber));
    const previous = status.reload?.serialNumber === status.serialNumber ? status.reload : undefined;
    // Pods are read only when a restart may be due: not on every reconcile of a stale Certificate.
    const due = previous === undefined && staleSince !== undefined && now >= staleSince + reloadAfterMs(reload);
    const stale: StaleAddress[] = [];
    const seen = new Set<string>();
    for (const l of lagging) {
      const id = l.pod ?? l.address;
      if (seen.has(id)) continue;
      seen.add(id);
      const servesOlderOwnCertificate = l.servedSerialNumber !== undefined && ownSerials.has(l.servedSerialNumber);
      let owner: PodOwner | undefined;
      if (due && servesOlderOwnCertificate && l.pod !== undefined) {
        try {
          owner = await this.deps.workloads.podOwner(namespace, l.pod);
        } catch (err) {
          // Refused (RBAC without reload.enabled's rules, a policy webhook): say so and look again later, recording nothing.
          if (!isClientFault(err)) throw err;
          const message = `cannot find the workload of pod ${l.pod}: ${apiErrorMessage(err)}`;
          log.warn({ pod: l.pod, err: message }, 'reload not possible');
          this.deps.events.warning(certificateRef(cert), Reason.ReloadNotPossible, message, 'Reload');
          return REFUSED_RETRY_MS;
        }
      }
      // A pod that is gone is as good as terminating: its replacement is on the way.
      const gone = due && servesOlderOwnCertificate && l.pod !== undefined && owner === undefined;
      stale.push({ address: l.address, pod: l.pod, servesOlderOwnCertificate, terminating: gone || owner?.terminating === true, workload: owner?.workload });
    }

    const d = decideReload({ now, reload, serialNumber: status.serialNumber, staleSince, stale, previous: status.reload });
    const ref = certificateRef(cert);
    switch (d.kind) {
      case 'none':
        return undefined;
      case 'wait':
        return Math.max(1000, d.at - now);
      case 'restart': {
        const at = new Date(now);
        // Recorded first: a restart must not be repeated for this certificate, whatever happens next.
        const record: ReloadStatus = {
          serialNumber: status.serialNumber,
          state: 'Restarted',
          time: formatTime(at),
          workloads: d.workloads.map((w) => `${w.kind}/${w.name}`),
          message: d.message.slice(0, 2000),
        };
        await this.deps.writeReload(cert, record);
        const failed: string[] = [];
        for (const w of d.workloads) {
          try {
            await this.deps.workloads.restart(namespace, w.kind, w.name, at);
          } catch (err) {
            failed.push(`${w.kind}/${w.name}: ${apiErrorMessage(err)}`);
          }
        }
        if (failed.length === d.workloads.length) {
          // Nothing was restarted: no verdict to wait for. Once per certificate still holds (the API server said why).
          const message = `could not restart ${failed.join('; ')}`.slice(0, 2000);
          log.warn({ failed }, 'could not restart the workloads serving a stale certificate');
          await this.deps.writeReload(cert, { ...record, state: 'NotRestartable', message });
          this.deps.events.warning(ref, Reason.ReloadNotPossible, message, 'Reload');
          return undefined;
        }
        log.info({ workloads: record.workloads, failed }, 'restarted workloads serving a stale certificate');
        this.deps.events.normal(ref, Reason.WorkloadsRestarted, `${d.message}${failed.length === 0 ? '' : `; could not restart ${failed.join('; ')}`}`, 'Reload');
        return reloadAfterMs(reload);
      }
      case 'report': {
        await this.deps.writeReload(cert, { serialNumber: status.serialNumber, state: d.state, time: status.reload?.time ?? formatTime(new Date(now)), ...(status.reload?.workloads === undefined ? {} : { workloads: status.reload.workloads }), message: d.message.slice(0, 2000) });
        if (d.state === 'Verified') this.deps.events.normal(ref, Reason.ReloadVerified, d.message, 'Reload');
        else this.deps.events.warning(ref, d.state === 'StillStale' ? Reason.ReloadDidNotFix : Reason.ReloadNotPossible, d.message, 'Reload');
        return undefined;
      }
    }
  }
}

export const RELOAD_DISABLED_MESSAGE =
  'spec.reload is set (on the Certificate or its TLSPolicy) but this operator runs without --reload-enabled (chart value reload.enabled), which also grants the RBAC to read pods and restart workloads: nothing will be restarted';

/**
 * spec.reload while the operator runs without --reload-enabled: nothing is
 * restarted, and the Certificate says so instead of staying silent. Recorded
 * once per issued certificate (status.reload, state Disabled, and one
 * Warning event), like a reload verdict.
 */
export class ReloadDisabledNotice {
  constructor(private readonly deps: Pick<ReloaderDeps, 'clock' | 'writeReload' | 'events'>) {}

  async reconcile(cert: Certificate, policy: TLSPolicy, _log: Logger): Promise<number | undefined> {
    const serialNumber = cert.status?.serialNumber;
    if ((cert.spec.reload ?? policy.spec.reload) === undefined || serialNumber === undefined) return undefined;
    if (cert.status?.reload?.serialNumber === serialNumber && cert.status.reload.state === 'Disabled') return undefined;
    await this.deps.writeReload(cert, { serialNumber, state: 'Disabled', time: formatTime(this.deps.clock.now()), message: RELOAD_DISABLED_MESSAGE });
    this.deps.events.warning(certificateRef(cert), Reason.ReloadDisabled, RELOAD_DISABLED_MESSAGE, 'Reload');
    return undefined;
  }
}
