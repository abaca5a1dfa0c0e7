import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import type { Certificate } from '../../src/api/certificate.js';
import { realClock } from '../../src/clock.js';
import type { TlsSecretState } from '../../src/model/secret.js';
import { tlsSecretState } from '../../src/secrets/summary.js';
import { Informer } from '../../src/kube/informer.js';
import { kubeListerWatcher, resourcePath } from '../../src/kube/kube-lister-watcher.js';
import type { KubeObject } from '../../src/kube/lister-watcher.js';
import { createLogger } from '../../src/log.js';
import { createCaSecret, createCertificate, createPolicy, deletePolicy, startTestOperator, uniqueSuffix } from '../support/certkeeper.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';

// The operator as a process: leader election between two of them, and crashes
// (SIGKILL) at random moments while a batch is being issued.

const caSecret = `it-ca-${uniqueSuffix()}`;
const policy = `it-proc-${uniqueSuffix()}`;
const running: OperatorProcess[] = [];

beforeAll(async () => {
  await createCaSecret(caSecret);
  await createPolicy(policy, { issuer: { ca: { secretName: caSecret } } });
});

afterAll(async () => {
  for (const op of running) await op.process.stop();
  await deletePolicy(policy);
});

async function readyCount(namespace: string): Promise<{ ready: number; total: number }> {
  const list = (await testKube().customObjects.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace })) as { items: Certificate[] };
  const ready = list.items.filter((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
  return { ready, total: list.items.length };
}

async function createBatch(namespace: string, prefix: string, count: number, algorithm: 'RSA' | 'ECDSA' = 'ECDSA'): Promise<void> {
  for (let i = 0; i < count; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, (_, j) =>
        createCertificate(namespace, `${prefix}-${i + j}`, {
          secretName: `${prefix}-${i + j}-tls`,
          dnsNames: [`${prefix}-${i + j}.example.com`],
          privateKey: { algorithm, encoding: 'PKCS1', rotationPolicy: 'Always' },
          policyRef: { name: policy },
        }),
      ),
    );
  }
}

async function waitAllReady(namespace: string, count: number, timeoutMs: number): Promise<void> {
  await waitFor(
    async ({ observe }) => {
      const c = await readyCount(namespace);
      observe(c);
      return c.ready === count && c.total === count ? true : undefined;
    },
    { description: `${count} Certificates in ${namespace} Ready`, timeoutMs, intervalMs: 500 },
  );
}

const log = (op: OperatorProcess) => readFileSync(op.process.record.logFile, 'utf8');

describe('leader election between two operator processes', () => {
  it('only the leader reconciles; killing it lets the standby take over and finish the work', async () => {
    const ns = await createTestNamespace('leader');
    const a = await startTestOperator('leader-a', { leaderElect: true, identity: `a-${uniqueSuffix()}` });
    running.push(a);
    await waitFor(() => (log(a).includes('caches synced, controllers started') ? true : undefined), { description: 'operator a leads' });
    const b = await startTestOperator('leader-b', { leaderElect: true, identity: `b-${uniqueSuffix()}` });
    running.push(b);

    await createBatch(ns.name, 'first', 5);
    await waitAllReady(ns.name, 5, 30_000);
    const lease = await testKube().kubeconfig.makeApiClient((await import('@kubernetes/client-node')).CoordinationV1Api).readNamespacedLease({ name: 'certkeeper-operator', namespace: 'certkeeper' });
    expect(lease.spec?.holderIdentity).toBe(a.identity);
    // The standby never started its controllers, so it cannot have written anything.
    expect(log(b)).not.toContain('controllers started');
    expect(log(b)).not.toContain('"msg":"issuing"');
    expect(log(a)).toContain('"msg":"issuing"');

    a.process.killNow();
    await a.process.exited;
    await createBatch(ns.name, 'second', 5);
    // The lease must expire first (15 s), then b campaigns (every 2 s).
    await waitAllReady(ns.name, 10, 45_000);
    expect(log(b)).toContain('became leader');
    expect(log(b)).toContain('"msg":"issuing"');
    await b.process.stop();
  });
});

describe('crash safety', () => {
  it('50 Certificates become Ready across repeated SIGKILLs, and no Secret ever holds a key that does not match its certificate', async () => {
    const ns = await createTestNamespace('crash');
    const kube = testKube();
    // Watch every version of every TLS Secret in the namespace while the operator is being killed.
    const seen: { key: string; state: TlsSecretState['state'] }[] = [];
    const watcher = new Informer<V1Secret & KubeObject, TlsSecretState>({
      name: 'crash-watch',
      listerWatcher: kubeListerWatcher(kube.kubeconfig, resourcePath({ version: 'v1', plural: 'secrets', namespace: ns.name })),
      fieldSelector: 'type=kubernetes.io/tls',
      transform: tlsSecretState,
      clock: realClock,
      log: createLogger('silent'),
    });
    const record = (key: string, s: TlsSecretState): void => {
      seen.push({ key, state: s.state });
    };
    watcher.on('add', record);
    watcher.on('update', record);
    watcher.start();
    await watcher.waitForSync();

    await createBatch(ns.name, 'c', 50, 'RSA');
    const random = mulberry32(7);
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      const op = await startTestOperator(`crash-${round}`);
      running.push(op);
      await new Promise((r) => setTimeout(r, 300 + Math.floor(random() * 1500)));
      op.process.killNow();
      await op.process.exited;
      kills++;
    }
    const last = await startTestOperator('crash-final');
    running.push(last);
    await waitAllReady(ns.name, 50, 90_000);
    await last.process.stop();
    await watcher.stop();

    expect(kills).toBe(6);
    const bad = seen.filter((s) => s.state !== 'valid');
    expect(bad).toEqual([]);
    expect(new Set(seen.map((s) => s.key)).size).toBe(50);
    // Every Secret written was complete and matching; each Certificate's Secret exists.
    const secrets = await kube.core.listNamespacedSecret({ namespace: ns.name, fieldSelector: 'type=kubernetes.io/tls' });
    expect(secrets.items.length).toBe(50);
    for (const s of secrets.items) expect(tlsSecretState(s).state).toBe('valid');
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
