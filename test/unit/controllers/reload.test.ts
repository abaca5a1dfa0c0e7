import { describe, expect, it } from 'vitest';
import type { ReloadStatus } from '../../../src/api/certificate.js';
import { decideReload, DEFAULT_RELOAD_AFTER_MS, TERMINATING_RECHECK_MS, type ReloadInput, type StaleAddress } from '../../../src/controllers/certificate/reload.js';

const now = Date.parse('2026-03-01T01:00:00Z');
const MIN = 60_000;
const web: StaleAddress = { address: '10.244.0.7', pod: 'web-7d9-abcde', servesOlderOwnCertificate: true, terminating: false, workload: { kind: 'Deployment', name: 'web' } };
const input = (over: Partial<ReloadInput>): ReloadInput => ({
  now,
  reload: { strategy: 'RolloutRestart' },
  serialNumber: '0b0b',
  staleSince: now - 10 * MIN,
  stale: [web],
  previous: undefined,
  ...over,
});
const restarted = (over: Partial<ReloadStatus> = {}): ReloadStatus => ({ serialNumber: '0b0b', state: 'Restarted', time: new Date(now - MIN).toISOString(), workloads: ['Deployment/web'], message: 'm', ...over });

describe('decideReload', () => {
  it.each<[string, Partial<ReloadInput>, string, unknown?]>([
    ['not opted in', { reload: undefined }, 'none'],
    ['nothing issued yet', { serialNumber: undefined }, 'none'],
    ['every address current', { staleSince: undefined }, 'none'],
    ['stale for less than after (default 5m)', { staleSince: now - MIN }, 'wait', now - MIN + DEFAULT_RELOAD_AFTER_MS],
    ['stale for less than a custom after', { reload: { strategy: 'RolloutRestart', after: '20m' } }, 'wait', now + 10 * MIN],
    ['stale past after: the owning Deployment is restarted', {}, 'restart', [{ kind: 'Deployment', name: 'web' }]],
    [
      'several pods of two workloads: each restarted once',
      { stale: [web, { ...web, pod: 'web-7d9-fghij', address: '10.244.0.8' }, { ...web, pod: 'db-0', address: '10.244.0.9', workload: { kind: 'StatefulSet', name: 'db' } }] },
      'restart',
      [{ kind: 'Deployment', name: 'web' }, { kind: 'StatefulSet', name: 'db' }],
    ],
    ['a pod serving a certificate this Certificate never issued is not its to restart', { stale: [{ ...web, servesOlderOwnCertificate: false }] }, 'none'],
    ['an address without a pod (a hand-written slice) is not restartable', { stale: [{ ...web, pod: undefined }] }, 'none'],
    ['every stale pod terminating: wait for the replacements', { stale: [{ ...web, terminating: true }] }, 'wait', now + TERMINATING_RECHECK_MS],
    ['one terminating, one not: the other is restarted', { stale: [{ ...web, terminating: true }, { ...web, pod: 'web-2', workload: { kind: 'DaemonSet', name: 'agent' } }] }, 'restart', [{ kind: 'DaemonSet', name: 'agent' }]],
    ['a bare pod: reported, not restarted', { stale: [{ ...web, workload: undefined }] }, 'report', 'NotRestartable'],
    ['restarted for this certificate and now current: verified', { previous: restarted(), staleSince: undefined }, 'report', 'Verified'],
    ['restarted, still stale, before the verdict', { previous: restarted() }, 'wait', now - MIN + DEFAULT_RELOAD_AFTER_MS],
    ['restarted, still stale after the grace: StillStale', { previous: restarted({ time: new Date(now - 6 * MIN).toISOString() }) }, 'report', 'StillStale'],
    ['at most once per certificate: after a verdict, nothing more', { previous: restarted({ state: 'StillStale' }) }, 'none'],
    ['at most once per certificate: after Verified, nothing more even if stale again', { previous: restarted({ state: 'Verified' }) }, 'none'],
    ['NotRestartable is not retried for the same certificate', { previous: restarted({ state: 'NotRestartable' }) }, 'none'],
    ['a reload of an older certificate does not hold back the new one', { previous: restarted({ serialNumber: '0a0a', state: 'StillStale' }) }, 'restart', [{ kind: 'Deployment', name: 'web' }]],
  ])('%s', (_name, over, kind, detail) => {
    const d = decideReload(input(over));
    expect(d.kind).toBe(kind);
    if (d.kind === 'wait') expect(d.at).toBe(detail);
    if (d.kind === 'restart') expect(d.workloads).toEqual(detail);
    if (d.kind === 'report') expect(d.state).toBe(detail);
  });

  it('says what it restarts and why', () => {
    const d = decideReload(input({}));
    expect(d.kind === 'restart' && d.message).toBe('restarting Deployment/web: web-7d9-abcde served a stale certificate for 600s');
  });

  it('names the pods still stale when the restart did not help', () => {
    const d = decideReload(input({ previous: restarted({ time: new Date(now - 6 * MIN).toISOString() }) }));
    expect(d.kind === 'report' && d.message).toMatch(/^restarting Deployment\/web did not help: pod web-7d9-abcde \(10\.244\.0\.7\) still serve/);
  });
});
