import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { V1ClusterRole } from '@kubernetes/client-node';
import { renderPlainManifests } from '../../hack/chart.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { ensureTools } from '../../hack/env/tools.js';
import { startTestOperator, uniqueSuffix } from '../support/certkeeper.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';

// /metrics and /inventory (every certificate of the cluster) answer only
// callers the API server vouches for (TokenReview) and RBAC allows
// (SubjectAccessReview on the non-resource URL), with the operator's default
// --http-auth=kubernetes; /healthz and /readyz stay open. The reader role is
// the chart's own, taken from `helm template`.

const suffix = uniqueSuffix();
const readerRole = `certkeeper-metrics-reader-${suffix}`;
let operator: OperatorProcess;
let namespace: string;
let cleanup: () => Promise<void>;

async function tokenOf(serviceAccount: string): Promise<string> {
  const { core } = testKube();
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: serviceAccount } } });
  const request = await core.createNamespacedServiceAccountToken({ namespace, name: serviceAccount, body: { spec: { audiences: [], expirationSeconds: 600 } } });
  const token = request.status?.token;
  if (token === undefined) throw new Error(`no token for ${serviceAccount}`);
  return token;
}

async function get(path: string, token?: string): Promise<{ status: number; body: string; challenge: string | null }> {
  const res = await fetch(`${operator.url}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.text(), challenge: res.headers.get('www-authenticate') };
}

beforeAll(async () => {
  const { helm } = await ensureTools();
  const ns = await createTestNamespace('http-auth');
  namespace = ns.name;
  cleanup = ns.cleanup;
  // The chart's reader role, as rendered, under a name of this file's own.
  const rbac = (await renderPlainManifests(helm)).get('rbac.yaml') ?? '';
  const role = parseAllDocuments(rbac)
    .map((d) => d.toJS() as V1ClusterRole)
    .find((d) => d.kind === 'ClusterRole' && d.metadata?.name?.endsWith('-metrics-reader') === true);
  if (role === undefined) throw new Error('the chart renders no metrics-reader ClusterRole');
  const { rbac: api } = testKube();
  await api.createClusterRole({ body: { ...role, metadata: { name: readerRole } } });
  await api.createClusterRoleBinding({
    body: {
      metadata: { name: readerRole },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: readerRole },
      subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace }],
    },
  });
  operator = await startTestOperator('http-auth', { httpAuth: 'kubernetes' });
}, 120_000);

afterAll(async () => {
  await operator?.process.stop();
  const { rbac } = testKube();
  await rbac.deleteClusterRoleBinding({ name: readerRole }).catch(() => undefined);
  await rbac.deleteClusterRole({ name: readerRole }).catch(() => undefined);
  await cleanup?.();
});

describe('who may read /metrics and /inventory', () => {
  it('asks for a token, refuses one RBAC does not allow, and answers one it does; health stays open', async () => {
    const reader = await tokenOf('prometheus');
    const nosy = await tokenOf('nosy');

    for (const path of ['/metrics', '/inventory']) {
      const anonymous = await get(path);
      expect([path, anonymous.status, anonymous.challenge]).toEqual([path, 401, 'Bearer realm="certkeeper"']);
      const forged = await get(path, 'not-a-token');
      expect([path, forged.status]).toEqual([path, 401]);
      const refused = await get(path, nosy);
      expect([path, refused.status]).toEqual([path, 403]);
      expect(refused.body).toContain(`system:serviceaccount:${namespace}:nosy may not get ${path}`);
    }
    const metrics = await get('/metrics', reader);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('certkeeper_');
    // The inventory answers 503 until its caches are synced; then 200 with JSON.
    const inventory = await waitFor(
      async ({ observe }) => {
        const r = await get('/inventory', reader);
        observe(r.status);
        return r.status === 200 ? r : undefined;
      },
      { description: '/inventory to answer the reader', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(JSON.parse(inventory.body)).toHaveProperty('entries');
    for (const path of ['/healthz', '/readyz']) expect([path, (await get(path)).status]).toEqual([path, 200]);
  });
});
