import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesiredAlert, PostableAlert } from '../../../src/alerts/model.js';
import { AlertSender, type AlertTarget } from '../../../src/alerts/sender.js';
import { alertMetrics } from '../../../src/alerts/metrics.js';
import { FakeClock } from '../../support/fake-clock.js';
import { silentLog } from '../kube/fake-lister-watcher.js';

class FakeAlertmanager implements AlertTarget {
  readonly posts: PostableAlert[][] = [];
  down = false;
  hang = false;
  constructor(readonly name: string) {}
  async post(alerts: readonly PostableAlert[], signal: AbortSignal): Promise<void> {
    if (this.hang) {
      await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
    }
    if (this.down) throw new Error('connect ECONNREFUSED');
    this.posts.push([...alerts]);
  }
  /** alertname -> endsAt of the last post. */
  last(): Record<string, string> {
    return Object.fromEntries((this.posts.at(-1) ?? []).map((a) => [a.labels.alertname ?? '', a.endsAt]));
  }
}

const alert = (name: string, startsAt = new Date('2025-12-31T00:00:00Z')): DesiredAlert => ({ labels: { alertname: name, severity: 'warning', namespace: 'n' }, annotations: { summary: name }, startsAt });

const senders: AlertSender[] = [];
afterEach(async () => {
  for (const s of senders.splice(0)) await s.stop();
});

function setup(o: { targets?: FakeAlertmanager[]; maxResolvedBacklog?: number } = {}) {
  const clock = new FakeClock();
  const targets = o.targets ?? [new FakeAlertmanager('am')];
  let desired: DesiredAlert[] | undefined = [];
  const registry = new Registry();
  const metrics = alertMetrics(registry);
  const sender = new AlertSender({
    clock,
    log: silentLog,
    targets,
    evaluate: () => desired,
    evaluationIntervalMs: 1_000,
    resendIntervalMs: 10_000,
    ...(o.maxResolvedBacklog === undefined ? {} : { maxResolvedBacklog: o.maxResolvedBacklog }),
    backoff: { initialMs: 500, maxMs: 4_000, random: () => 0.5 },
    metrics,
  });
  senders.push(sender);
  return {
    clock,
    sender,
    targets,
    am: targets[0] as FakeAlertmanager,
    registry,
    set: (next: DesiredAlert[] | undefined) => {
      desired = next;
    },
  };
}

const iso = (clock: FakeClock, plusMs: number) => new Date(clock.now() + plusMs).toISOString();

describe('AlertSender', () => {
  it('sends a new alert at once, with endsAt a few resend intervals ahead, and re-sends it on the interval', async () => {
    const { clock, sender, am, set } = setup();
    set([alert('A')]);
    sender.start();
    await clock.advance(0);
    expect(am.posts).toHaveLength(1);
    expect(am.posts[0]?.[0]).toMatchObject({ labels: { alertname: 'A' }, startsAt: '2025-12-31T00:00:00.000Z', endsAt: iso(clock, 40_000) });
    await clock.advance(9_000);
    expect(am.posts).toHaveLength(1);
    await clock.advance(1_000);
    expect(am.posts).toHaveLength(2);
  });

  it('sends nothing while the caches cannot tell, and nothing when nothing fires', async () => {
    const { clock, sender, am, set } = setup();
    set(undefined);
    sender.start();
    await clock.advance(5_000);
    set([]);
    await clock.advance(30_000);
    expect(am.posts).toEqual([]);
  });

  it('sends a resolved alert once with endsAt = now', async () => {
    const { clock, sender, am, set } = setup();
    set([alert('A'), alert('B')]);
    sender.start();
    await clock.advance(0);
    set([alert('B')]);
    await clock.advance(1_000);
    expect(am.last()).toEqual({ B: iso(clock, 40_000), A: iso(clock, 0) });
    await clock.advance(10_000);
    expect(am.last()).toEqual({ B: iso(clock, 40_000) });
  });

  it('keeps firing and resolved alerts for an Alertmanager that is down, retrying with backoff, and catches up when it is back', async () => {
    const { clock, sender, am, set, registry } = setup();
    am.down = true;
    set([alert('A'), alert('B')]);
    sender.start();
    await clock.advance(0);
    set([alert('B'), alert('C')]);
    // 500 ms, 1 s, 2 s, 4 s, 4 s ... between attempts.
    await clock.advance(8_000);
    const failures = (await registry.getSingleMetricAsString('certkeeper_alertmanager_send_failures_total')).match(/alertmanager="am"} (\d+)/)?.[1];
    expect(Number(failures)).toBeGreaterThanOrEqual(4);
    expect(sender.backlog().get('am')).toBe(1);
    am.down = false;
    await clock.advance(4_000);
    expect(am.posts).toHaveLength(1);
    expect(Object.keys(am.last()).sort()).toEqual(['A', 'B', 'C']);
    expect(am.last().A).toBe(am.posts[0]?.find((a) => a.labels.alertname === 'A')?.endsAt);
    expect(sender.backlog().get('am')).toBe(0);
  });

  it('bounds the resolved backlog and counts what it drops', async () => {
    const { clock, sender, am, set, registry } = setup({ maxResolvedBacklog: 2 });
    am.down = true;
    set(['A', 'B', 'C', 'D', 'E'].map((n) => alert(n)));
    sender.start();
    await clock.advance(0);
    set([]);
    await clock.advance(1_000);
    expect(sender.backlog().get('am')).toBe(2);
    expect(await registry.getSingleMetricAsString('certkeeper_alertmanager_resolved_dropped_total')).toContain('alertmanager="am"} 3');
    am.down = false;
    await clock.advance(5_000);
    expect(Object.keys(am.last()).sort()).toEqual(['D', 'E']);
  });

  it('an alert that fires again before its resolution got through is simply firing', async () => {
    const { clock, sender, am, set } = setup();
    set([alert('A')]);
    sender.start();
    await clock.advance(0);
    am.down = true;
    set([]);
    await clock.advance(1_000);
    set([alert('A')]);
    await clock.advance(1_000);
    am.down = false;
    await clock.advance(4_000);
    expect(am.last()).toEqual({ A: expect.any(String) as string });
    expect(Date.parse(am.last().A ?? '')).toBeGreaterThan(clock.now());
  });

  it('one Alertmanager down does not hold up another, and a hanging one does not stop evaluation', async () => {
    const down = new FakeAlertmanager('down');
    const hanging = new FakeAlertmanager('hanging');
    const up = new FakeAlertmanager('up');
    down.down = true;
    hanging.hang = true;
    const { clock, sender, set } = setup({ targets: [down, hanging, up] });
    set([alert('A')]);
    sender.start();
    await clock.advance(0);
    set([alert('B')]);
    await clock.advance(1_000);
    expect(Object.keys(up.last()).sort()).toEqual(['A', 'B']);
    expect(sender.current().map((a) => a.labels.alertname)).toEqual(['B']);
  });

  it('stop() ends in-flight requests and sends nothing more', async () => {
    const { clock, sender, am, set } = setup();
    am.hang = true;
    set([alert('A')]);
    sender.start();
    await clock.advance(0);
    await sender.stop();
    am.hang = false;
    await clock.advance(60_000);
    expect(am.posts).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('reports firing alerts by name and severity', async () => {
    const { clock, sender, set, registry } = setup();
    set([alert('A'), alert('B'), { ...alert('B'), labels: { alertname: 'B', severity: 'warning', namespace: 'm' } }]);
    sender.start();
    await clock.advance(0);
    const text = await registry.getSingleMetricAsString('certkeeper_alerts_firing');
    expect(text).toContain('certkeeper_alerts_firing{alertname="B",severity="warning"} 2');
  });
});
