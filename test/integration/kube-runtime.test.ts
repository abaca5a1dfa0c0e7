/**
 * src/kube/ against the real kube-apiserver: the informer's paginated LIST,
 * its WATCH (including server-side watch timeouts), leader election on a
 * real Lease, status patches and events.k8s.io Events. No operator runs here.
 */
import { PatchStrategy, setHeaderOptions, V1MicroTime, type CoreV1EventList, type EventsV1Event, type V1ConfigMap, type V1Lease, type V1Secret } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it, onTestFinished } from 'vitest';
import { certificate, type Certificate, type CertificateSpec } from '../../src/api/certificate.js';
import { API_VERSION, GROUP, VERSION } from '../../src/api/meta.js';
import { realClock } from '../../src/clock.js';
import { makeKubeClients, type KubeClients } from '../../src/kube/client.js';
import { isConflict } from '../../src/kube/errors.js';
import { EventRecorder, type ObjectReference } from '../../src/kube/events.js';
import { kubeListerWatcher, resourcePath } from '../../src/kube/kube-lister-watcher.js';
import { LeaderElector, type LeaseClient } from '../../src/kube/leader.js';
import type { KubeObject } from '../../src/kube/lister-watcher.js';
import { patchStatus, StatusPatchError } from '../../src/kube/status.js';
import { createLogger } from '../../src/log.js';
import { recording, startInformer, summary, synced } from '../support/informers.js';
import { adminKubeConfig, createTestNamespace, testKube, waitFor } from '../support/kube.js';

const log = createLogger('silent');
const admin = (): KubeClients => makeKubeClients(adminKubeConfig());
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface SecretSummary {
  name: string;
  type: string;
  labels: Record<string, string>;
  dataKeys: string[];
}

type RawSecret = V1Secret & KubeObject;

function summarizeSecret(raw: RawSecret): SecretSummary {
  return {
    name: raw.metadata?.name ?? '',
    type: raw.type ?? '',
    labels: raw.metadata?.labels ?? {},
    dataKeys: Object.keys(raw.data ?? {}).sort(),
  };
}

function secret(name: string, type: 'kubernetes.io/tls' | 'Opaque'): V1Secret {
  return {
    metadata: { name },
    type,
    stringData: type === 'Opaque' ? { password: 'hunter2' } : { 'tls.crt': `certificate of ${name}`, 'tls.key': `key of ${name}` },
  };
}

// ---------------------------------------------------------------------------

describe('Informer against the real API server', () => {
  it('lists TLS Secrets page by page, then follows adds, updates and deletes in order with a transformed cache', async () => {
    const kube = testKube();
    const { name: namespace } = await createTestNamespace('informer-secrets');
    const tlsNames = ['tls-0', 'tls-1', 'tls-2', 'tls-3', 'tls-4'];
    for (const name of tlsNames) await kube.core.createNamespacedSecret({ namespace, body: secret(name, 'kubernetes.io/tls') });
    for (const name of ['opaque-0', 'opaque-1']) await kube.core.createNamespacedSecret({ namespace, body: secret(name, 'Opaque') });

    const { listerWatcher, lists } = recording(kubeListerWatcher<RawSecret>(adminKubeConfig(), resourcePath({ version: 'v1', plural: 'secrets', namespace })));
    const { informer, events, errors } = startInformer<RawSecret, SecretSummary>({
      name: 'secrets',
      log,
      listerWatcher,
      fieldSelector: 'type=kubernetes.io/tls',
      pageSize: 2,
      transform: summarizeSecret,
    });
    await synced(informer);

    const key = (name: string): string => `${namespace}/${name}`;
    expect(informer.keys().sort()).toEqual(tlsNames.map(key));
    // Five objects in pages of two: three LIST requests chained by continue tokens.
    expect(lists.map((l) => ({ limit: l.limit, fieldSelector: l.fieldSelector, continued: l.continue !== undefined }))).toEqual([
      { limit: 2, fieldSelector: 'type=kubernetes.io/tls', continued: false },
      { limit: 2, fieldSelector: 'type=kubernetes.io/tls', continued: true },
      { limit: 2, fieldSelector: 'type=kubernetes.io/tls', continued: true },
    ]);
    // The cache holds the summary, never the key material.
    expect(informer.get(key('tls-0'))).toEqual({ name: 'tls-0', type: 'kubernetes.io/tls', labels: {}, dataKeys: ['tls.crt', 'tls.key'] });
    expect(summary(events).sort()).toEqual(tlsNames.map((n) => `add ${key(n)}`));
    await waitFor(() => (informer.state === 'watching' ? true : undefined), { description: 'the informer to watch' });

    const fromWatch = events.length;
    await kube.core.createNamespacedSecret({ namespace, body: secret('opaque-2', 'Opaque') });
    await kube.core.createNamespacedSecret({ namespace, body: secret('tls-5', 'kubernetes.io/tls') });
    await kube.core.patchNamespacedSecret({ namespace, name: 'tls-0', body: { metadata: { labels: { rev: '2' } } } }, MERGE_PATCH);
    await kube.core.deleteNamespacedSecret({ namespace, name: 'tls-1' });
    await kube.core.deleteNamespacedSecret({ namespace, name: 'opaque-0' });
    await kube.core.createNamespacedSecret({ namespace, body: secret('tls-6', 'kubernetes.io/tls') });

    const watched = await waitFor(
      ({ observe }) => {
        const seen = events.slice(fromWatch);
        observe(summary(seen));
        return seen.length >= 4 ? seen : undefined;
      },
      { description: 'four watch events', timeoutMs: 15_000 },
    );
    // The Opaque Secrets never show up: the field selector holds on the watch too.
    expect(summary(watched)).toEqual([`add ${key('tls-5')}`, `update ${key('tls-0')}`, `delete ${key('tls-1')}`, `add ${key('tls-6')}`]);
    const update = watched[1];
    expect(update?.obj.labels).toEqual({ rev: '2' });
    expect(update?.old?.labels).toEqual({});
    expect(informer.keys().sort()).toEqual(['tls-0', 'tls-2', 'tls-3', 'tls-4', 'tls-5', 'tls-6'].map(key));
    expect(informer.get(key('tls-0'))?.labels).toEqual({ rev: '2' });
    expect(informer.get(key('tls-1'))).toBeUndefined();
    expect(errors).toEqual([]);
  });

  it('caches Certificates of the CRD, parsed with the operator schema', async () => {
    const kube = testKube();
    const { name: namespace } = await createTestNamespace('informer-certs');
    const { informer, events, errors } = startInformer<KubeObject, Certificate>({
      name: 'certificates',
      log,
      listerWatcher: kubeListerWatcher(adminKubeConfig(), resourcePath({ group: GROUP, version: VERSION, plural: 'certificates', namespace })),
      transform: (raw) => certificate.parse(raw),
    });
    await synced(informer);
    expect(informer.size).toBe(0);

    const spec: CertificateSpec = { secretName: 'web-tls', dnsNames: ['web.example.com'], privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' } };
    await kube.customObjects.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'certificates',
      namespace,
      body: { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name: 'web', namespace }, spec },
    });
    const cached = await waitFor(() => informer.get(`${namespace}/web`), { description: 'the Certificate in the cache', timeoutMs: 15_000 });
    expect(cached.kind).toBe('Certificate');
    expect(cached.spec).toEqual(spec);
    expect(cached.metadata.generation).toBe(1);
    expect(summary(events)).toEqual([`add ${namespace}/web`]);
    expect(errors).toEqual([]);
  });

  it('reconnects after the server ends each watch and still delivers every event exactly once', async () => {
    const kube = testKube();
    const { name: namespace } = await createTestNamespace('informer-restart');
    const { listerWatcher, lists, watches } = recording(kubeListerWatcher<V1ConfigMap & KubeObject>(adminKubeConfig(), resourcePath({ version: 'v1', plural: 'configmaps', namespace })));
    const { informer, events, errors, states } = startInformer<V1ConfigMap & KubeObject, string>({
      name: 'configmaps',
      log,
      listerWatcher,
      // The API server closes every watch after a second.
      watchTimeoutSeconds: 1,
      transform: (raw) => raw.data?.value ?? '',
    });
    await synced(informer);

    // Changes spread over several watch lifetimes.
    const names = ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5'];
    for (const name of names) {
      await kube.core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { value: `${name}-v1` } } });
      await sleep(600);
    }
    await kube.core.patchNamespacedConfigMap({ namespace, name: 'cm-0', body: { data: { value: 'cm-0-v2' } } }, MERGE_PATCH);
    await sleep(1_200);
    await kube.core.deleteNamespacedConfigMap({ namespace, name: 'cm-1' });

    const key = (name: string): string => `${namespace}/${name}`;
    await waitFor(
      ({ observe }) => {
        observe(summary(events));
        return events.some((e) => e.type === 'delete') ? true : undefined;
      },
      { description: 'the delete of cm-1', timeoutMs: 15_000 },
    );
    // Give a duplicate, should a reconnect replay anything, time to arrive.
    const watchesBefore = watches.length;
    await waitFor(() => (watches.length >= watchesBefore + 2 ? true : undefined), { description: 'two more reconnections', timeoutMs: 10_000 });

    expect(summary(events)).toEqual([...names.map((n) => `add ${key(n)}`), `update ${key('cm-0')}`, `delete ${key('cm-1')}`]);
    expect(events.find((e) => e.type === 'update')).toMatchObject({ obj: 'cm-0-v2', old: 'cm-0-v1' });
    expect(informer.keys().sort()).toEqual(['cm-0', 'cm-2', 'cm-3', 'cm-4', 'cm-5'].map(key));
    expect(informer.get(key('cm-0'))).toBe('cm-0-v2');

    expect(watches.length, 'watch requests').toBeGreaterThanOrEqual(6);
    for (const request of watches) {
      expect(request).toMatchObject({ timeoutSeconds: 1, allowWatchBookmarks: true });
      expect(request.resourceVersion).not.toBe('');
    }
    // Resumed from where it was each time: one LIST, no relist.
    expect(lists).toHaveLength(1);
    expect(errors.map((e) => e.message)).toEqual([]);
    // Each server-side close led straight to a new watch: never a relist, never a backoff.
    expect(informer.state).toBe('watching');
    expect(states).toEqual(['listing', 'watching']);
  });
});

// ---------------------------------------------------------------------------
// Leader election

const LEASE_MS = 3_000;
const RENEW_MS = 2_000;
const RETRY_MS = 500;
const LEASE_NAME = 'certkeeper-leader';

interface Candidate {
  identity: string;
  elector: LeaderElector;
  /** Resolves when run() returns (leadership lost or released). */
  done: Promise<void>;
  finished: () => boolean;
  started: number;
  stopped: number;
  leadersSeen: string[];
}

function candidate(identity: string, namespace: string, coordination: LeaseClient): Candidate {
  const elector = new LeaderElector({
    clients: { coordination },
    namespace,
    name: LEASE_NAME,
    identity,
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_MS,
    retryPeriodMs: RETRY_MS,
    clock: realClock,
    log,
  });
  let finished = false;
  const c: Candidate = {
    identity,
    elector,
    done: Promise.resolve(),
    finished: () => finished,
    started: 0,
    stopped: 0,
    leadersSeen: [],
  };
  c.done = elector
    .run({
      onStartedLeading: () => {
        c.started++;
      },
      onStoppedLeading: () => {
        c.stopped++;
      },
      onNewLeader: (leader) => {
        c.leadersSeen.push(leader);
      },
    })
    .finally(() => {
      finished = true;
    });
  onTestFinished(() => elector.release());
  return c;
}

async function readLease(namespace: string): Promise<V1Lease> {
  return admin().coordination.readNamespacedLease({ namespace, name: LEASE_NAME });
}

/** Lease times come back as strings at runtime although typed as Date. */
function leaseMillis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'string') return Date.parse(value);
  throw new Error(`not a lease time: ${JSON.stringify(value)}`);
}

/**
 * A third party writes the Lease as its holder (renewed now, never again),
 * retrying when a candidate's renewal got in between its read and its write.
 * Returns when the write happened.
 */
async function takeLease(namespace: string, holder: string): Promise<number> {
  const coordination = admin().coordination;
  for (let attempt = 1; ; attempt++) {
    const current = await readLease(namespace);
    const now = Date.now();
    try {
      await coordination.replaceNamespacedLease({
        namespace,
        name: LEASE_NAME,
        body: {
          ...current,
          spec: { ...current.spec, holderIdentity: holder, renewTime: new V1MicroTime(now), acquireTime: new V1MicroTime(now), leaseDurationSeconds: LEASE_MS / 1000 },
        },
      });
      return now;
    } catch (err) {
      if (!isConflict(err) || attempt >= 5) throw err;
    }
  }
}

interface LeadershipChange {
  at: number;
  leaders: string[];
}

/**
 * Samples who leads every 20 ms until `until` holds, recording each change.
 * Fails if two candidates ever lead at once.
 */
async function followLeadership(candidates: Candidate[], until: (leaders: string[]) => boolean, timeoutMs: number): Promise<LeadershipChange[]> {
  const changes: LeadershipChange[] = [];
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const leaders = candidates.filter((c) => c.elector.isLeader()).map((c) => c.identity);
    if (leaders.length > 1) throw new Error(`two leaders at once: ${leaders.join(', ')}`);
    if (leaders.join() !== last) {
      last = leaders.join();
      changes.push({ at: Date.now(), leaders });
    }
    if (until(leaders)) return changes;
    if (Date.now() > deadline) throw new Error(`leadership did not settle within ${timeoutMs} ms: ${JSON.stringify(changes)}`);
    await sleep(20);
  }
}

function only<T>(items: T[], what: string): T {
  if (items.length !== 1 || items[0] === undefined) throw new Error(`expected exactly one ${what}, got ${items.length}`);
  return items[0];
}

describe('LeaderElector on a real Lease', () => {
  it('elects exactly one of two candidates and hands over quickly on release()', async () => {
    const { name: namespace } = await createTestNamespace('leader-release');
    const a = candidate('a', namespace, admin().coordination);
    const b = candidate('b', namespace, admin().coordination);

    await followLeadership([a, b], (leaders) => leaders.length === 1, 10_000);
    // Stays settled across several renewals: no second leader, no flapping.
    const steadyUntil = Date.now() + 2_500;
    const steady = await followLeadership([a, b], () => Date.now() >= steadyUntil, 5_000);
    expect(steady).toHaveLength(1);
    const leader = only([a, b].filter((c) => c.elector.isLeader()), 'leader');
    expect(steady[0]?.leaders).toEqual([leader.identity]);
    const standby = leader === a ? b : a;

    const held = await readLease(namespace);
    expect(held.spec?.holderIdentity).toBe(leader.identity);
    expect(held.spec?.leaseDurationSeconds).toBe(LEASE_MS / 1000);
    expect(Date.now() - leaseMillis(held.spec?.renewTime)).toBeLessThan(RENEW_MS);
    expect(standby.leadersSeen).toContain(leader.identity);

    const releasedAt = Date.now();
    await leader.elector.release();
    expect(leader.elector.isLeader()).toBe(false);
    expect(leader.finished()).toBe(true);
    expect({ started: leader.started, stopped: leader.stopped }).toEqual({ started: 1, stopped: 1 });

    const changes = await followLeadership([a, b], (leaders) => leaders.includes(standby.identity), 10_000);
    const takeoverMs = (changes.at(-1)?.at ?? Number.NaN) - releasedAt;
    // A freed lease is taken at the next retry, not after the lease duration.
    expect(takeoverMs).toBeLessThan(LEASE_MS - 500);
    const taken = await readLease(namespace);
    expect(taken.spec?.holderIdentity).toBe(standby.identity);
    expect(taken.spec?.leaseTransitions).toBe((held.spec?.leaseTransitions ?? 0) + 1);
    expect(standby.started).toBe(1);
  });

  it('replaces a leader whose renewals fail (RBAC revoked) only after the lease duration', async () => {
    const kube = testKube();
    const { name: namespace } = await createTestNamespace('leader-revoked');
    const user = `elector-${randomBytes(3).toString('hex')}`;
    await kube.rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: 'lease-writer' },
        rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
      },
    });
    await kube.rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: 'lease-writer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lease-writer' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
      },
    });
    const restricted = makeKubeClients(testKube({ user }).kubeconfig);
    const a = candidate('a', namespace, restricted.coordination);
    await followLeadership([a], (leaders) => leaders.includes('a'), 10_000);
    const b = candidate('b', namespace, admin().coordination);
    await sleep(LEASE_MS);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.leadersSeen).toEqual(['a']);

    const revokedAt = Date.now();
    await kube.rbac.deleteNamespacedRoleBinding({ namespace, name: 'lease-writer' });
    const changes = await followLeadership([a, b], (leaders) => leaders.includes('b'), 15_000);

    const lostAt = changes.find((c) => c.leaders.length === 0)?.at;
    const takenAt = changes.at(-1)?.at;
    if (lostAt === undefined || takenAt === undefined) throw new Error(`unexpected leadership timeline: ${JSON.stringify(changes)}`);
    // a gives up once renewDeadline has passed without a renewal...
    expect(lostAt - revokedAt).toBeLessThan(RENEW_MS + 2 * RETRY_MS);
    await a.done;
    expect({ started: a.started, stopped: a.stopped }).toEqual({ started: 1, stopped: 1 });
    // ...and b waits for the lease to expire: at least leaseDuration after a's last renewal,
    // which was at most one retry period before the revocation.
    expect(takenAt - revokedAt).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS - 100);
    expect(takenAt - revokedAt).toBeLessThan(LEASE_MS + 3 * RETRY_MS + 1_000);

    const lease = await readLease(namespace);
    expect(lease.spec?.holderIdentity).toBe('b');
    expect(lease.spec?.leaseTransitions).toBe(1);
  });

  it('steps down when a third party takes the Lease, and the standby waits until that holder expires', async () => {
    const { name: namespace } = await createTestNamespace('leader-thirdparty');
    const a = candidate('a', namespace, admin().coordination);
    await followLeadership([a], (leaders) => leaders.includes('a'), 10_000);
    const b = candidate('b', namespace, admin().coordination);
    await sleep(RETRY_MS * 2);
    expect(b.elector.isLeader()).toBe(false);

    // Someone else overwrites the Lease: held by "c", renewed now, never again.
    const takenByC = await takeLease(namespace, 'c');
    const changes = await followLeadership([a, b], (leaders) => leaders.includes('b'), 15_000);
    const lostAt = changes.find((c) => c.leaders.length === 0)?.at;
    const takenAt = changes.at(-1)?.at;
    if (lostAt === undefined || takenAt === undefined) throw new Error(`unexpected leadership timeline: ${JSON.stringify(changes)}`);
    // a notices at its next renewal...
    expect(lostAt - takenByC).toBeLessThan(RETRY_MS * 2 + 500);
    await a.done;
    expect(a.leadersSeen).toEqual(['a', 'c']);
    // ...and b takes over only once c's lease has run out.
    expect(takenAt - takenByC).toBeGreaterThanOrEqual(LEASE_MS);
    expect(takenAt - takenByC).toBeLessThan(LEASE_MS + 3 * RETRY_MS + 1_000);
    expect(b.leadersSeen).toEqual(['a', 'c', 'b']);
    expect((await readLease(namespace)).spec?.holderIdentity).toBe('b');
  });
});

// ---------------------------------------------------------------------------
// Status patches and Events

async function createCertificate(namespace: string, name: string): Promise<Certificate> {
  const created: unknown = await testKube().customObjects.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: 'certificates',
    namespace,
    body: { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name, namespace }, spec: { secretName: `${name}-tls`, dnsNames: [`${name}.example.com`] } },
  });
  return certificate.parse(created);
}

describe('patchStatus', () => {
  it('merges status into a namespaced Certificate without touching spec or generation', async () => {
    const { name: namespace } = await createTestNamespace('status-patch');
    await createCertificate(namespace, 'web');
    const ref = { group: GROUP, version: VERSION, plural: 'certificates', namespace, name: 'web', kind: 'Certificate' };
    const ready = { type: 'Ready', status: 'False', reason: 'Pending', message: 'waiting for issuance', lastTransitionTime: '2030-01-01T00:00:00Z', observedGeneration: 1 };

    const first = await patchStatus(admin(), ref, { conditions: [ready], observedGeneration: 1 });
    expect(first.outcome).toBe('patched');
    const second = await patchStatus(admin(), ref, { policy: 'platform-default' });
    if (second.outcome !== 'patched') throw new Error(`expected patched, got ${second.outcome}`);
    // A merge patch: the second writer's field joins the first writer's.
    expect(certificate.parse(second.object).status).toEqual({ conditions: [ready], observedGeneration: 1, policy: 'platform-default' });

    const stored = certificate.parse(
      await testKube().customObjects.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace, name: 'web' }),
    );
    expect(stored.status).toEqual({ conditions: [ready], observedGeneration: 1, policy: 'platform-default' });
    expect(stored.metadata.generation).toBe(1);
    expect(stored.spec).toEqual({ secretName: 'web-tls', dnsNames: ['web.example.com'] });
  });

  it('reports a missing Certificate as notFound', async () => {
    const { name: namespace } = await createTestNamespace('status-missing');
    const result = await patchStatus(admin(), { group: GROUP, version: VERSION, plural: 'certificates', namespace, name: 'absent' }, { policy: 'x' });
    expect(result).toEqual({ outcome: 'notFound' });
  });

  it('patches the status of a cluster-scoped TLSPolicy', async () => {
    const name = `status-${randomBytes(4).toString('hex')}`;
    const kube = testKube();
    await kube.customObjects.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: 'tlspolicies',
      body: { apiVersion: API_VERSION, kind: 'TLSPolicy', metadata: { name }, spec: { issuer: { selfSigned: {} } } },
    });
    onTestFinished(() => kube.customObjects.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name }).then(() => undefined));
    const result = await patchStatus(admin(), { group: GROUP, version: VERSION, plural: 'tlspolicies', name }, { issuerKind: 'selfSigned', certificates: 0 });
    expect(result.outcome).toBe('patched');
    const stored = (await kube.customObjects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tlspolicies', name })) as { status?: unknown };
    expect(stored.status).toEqual({ issuerKind: 'selfSigned', certificates: 0 });
  });

  it('throws a StatusPatchError carrying 422 when the server refuses the status', async () => {
    const { name: namespace } = await createTestNamespace('status-invalid');
    await createCertificate(namespace, 'web');
    const ref = { group: GROUP, version: VERSION, plural: 'certificates', namespace, name: 'web', kind: 'Certificate' };
    const failure = await patchStatus(admin(), ref, { renewalBasis: 'Whenever' }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StatusPatchError);
    expect((failure as StatusPatchError).status).toBe(422);
    expect((failure as StatusPatchError).message).toContain(`Certificate.${GROUP} ${namespace}/web`);
    expect((failure as StatusPatchError).message).toContain('status.renewalBasis');
  });
});

describe('EventRecorder', () => {
  async function eventsIn(namespace: string): Promise<EventsV1Event[]> {
    const list = await admin().events.listNamespacedEvent({ namespace });
    return list.items;
  }

  it('writes an events.k8s.io/v1 Event about a Certificate and counts repeats as a series', async () => {
    const { name: namespace } = await createTestNamespace('events');
    const cert = await createCertificate(namespace, 'web');
    const regarding: ObjectReference = { apiVersion: API_VERSION, kind: 'Certificate', name: 'web', namespace, uid: cert.metadata.uid ?? '' };
    expect(regarding.uid).not.toBe('');
    const recorder = new EventRecorder({ clients: admin(), clock: realClock, log, reportingController: 'certkeeper.dev/test', reportingInstance: 'test-1' });

    recorder.warning(regarding, 'IssuanceFailed', 'the CA refused the order', 'Issue');
    await recorder.flush();
    const [first, ...others] = await eventsIn(namespace);
    expect(others).toEqual([]);
    expect(first).toMatchObject({
      type: 'Warning',
      reason: 'IssuanceFailed',
      action: 'Issue',
      note: 'the CA refused the order',
      reportingController: 'certkeeper.dev/test',
      reportingInstance: 'test-1',
      regarding: { apiVersion: API_VERSION, kind: 'Certificate', name: 'web', namespace, uid: regarding.uid },
    });
    expect(first?.series).toBeUndefined();

    recorder.warning(regarding, 'IssuanceFailed', 'the CA refused the order', 'Issue');
    recorder.warning(regarding, 'IssuanceFailed', 'the CA refused the order', 'Issue');
    await recorder.flush();
    const repeated = await eventsIn(namespace);
    expect(repeated).toHaveLength(1);
    expect(repeated[0]?.metadata?.name).toBe(first?.metadata?.name);
    expect(repeated[0]?.series?.count).toBe(3);
    expect(leaseMillis(repeated[0]?.series?.lastObservedTime)).toBeGreaterThanOrEqual(leaseMillis(first?.eventTime));

    // A different message is a different Event.
    recorder.normal(regarding, 'Issued', 'certificate issued, valid until 2031-01-01');
    await recorder.flush();
    const all = await eventsIn(namespace);
    expect(all.map((e) => e.reason).sort()).toEqual(['IssuanceFailed', 'Issued']);

    // kubectl describe reads core/v1 Events: the same object is visible there.
    const core: CoreV1EventList = await testKube().core.listNamespacedEvent({ namespace, fieldSelector: 'reason=IssuanceFailed' });
    expect(core.items).toHaveLength(1);
    expect(core.items[0]?.involvedObject).toMatchObject({ kind: 'Certificate', name: 'web', uid: regarding.uid });
    expect(core.items[0]?.series?.count).toBe(3);
  });
});
