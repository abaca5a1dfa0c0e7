import { describe, expect, it } from 'vitest';
import type { Certificate, ReloadStatus } from '../../../src/api/certificate.js';
import { RELOAD_DISABLED_MESSAGE, ReloadDisabledNotice, Reloader } from '../../../src/controllers/certificate/reloader.js';
import type { CertificateVerification } from '../../../src/endpoints/verify.js';
import type { PodOwner } from '../../../src/kube/workloads.js';
import { createLogger } from '../../../src/log.js';
import { certificate, inNamespace, selectingAll, tlsPolicy, withPolicySpec, withSpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { RecordingEvents } from './fakes.js';

// The reloader's gathering and acting around the pure decision: which pods it
// asks about (only its own namespace, only for addresses serving one of its own
// older certificates, only when a restart may be due), what it records before
// restarting, and the events it sends.

const NOW = Date.parse('2026-03-01T01:00:00Z');
const log = createLogger('silent');
const lagging = (over: Partial<CertificateVerification['lagging'][number]> = {}): CertificateVerification['lagging'][number] => ({
  service: 'web',
  port: 443,
  address: '10.244.0.7',
  targetPort: 8443,
  served: 'a'.repeat(64),
  pod: 'web-1',
  servedSerialNumber: '0a0a',
  ...over,
});

function harness(o: {
  lagging?: CertificateVerification['lagging'];
  owners?: Record<string, PodOwner | undefined>;
  reload?: ReloadStatus;
  staleFor?: number;
  policyReload?: boolean;
  certReload?: boolean;
  forbidden?: boolean;
  patchForbidden?: boolean;
}) {
  const clock = new FakeClock(NOW);
  const calls: string[] = [];
  const records: ReloadStatus[] = [];
  const events = new RecordingEvents();
  const reloader = new Reloader({
    clock,
    endpoints: {
      verifyCertificate: () => ({ condition: { type: 'EndpointsVerified', status: 'False', reason: 'StaleCertificate', message: 'm', observedGeneration: 1 }, endpoints: [], lagging: o.lagging ?? [lagging()] }),
    },
    workloads: {
      podOwner: (namespace, pod) => {
        calls.push(`podOwner ${namespace}/${pod}`);
        if (o.forbidden === true) return Promise.reject(Object.assign(new Error('pods "web-1" is forbidden'), { code: 403, body: { message: 'pods "web-1" is forbidden: User cannot get resource "pods"' } }));
        return Promise.resolve(o.owners === undefined ? { terminating: false, workload: { kind: 'Deployment', name: 'web' } } : o.owners[pod]);
      },
      restart: (namespace, kind, name) => {
        calls.push(`restart ${namespace} ${kind}/${name} (recorded: ${records.length})`);
        return o.patchForbidden === true ? Promise.reject(new Error('deployments.apps "web" is forbidden')) : Promise.resolve();
      },
    },
    writeReload: (_cert, reload) => {
      records.push(reload);
      return Promise.resolve();
    },
    events,
  });
  const cert: Certificate = certificate('web', inNamespace('team-a'), ...(o.certReload === false ? [] : [withSpec({ reload: { strategy: 'RolloutRestart', after: '1m' } })]));
  cert.status = {
    serialNumber: '0b0b',
    issuedSerialNumbers: ['0b0b', '0a0a'],
    fingerprintSHA256: 'b'.repeat(64),
    ...(o.reload === undefined ? {} : { reload: o.reload }),
    conditions: [{ type: 'EndpointsVerified', status: 'False', reason: 'StaleCertificate', message: 'm', lastTransitionTime: new Date(NOW - (o.staleFor ?? 120_000)).toISOString() }],
  };
  const policy = tlsPolicy('p', selectingAll, ...(o.policyReload === true ? [withPolicySpec({ reload: { strategy: 'RolloutRestart' } })] : []));
  return { run: () => reloader.reconcile(cert, policy, log), calls, records, events };
}

describe('Reloader', () => {
  it('records the restart, then restarts the owning workload in the Certificate’s namespace, with an event', async () => {
    const h = harness({});
    await expect(h.run()).resolves.toBe(60_000);
    expect(h.calls).toEqual(['podOwner team-a/web-1', 'restart team-a Deployment/web (recorded: 1)']);
    expect(h.records).toEqual([{ serialNumber: '0b0b', state: 'Restarted', time: '2026-03-01T01:00:00Z', workloads: ['Deployment/web'], message: expect.stringMatching(/^restarting Deployment\/web: web-1/) as string }]);
    expect(h.events.recorded.map((e) => [e.type, e.reason])).toEqual([['Normal', 'WorkloadsRestarted']]);
  });

  it('asks about no pod before a restart may be due', async () => {
    const h = harness({ staleFor: 10_000 });
    await expect(h.run()).resolves.toBe(50_000);
    expect(h.calls).toEqual([]);
  });

  it('leaves alone a pod that serves a certificate this Certificate never issued (another team’s Service listed in spec.endpoints)', async () => {
    const h = harness({ lagging: [lagging({ servedSerialNumber: 'ffff' })] });
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.calls).toEqual([]);
    expect(h.records).toEqual([]);
  });

  it('waits while every stale pod is terminating or gone', async () => {
    const h = harness({ lagging: [lagging(), lagging({ pod: 'web-2', address: '10.244.0.8' })], owners: { 'web-1': { terminating: true }, 'web-2': undefined } });
    await expect(h.run()).resolves.toBe(15_000);
    expect(h.calls.filter((c) => c.startsWith('restart'))).toEqual([]);
  });

  it('takes the policy’s spec.reload when the Certificate has none, and does nothing when neither has one', async () => {
    // The policy's default after (5m) applies: stale for 2 minutes, 3 more to wait.
    expect(await harness({ certReload: false, policyReload: true }).run()).toBe(180_000);
    const none = harness({ certReload: false });
    await expect(none.run()).resolves.toBeUndefined();
    expect(none.calls).toEqual([]);
  });

  it('says so with a Warning, records nothing and looks again later when the API server refuses to show the pod', async () => {
    const h = harness({ forbidden: true });
    await expect(h.run()).resolves.toBe(300_000);
    expect(h.records).toEqual([]);
    expect(h.calls).toEqual(['podOwner team-a/web-1']);
    expect(h.events.recorded.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ReloadNotPossible']]);
    expect(h.events.recorded[0]?.note).toContain('cannot find the workload of pod web-1');
  });

  it('records NotRestartable with the API server’s words when no workload could be restarted', async () => {
    const h = harness({ patchForbidden: true });
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.records.map((r) => r.state)).toEqual(['Restarted', 'NotRestartable']);
    expect(h.records[1]?.message).toBe('could not restart Deployment/web: deployments.apps "web" is forbidden');
    expect(h.events.recorded.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ReloadNotPossible']]);
  });

  it('reports a restart that did not help with a Warning, once its grace is over, and restarts nothing again', async () => {
    const h = harness({ reload: { serialNumber: '0b0b', state: 'Restarted', time: new Date(NOW - 61_000).toISOString(), workloads: ['Deployment/web'], message: 'm' } });
    await h.run();
    expect(h.calls).toEqual([]);
    expect(h.records.map((r) => r.state)).toEqual(['StillStale']);
    expect(h.events.recorded.map((e) => [e.type, e.reason])).toEqual([['Warning', 'ReloadDidNotFix']]);
  });
});

describe('ReloadDisabledNotice (spec.reload without --reload-enabled)', () => {
  function notice(o: { certReload?: boolean; policyReload?: boolean; reload?: ReloadStatus; serialNumber?: string }) {
    const records: ReloadStatus[] = [];
    const events = new RecordingEvents();
    const n = new ReloadDisabledNotice({
      clock: new FakeClock(NOW),
      writeReload: (_cert, reload) => {
        records.push(reload);
        return Promise.resolve();
      },
      events,
    });
    const cert: Certificate = certificate('web', inNamespace('team-a'), ...(o.certReload === true ? [withSpec({ reload: { strategy: 'RolloutRestart' } })] : []));
    cert.status = { ...(o.serialNumber === undefined ? {} : { serialNumber: o.serialNumber }), ...(o.reload === undefined ? {} : { reload: o.reload }) };
    const policy = tlsPolicy('p', selectingAll, ...(o.policyReload === true ? [withPolicySpec({ reload: { strategy: 'RolloutRestart' } })] : []));
    return { run: () => n.reconcile(cert, policy, log), records, events };
  }

  it.each([
    ['on the Certificate', { certReload: true }],
    ['by its TLSPolicy', { policyReload: true }],
  ])('says once per issued certificate that spec.reload %s does nothing, in status.reload and a Warning event', async (_label, o) => {
    const h = notice({ ...o, serialNumber: '0b0b' });
    await expect(h.run()).resolves.toBeUndefined();
    expect(h.records).toEqual([{ serialNumber: '0b0b', state: 'Disabled', time: '2026-03-01T01:00:00Z', message: RELOAD_DISABLED_MESSAGE }]);
    expect(h.events.recorded.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning ReloadDisabled']);
    expect(RELOAD_DISABLED_MESSAGE).toContain('--reload-enabled');
  });

  it('is quiet when already said for this certificate, without spec.reload, or before the first issuance', async () => {
    for (const h of [
      notice({ certReload: true, serialNumber: '0b0b', reload: { serialNumber: '0b0b', state: 'Disabled', time: 't', message: 'm' } }),
      notice({ serialNumber: '0b0b' }),
      notice({ certReload: true }),
    ]) {
      await h.run();
      expect(h.records).toEqual([]);
      expect(h.events.recorded).toEqual([]);
    }
    // A renewal is a new certificate: said again.
    const renewed = notice({ certReload: true, serialNumber: '0c0c', reload: { serialNumber: '0b0b', state: 'Disabled', time: 't', message: 'm' } });
    await renewed.run();
    expect(renewed.records.map((r) => r.serialNumber)).toEqual(['0c0c']);
  });
});
