import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKubeClients, type KubeClients } from '../../../src/kube/client.js';
import { patchStatus } from '../../../src/kube/status.js';
import { FakeApiServer, json, statusBody } from './fake-api-server.js';

const api = new FakeApiServer();
let clients: KubeClients;

beforeAll(async () => {
  clients = makeKubeClients(await api.start());
});
afterAll(() => api.stop());

describe('patchStatus', () => {
  it.each([
    {
      scope: 'namespaced',
      ref: { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'certificates', namespace: 'team-a', name: 'web' },
      path: '/apis/certkeeper.dev/v1alpha1/namespaces/team-a/certificates/web/status',
    },
    {
      scope: 'cluster-scoped',
      ref: { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'tlspolicies', name: 'default' },
      path: '/apis/certkeeper.dev/v1alpha1/tlspolicies/default/status',
    },
  ])('sends a JSON merge patch of {status} to the $scope status subresource', async ({ ref, path }) => {
    api.handler = (req, res) => json(res, 200, { metadata: { name: ref.name }, ...(JSON.parse(req.body) as object) });
    const status = { observedGeneration: 2, conditions: [{ type: 'Ready', status: 'True' }], notAfter: null };
    const result = await patchStatus(clients, ref, status);
    const req = api.requests.at(-1);
    expect(req?.method).toBe('PATCH');
    expect(req?.path).toBe(path);
    expect(req?.headers['content-type']).toBe('application/merge-patch+json');
    expect(req?.headers.authorization).toBe('Bearer test-token');
    expect(JSON.parse(req?.body ?? '')).toEqual({ status });
    expect(result).toEqual({ outcome: 'patched', object: { metadata: { name: ref.name }, status } });
  });

  it('treats a vanished object as a no-op', async () => {
    api.handler = (_req, res) => json(res, 404, statusBody(404, 'NotFound', 'certificates.certkeeper.dev "web" not found'));
    const result = await patchStatus(clients, { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'certificates', namespace: 'a', name: 'web' }, {});
    expect(result).toEqual({ outcome: 'notFound' });
  });

  it('surfaces other failures with the kind, name and server message', async () => {
    api.handler = (_req, res) => json(res, 422, statusBody(422, 'Invalid', 'status.conditions[0].status: Unsupported value: "Maybe"'));
    const ref = { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'certificates', namespace: 'a', name: 'web', kind: 'Certificate' };
    await expect(patchStatus(clients, ref, {})).rejects.toThrow(
      'patching status of Certificate.certkeeper.dev a/web: 422: status.conditions[0].status: Unsupported value: "Maybe"',
    );
  });
});
