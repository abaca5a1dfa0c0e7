import { CustomObjectsApi } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { makeKubeClients } from '../../../src/kube/client.js';
import { apiErrorMessage, isConflict, isNotFound, retryAfterMs, statusCodeOf } from '../../../src/kube/errors.js';
import { MERGE_PATCH } from '../../../src/kube/raw-apis.js';
import type { CustomObjectCalls } from '../../../src/kube/resources.js';
import { patchStatus } from '../../../src/kube/status.js';
import { FakeApiServer, json } from './fake-api-server.js';

// The issuance path's raw requests (raw-json.ts) send what client-node sent
// and fail the way client-node failed, so callers and error helpers agree.

const server = new FakeApiServer();
afterEach(() => server.stop());

describe('raw JSON calls', () => {
  it('send the Secret, status patch and Event requests with credentials, and answer the parsed JSON', async () => {
    const clients = makeKubeClients(await server.start());
    server.handler = (req, res) => json(res, req.method === 'POST' ? 201 : 200, { kind: 'Echo', metadata: { resourceVersion: '7' }, path: req.path });
    const created = await clients.core.createNamespacedSecret({ namespace: 'ns a', body: { metadata: { name: 's' }, data: { 'tls.crt': 'eA==' } } });
    expect(created.metadata?.resourceVersion).toBe('7');
    await clients.core.replaceNamespacedSecret({ name: 's', namespace: 'ns', body: { metadata: { name: 's', resourceVersion: '7' } } });
    await clients.core.readNamespacedSecret({ name: 's', namespace: 'ns' });
    expect(await patchStatus(clients, { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'certificates', namespace: 'ns', name: 'c' }, { revision: 2 })).toMatchObject({ outcome: 'patched' });
    await clients.events.createNamespacedEvent({ namespace: 'ns', body: { metadata: { name: 'e' }, eventTime: new Date(0) } });
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.headers['content-type'] ?? ''}`)).toEqual([
      'POST /api/v1/namespaces/ns%20a/secrets application/json',
      'PUT /api/v1/namespaces/ns/secrets/s application/json',
      'GET /api/v1/namespaces/ns/secrets/s ',
      'PATCH /apis/certkeeper.dev/v1alpha1/namespaces/ns/certificates/c/status application/merge-patch+json',
      'POST /apis/events.k8s.io/v1/namespaces/ns/events application/json',
    ]);
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer test-token')).toBe(true);
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({ metadata: { name: 's' }, data: { 'tls.crt': 'eA==' } });
    expect(JSON.parse(server.requests[3]?.body ?? '')).toEqual({ status: { revision: 2 } });
  });

  it('fail like client-node: status code, Status message, Retry-After', async () => {
    const clients = makeKubeClients(await server.start());
    server.handler = (_req, res) => json(res, 409, { kind: 'Status', code: 409, reason: 'Conflict', message: 'the object has been modified' });
    const conflict: unknown = await clients.core.replaceNamespacedSecret({ name: 's', namespace: 'ns', body: {} }).catch((err: unknown) => err);
    expect(isConflict(conflict)).toBe(true);
    expect(apiErrorMessage(conflict)).toBe('the object has been modified');
    server.handler = (_req, res) => json(res, 404, { kind: 'Status', code: 404, reason: 'NotFound', message: 'secrets "s" not found' });
    const missing: unknown = await clients.core.readNamespacedSecret({ name: 's', namespace: 'ns' }).catch((err: unknown) => err);
    expect(isNotFound(missing)).toBe(true);
    expect(await patchStatus(clients, { group: 'g', version: 'v1', plural: 'p', name: 'c' }, {})).toEqual({ outcome: 'notFound' });
    server.handler = (_req, res) => {
      res.setHeader('Retry-After', '3');
      json(res, 400, { kind: 'Status', code: 400, message: 'bad' });
    };
    const bad: unknown = await clients.events.createNamespacedEvent({ namespace: 'ns', body: { eventTime: new Date(0) } }).catch((err: unknown) => err);
    expect(statusCodeOf(bad)).toBe(400);
    expect(retryAfterMs(bad)).toBe(3000);
  });

  it("send every other call of certkeeper's to its path: names escaped, list parameters, merge patches, deletes", async () => {
    const clients = makeKubeClients(await server.start());
    server.handler = (req, res) => json(res, 200, { items: [], metadata: { continue: '' }, path: req.path });
    const ns = 'team/a';
    const gateway = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
    const calls: [string, () => Promise<unknown>][] = [
      ['DELETE /api/v1/namespaces/team%2Fa/secrets/s%3F ', () => clients.core.deleteNamespacedSecret({ namespace: ns, name: 's?' })],
      ['GET /api/v1/namespaces/team%2Fa/secrets?fieldSelector=type%3DOpaque&limit=100&continue=abc ', () => clients.core.listNamespacedSecret({ namespace: ns, fieldSelector: 'type=Opaque', limit: 100, _continue: 'abc' })],
      ['GET /api/v1/secrets?limit=5 ', () => clients.core.listSecretForAllNamespaces({ limit: 5 })],
      ['POST /api/v1/namespaces/team%2Fa/configmaps application/json', () => clients.core.createNamespacedConfigMap({ namespace: ns, body: {} })],
      ['PUT /api/v1/namespaces/team%2Fa/configmaps/m application/json', () => clients.core.replaceNamespacedConfigMap({ namespace: ns, name: 'm', body: {} })],
      ['DELETE /api/v1/namespaces/team%2Fa/configmaps/m ', () => clients.core.deleteNamespacedConfigMap({ namespace: ns, name: 'm' })],
      ['POST /api/v1/namespaces/team%2Fa/services application/json', () => clients.core.createNamespacedService({ namespace: ns, body: {} })],
      ['DELETE /api/v1/namespaces/team%2Fa/services/svc ', () => clients.core.deleteNamespacedService({ namespace: ns, name: 'svc' })],
      ['GET /api/v1/namespaces/team%2Fa/pods/p ', () => clients.core.readNamespacedPod({ namespace: ns, name: 'p' })],
      ['GET /api/v1/namespaces/team%2Fa ', () => clients.core.readNamespace({ name: ns })],
      ['GET /api/v1/namespaces?limit=2 ', () => clients.core.listNamespace({ limit: 2 })],
      ['GET /apis/coordination.k8s.io/v1/namespaces/team%2Fa/leases/l ', () => clients.coordination.readNamespacedLease({ namespace: ns, name: 'l' })],
      ['POST /apis/coordination.k8s.io/v1/namespaces/team%2Fa/leases application/json', () => clients.coordination.createNamespacedLease({ namespace: ns, body: {} })],
      ['PUT /apis/coordination.k8s.io/v1/namespaces/team%2Fa/leases/l application/json', () => clients.coordination.replaceNamespacedLease({ namespace: ns, name: 'l', body: {} })],
      ['DELETE /apis/coordination.k8s.io/v1/namespaces/team%2Fa/leases/l ', () => clients.coordination.deleteNamespacedLease({ namespace: ns, name: 'l' })],
      ['GET /apis/coordination.k8s.io/v1/namespaces/team%2Fa/leases?labelSelector=certkeeper.dev%2Fmember-of%3Dx ', () => clients.coordination.listNamespacedLease({ namespace: ns, labelSelector: 'certkeeper.dev/member-of=x' })],
      ['PATCH /apis/events.k8s.io/v1/namespaces/team%2Fa/events/e application/merge-patch+json', () => clients.events.patchNamespacedEvent({ namespace: ns, name: 'e', body: {} })],
      ['GET /apis/events.k8s.io/v1/namespaces/team%2Fa/events?fieldSelector=regarding.name%3Dc&limit=100 ', () => clients.events.listNamespacedEvent({ namespace: ns, fieldSelector: 'regarding.name=c', limit: 100 })],
      ['GET /apis/gateway.networking.k8s.io/v1/namespaces/team%2Fa/httproutes/r ', () => clients.customObjects.getNamespacedCustomObject({ ...gateway, namespace: ns, name: 'r' })],
      ['GET /apis/gateway.networking.k8s.io/v1/httproutes/r ', () => clients.customObjects.getClusterCustomObject({ ...gateway, name: 'r' })],
      ['GET /apis/gateway.networking.k8s.io/v1/namespaces/team%2Fa/httproutes?limit=1 ', () => clients.customObjects.listNamespacedCustomObject({ ...gateway, namespace: ns, limit: 1 })],
      ['GET /apis/gateway.networking.k8s.io/v1/httproutes?continue=k ', () => clients.customObjects.listClusterCustomObject({ ...gateway, _continue: 'k' })],
      ['POST /apis/gateway.networking.k8s.io/v1/namespaces/team%2Fa/httproutes application/json', () => clients.customObjects.createNamespacedCustomObject({ ...gateway, namespace: ns, body: {} })],
      ['DELETE /apis/gateway.networking.k8s.io/v1/namespaces/team%2Fa/httproutes/r ', () => clients.customObjects.deleteNamespacedCustomObject({ ...gateway, namespace: ns, name: 'r' })],
      ['PATCH /apis/gateway.networking.k8s.io/v1/namespaces/team%2Fa/httproutes/r application/merge-patch+json', () => clients.customObjects.patchNamespacedCustomObject({ ...gateway, namespace: ns, name: 'r', body: {} })],
      ['PATCH /apis/gateway.networking.k8s.io/v1/httproutes/r application/merge-patch+json', () => clients.customObjects.patchClusterCustomObject({ ...gateway, name: 'r', body: {} })],
      ['PATCH /apis/gateway.networking.k8s.io/v1/httproutes/r/status application/merge-patch+json', () => clients.customObjects.patchClusterCustomObjectStatus({ ...gateway, name: 'r', body: {} })],
      ['POST /apis/networking.k8s.io/v1/namespaces/team%2Fa/ingresses application/json', () => clients.networking.createNamespacedIngress({ namespace: ns, body: {} })],
      ['DELETE /apis/networking.k8s.io/v1/namespaces/team%2Fa/ingresses/i ', () => clients.networking.deleteNamespacedIngress({ namespace: ns, name: 'i' })],
      ['PATCH /apis/apps/v1/namespaces/team%2Fa/deployments/d application/merge-patch+json', () => clients.apps.patchNamespacedDeployment({ namespace: ns, name: 'd', body: {} })],
      ['PATCH /apis/apps/v1/namespaces/team%2Fa/statefulsets/d application/merge-patch+json', () => clients.apps.patchNamespacedStatefulSet({ namespace: ns, name: 'd', body: {} })],
      ['PATCH /apis/apps/v1/namespaces/team%2Fa/daemonsets/d application/merge-patch+json', () => clients.apps.patchNamespacedDaemonSet({ namespace: ns, name: 'd', body: {} })],
      ['GET /apis/apps/v1/namespaces/team%2Fa/replicasets/rs ', () => clients.apps.readNamespacedReplicaSet({ namespace: ns, name: 'rs' })],
      ['POST /apis/authentication.k8s.io/v1/tokenreviews application/json', () => clients.authentication.createTokenReview({ body: { spec: { token: 't' } } })],
      ['POST /apis/authorization.k8s.io/v1/subjectaccessreviews application/json', () => clients.authorization.createSubjectAccessReview({ body: { spec: {} } })],
    ];
    for (const [, send] of calls) await send();
    const sent = server.requests.slice(-calls.length);
    expect(sent.map((r) => `${r.method} ${r.path}${r.query.size === 0 ? '' : `?${r.query.toString()}`} ${r.headers['content-type'] ?? ''}`)).toEqual(calls.map(([expected]) => expected));
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer test-token')).toBe(true);
  });

  it('mark the patching clients, so a generated class (JSON Patch by default) is refused where they are asked for', async () => {
    const kc = await server.start();
    const clients = makeKubeClients(kc);
    // The mark passes through the retrying proxies makeKubeClients wraps them in.
    expect([clients.customObjects.patchContentType, clients.events.patchContentType, clients.apps.patchContentType]).toEqual([MERGE_PATCH, MERGE_PATCH, MERGE_PATCH]);
    const generated = kc.makeApiClient(CustomObjectsApi);
    // @ts-expect-error: the check this test stands for is the compiler's: a generated class sends a merge body as JSON Patch (400).
    const refused: CustomObjectCalls = generated;
    expect(refused).toBe(generated);
  });
});

