/**
 * The shared test environment itself: what every other integration test
 * relies on, checked against the real processes.
 */
import { ApiException, VersionApi } from '@kubernetes/client-node';
import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { readCrds } from '../../hack/env/crds.js';
import { REPO_ROOT } from '../../hack/env/tools.js';
import { httpFetch } from '../../hack/env/http.js';
import { adminKubeConfig, createTestNamespace, TEST_NAMESPACE_LABEL, testKube, waitFor } from '../support/kube.js';

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

describe('kube-apiserver', () => {
  it('is v1.34.x on etcd 3.6.x, and says so', async () => {
    const version = await adminKubeConfig().makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.34\.\d+$/);
    expect(inject('envVersions').kubeApiserver).toBe(version.gitVersion);
    expect(inject('envVersions').etcd).toMatch(/^3\.6\.\d+$/);
  });

  it('enforces RBAC: an impersonated unprivileged user may not list secrets, the admin may', async () => {
    const nobody = 'certkeeper-test-nobody';
    expect(await statusOf(testKube({ user: nobody }).core.listNamespacedSecret({ namespace: 'default' }))).toBe(403);
    expect(await statusOf(testKube().core.listNamespacedSecret({ namespace: 'default' }))).toBe(200);

    const review = await testKube().authorization.createSubjectAccessReview({
      body: {
        spec: { user: nobody, resourceAttributes: { verb: 'list', resource: 'secrets', namespace: 'default' } },
      },
    });
    expect(review.status?.allowed).toBe(false);
  });

  it('has every CRD from crds/ installed and Established', async () => {
    const expected = (await readCrds(join(REPO_ROOT, 'crds'))).map((crd) => crd.metadata?.name).sort();
    expect([...inject('installedCrds')].sort()).toEqual(expected);
    const { apiextensions } = testKube();
    for (const name of expected) {
      const crd = await apiextensions.readCustomResourceDefinition({ name: name ?? '' });
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      expect(established?.status, `${name} Established`).toBe('True');
    }
  });

  it('gives each test a labelled namespace of its own', async () => {
    const kube = testKube();
    const first = await createTestNamespace('env-test');
    const second = await createTestNamespace('env-test');
    expect(first.name).not.toBe(second.name);
    const namespace = await waitFor(
      async ({ observe }) => {
        const ns = await kube.core.readNamespace({ name: first.name });
        observe(ns.status?.phase);
        return ns.status?.phase === 'Active' ? ns : undefined;
      },
      { description: `namespace ${first.name} to be Active`, timeoutMs: 10_000 },
    );
    expect(namespace.metadata?.labels?.[TEST_NAMESPACE_LABEL]).toBe('true');
  });

  it('waitFor reports what it last saw when it gives up', async () => {
    await expect(
      waitFor(
        ({ observe, attempt }) => {
          observe({ attempt });
          return undefined;
        },
        { description: 'something that never happens', timeoutMs: 300, intervalMs: 50 },
      ),
    ).rejects.toThrow(/something that never happens.*last seen: \{"attempt":\d+\}/);
  });
});

describe('ACME', () => {
  it("serves Pebble's directory over HTTPS signed by the environment CA", async () => {
    const acme = inject('acme');
    const ca = await readFile(acme.serverCaPath, 'utf8');
    const response = await httpFetch(acme.directoryUrl, { tls: { ca } });
    expect(response.status).toBe(200);
    const directory = JSON.parse(response.body) as Record<string, unknown>;
    for (const key of ['newNonce', 'newAccount', 'newOrder']) {
      expect(directory[key], key).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    }
  });

  it("saved Pebble's issuance root, a CA certificate", async () => {
    const root = new X509Certificate(await readFile(inject('acme').issuanceRootPath));
    expect(root.ca).toBe(true);
    expect(root.subject).toMatch(/Pebble Root CA/);
  });

  it('resolves every name to 127.0.0.1 through challtestsrv DNS, with no AAAA', async () => {
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([inject('acme').dnsServer]);
    expect(await resolver.resolve4('anything.certkeeper.test')).toEqual(['127.0.0.1']);
    const aaaa = await resolver.resolve6('anything.certkeeper.test').catch((error: NodeJS.ErrnoException) => error);
    expect(Array.isArray(aaaa) ? aaaa : (aaaa.code ?? String(aaaa))).toSatisfy(
      (value) => (Array.isArray(value) && value.length === 0) || value === 'ENODATA' || value === 'ENOTFOUND',
    );
  });

  it('has a free HTTP-01 port for the solver, distinct from the other listeners', () => {
    const acme = inject('acme');
    expect(acme.httpChallengePort).toBeGreaterThan(0);
    const used = [acme.directoryUrl, acme.pebbleManagementUrl, acme.challtestsrvUrl, inject('apiserverUrl')].map(
      (url) => Number(new URL(url).port),
    );
    expect(used).not.toContain(acme.httpChallengePort);
  });
});
