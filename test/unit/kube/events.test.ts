import type { EventsV1Event } from '@kubernetes/client-node';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makeKubeClients, type KubeClients } from '../../../src/kube/client.js';
import { EventRecorder, type EventsClient, type ObjectReference } from '../../../src/kube/events.js';
import { FakeClock } from '../../support/fake-clock.js';
import { FakeApiServer, json, statusBody } from './fake-api-server.js';
import { silentLog } from './fake-lister-watcher.js';
import { MERGE_PATCH } from '../../../src/kube/raw-apis.js';

const api = new FakeApiServer();
let clients: KubeClients;
const cert: ObjectReference = { apiVersion: 'certkeeper.dev/v1alpha1', kind: 'Certificate', namespace: 'team-a', name: 'web', uid: 'u-1' };
const policy: ObjectReference = { apiVersion: 'certkeeper.dev/v1alpha1', kind: 'TLSPolicy', name: 'default' };

beforeAll(async () => {
  clients = makeKubeClients(await api.start());
});
afterAll(() => api.stop());

function recorder(clock: FakeClock, options: { failCreate?: boolean; missingOnPatch?: boolean } = {}) {
  api.requests.length = 0;
  api.handler = (req, res) => {
    if (req.method === 'POST') {
      if (options.failCreate === true) return json(res, 500, statusBody(500, 'InternalError', 'etcd unavailable'));
      return json(res, 201, JSON.parse(req.body));
    }
    if (options.missingOnPatch === true) return json(res, 404, statusBody(404, 'NotFound', 'gone'));
    return json(res, 200, {});
  };
  return new EventRecorder({ clients, clock, log: silentLog, reportingInstance: 'certkeeper-0', dedupeWindowMs: 60_000 });
}

const posts = () => api.requests.filter((r) => r.method === 'POST').map((r) => ({ path: r.path, body: JSON.parse(r.body) as EventsV1Event }));
const patches = () => api.requests.filter((r) => r.method === 'PATCH');

describe('EventRecorder', () => {
  let clock: FakeClock;
  beforeEach(() => {
    clock = new FakeClock(Date.parse('2026-03-01T10:00:00.123Z'));
  });

  it('creates an events.k8s.io/v1 Event in the object namespace', async () => {
    const events = recorder(clock);
    events.warning(cert, 'IssuanceFailed', 'ACME order failed: rate limited', 'Issue');
    await events.flush();
    const [post] = posts();
    expect(post?.path).toBe('/apis/events.k8s.io/v1/namespaces/team-a/events');
    expect(post?.body).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'team-a' },
      type: 'Warning',
      reason: 'IssuanceFailed',
      note: 'ACME order failed: rate limited',
      action: 'Issue',
      reportingController: 'certkeeper.dev/operator',
      reportingInstance: 'certkeeper-0',
      regarding: cert,
      eventTime: '2026-03-01T10:00:00.123000Z', // MicroTime: six fractional digits
    });
    expect(post?.body.metadata?.name).toMatch(/^web\.[0-9a-f]+$/);
  });

  it('puts events about cluster-scoped objects in "default"', async () => {
    const events = recorder(clock);
    events.normal(policy, 'IssuerReady', 'ACME account registered');
    await events.flush();
    expect(posts()[0]?.path).toBe('/apis/events.k8s.io/v1/namespaces/default/events');
    expect(posts()[0]?.body.action).toBe('IssuerReady');
  });

  it('turns repeats within the window into a series patch, and starts over after it', async () => {
    const events = recorder(clock);
    events.warning(cert, 'IssuanceFailed', 'boom');
    await events.flush();
    await clock.advance(10_000);
    events.warning(cert, 'IssuanceFailed', 'boom');
    events.warning(cert, 'IssuanceFailed', 'boom');
    events.warning(cert, 'IssuanceFailed', 'different message');
    await events.flush();

    expect(posts()).toHaveLength(2);
    const name = posts()[0]?.body.metadata?.name ?? '';
    expect(patches().map((p) => ({ path: p.path, type: p.headers['content-type'], body: JSON.parse(p.body) as unknown }))).toEqual([
      {
        path: `/apis/events.k8s.io/v1/namespaces/team-a/events/${name}`,
        type: 'application/merge-patch+json',
        body: { series: { count: 2, lastObservedTime: '2026-03-01T10:00:10.123000Z' } },
      },
      {
        path: `/apis/events.k8s.io/v1/namespaces/team-a/events/${name}`,
        type: 'application/merge-patch+json',
        body: { series: { count: 3, lastObservedTime: '2026-03-01T10:00:10.123000Z' } },
      },
    ]);

    await clock.advance(60_000);
    events.warning(cert, 'IssuanceFailed', 'boom');
    await events.flush();
    expect(posts()).toHaveLength(3);
    expect(patches()).toHaveLength(2);
  });

  it('creates a new Event when the one in the series has expired', async () => {
    const events = recorder(clock, { missingOnPatch: true });
    events.normal(cert, 'Issued', 'ok');
    events.normal(cert, 'Issued', 'ok');
    await events.flush();
    expect(patches()).toHaveLength(1);
    expect(posts()).toHaveLength(2);
  });

  it('never throws to the caller when the API fails', async () => {
    const events = recorder(clock, { failCreate: true });
    expect(() => events.warning(cert, 'IssuanceFailed', 'boom')).not.toThrow();
    await expect(events.flush()).resolves.toBeUndefined();
    expect(posts()).toHaveLength(1);
  });

  it('logs a refusal because the namespace is being deleted at debug, and a real failure as a warning', async () => {
    const lines: { level: number; msg: string }[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
    api.requests.length = 0;
    let terminating = true;
    api.handler = (_req, res) =>
      terminating
        ? json(res, 403, { ...statusBody(403, 'Forbidden', 'events.events.k8s.io "web.1" is forbidden: unable to create new content in namespace team-a because it is being terminated'), details: { causes: [{ reason: 'NamespaceTerminating' }] } })
        : json(res, 403, statusBody(403, 'Forbidden', 'events.events.k8s.io is forbidden: User "system:serviceaccount:certkeeper:certkeeper" cannot create resource "events"'));
    const events = new EventRecorder({ clients, clock, log, reportingInstance: 'certkeeper-0', dedupeWindowMs: 60_000 });
    events.warning(cert, 'IssuanceFailed', 'boom');
    await events.flush();
    terminating = false;
    events.warning(cert, 'IssuanceFailed', 'other');
    await events.flush();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [20, 'event not recorded: its namespace is being deleted'],
      [40, 'could not record event'],
    ]);
  });

  it('truncates notes to 1 KiB', async () => {
    const events = recorder(clock);
    events.normal(cert, 'Issued', 'é'.repeat(2000));
    await events.flush();
    const note = posts()[0]?.body.note ?? '';
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(note.endsWith('...')).toBe(true);
  });

  it('drops events beyond the in-flight bound instead of queueing without limit, and logs the burst once', async () => {
    const calls: string[] = [];
    let release: () => void = () => undefined;
    let gate = new Promise<void>((resolve) => (release = resolve));
    const hanging: EventsClient = {
      patchContentType: MERGE_PATCH,
      createNamespacedEvent: async (param) => {
        calls.push(param.body.reason ?? '');
        await gate;
        return param.body;
      },
      patchNamespacedEvent: () => Promise.reject(new Error('unused')),
    };
    const lines: { msg: string; dropped?: number; byReason?: Record<string, number> }[] = [];
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
    const registry = new Registry();
    const events = new EventRecorder({ clients: { events: hanging }, clock, log, maxInFlight: 3, registry });
    for (let i = 0; i < 3; i++) events.normal(cert, `Reason${i}`, 'n');
    for (let i = 0; i < 200; i++) events.warning(cert, i % 2 === 0 ? 'Flood' : 'Other', `n${i}`);
    expect(events.dropped).toBe(200);
    expect(lines.map((l) => l.msg)).toEqual(['too many events in flight; dropping events until the writes drain']);
    release();
    await events.flush();
    expect(calls).toEqual(['Reason0', 'Reason1', 'Reason2']);
    expect(lines.slice(1)).toEqual([expect.objectContaining({ msg: 'events dropped while too many were in flight', dropped: 200, byReason: { Flood: 100, Other: 100 } })]);
    const metric = await registry.getSingleMetric('certkeeper_events_dropped_total')?.get();
    expect(metric?.values.map((v) => [v.labels.reason, v.value])).toEqual([
      ['Flood', 100],
      ['Other', 100],
    ]);

    // A second burst logs again; writes accepted between bursts log nothing.
    gate = new Promise<void>((resolve) => (release = resolve));
    events.normal(cert, 'After', 'n');
    expect(lines).toHaveLength(2);
    for (let i = 0; i < 4; i++) events.normal(cert, `Again${i}`, 'n');
    expect(events.dropped).toBe(202);
    expect(lines).toHaveLength(3);
    release();
    await events.flush();
    expect(calls.slice(3)).toEqual(['After', 'Again0', 'Again1']);
    expect(lines.at(-1)).toEqual(expect.objectContaining({ msg: 'events dropped while too many were in flight', dropped: 2 }));
  });
});
