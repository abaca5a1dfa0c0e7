import { afterEach, describe, expect, it } from 'vitest';
import { makeKubeClients } from '../../../src/kube/client.js';
import { apiErrorMessage, isConflict, isNotFound, retryAfterMs, statusCodeOf } from '../../../src/kube/errors.js';
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
});
