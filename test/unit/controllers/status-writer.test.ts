import { ApiException, type EventsV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Certificate, CertificateStatus } from '../../../src/api/certificate.js';
import { ConditionType, Reason } from '../../../src/api/conditions.js';
import { CertificateGoneError, CertificateStatusWriter } from '../../../src/controllers/certificate/status-writer.js';
import type { CertificateVerification } from '../../../src/endpoints/verify.js';
import { EventRecorder } from '../../../src/kube/events.js';
import type { KubeObject } from '../../../src/kube/lister-watcher.js';
import { certificatesClient, type CustomObjectCalls } from '../../../src/kube/resources.js';
import { certificate, withSpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { silentLog } from './fakes.js';
import { MERGE_PATCH } from '../../../src/kube/raw-apis.js';

// The Certificate controller's one status writer, over the real typed client
// and a fake API server: it patches only a real change, adds what the
// endpoint probes say, records their events only once the status is written,
// and change() reports a deleted Certificate.

const FP = 'ab'.repeat(32);

function setup(verification: CertificateVerification | 'keep' | undefined = undefined) {
  const clock = new FakeClock(Date.parse('2026-03-01T00:00:00Z'));
  const patches: Record<string, unknown>[] = [];
  let gone = false;
  const notImplemented = () => Promise.reject(new Error('not used'));
  const api: CustomObjectCalls = {
    patchContentType: MERGE_PATCH,
    getNamespacedCustomObject: notImplemented,
    getClusterCustomObject: notImplemented,
    listClusterCustomObject: notImplemented,
    listNamespacedCustomObject: notImplemented,
    patchNamespacedCustomObject: notImplemented,
    patchClusterCustomObject: notImplemented,
    patchClusterCustomObjectStatus: notImplemented,
    patchNamespacedCustomObjectStatus: (p: { body: unknown }) => {
      if (gone) return Promise.reject(new ApiException(404, 'not found', '{}', {}));
      const body = p.body as { status: Record<string, unknown> };
      patches.push(body.status);
      return Promise.resolve({ metadata: { name: 'web', namespace: 'default', resourceVersion: String(patches.length + 10) }, status: body.status });
    },
  };
  const created: EventsV1Event[] = [];
  const events = new EventRecorder({
    clients: {
      events: {
        patchContentType: MERGE_PATCH,
        createNamespacedEvent: (p: { body: EventsV1Event }) => {
          created.push(p.body);
          return Promise.resolve(p.body);
        },
        patchNamespacedEvent: () => Promise.resolve({} as EventsV1Event),
      },
    },
    clock,
    log: silentLog,
  });
  const verified: string[] = [];
  const observed: KubeObject[] = [];
  const writer = new CertificateStatusWriter({
    cache: { observe: (served) => observed.push(served) },
    certificates: certificatesClient(api),
    clock,
    events,
    endpoints: {
      verifyCertificate: (cert, fingerprint) => {
        verified.push(`${cert.metadata.name} ${fingerprint ?? '-'}`);
        return verification;
      },
    },
  });
  return { writer, patches, created, events, verified, observed, clock, setGone: () => (gone = true) };
}

const stale: CertificateVerification = {
  condition: { type: ConditionType.EndpointsVerified, status: 'False', reason: Reason.StaleCertificate, message: '1 of 1 addresses serve a stale certificate', observedGeneration: 1 },
  endpoints: [{ service: 'web', port: 443, address: '10.0.0.1', serverName: 'web.example.com', current: false, servedFingerprintSHA256: 'cd'.repeat(32), lastProbeTime: '2026-03-01T00:00:00Z' }],
  lagging: [{ service: 'web', port: 443, address: '10.0.0.1', targetPort: 8443, served: 'cd'.repeat(32) }],
};

const withEndpoints = withSpec({ endpoints: [{ service: 'web', port: 443 }] });

describe('CertificateStatusWriter.write', () => {
  it('patches only what changed and says it wrote; the same status again is not written', async () => {
    const h = setup();
    const cert = certificate('web', (c) => (c.status = { policy: 'ca', revision: 1 }));
    await expect(h.writer.write(cert, { policy: 'ca', revision: 2 })).resolves.toBe(true);
    expect(h.patches).toHaveLength(1);
    expect(h.patches[0]).toMatchObject({ revision: 2 });
    expect(h.patches[0]).not.toHaveProperty('policy');
    await expect(h.writer.write(cert, { policy: 'ca', revision: 1 })).resolves.toBe(false);
    expect(h.patches).toHaveLength(1);
  });

  it('adds EndpointsVerified and status.endpoints, and records the stale-certificate events once written', async () => {
    const h = setup(stale);
    const cert = certificate('web', withEndpoints);
    await expect(h.writer.write(cert, { fingerprintSHA256: FP })).resolves.toBe(true);
    expect(h.verified).toEqual([`web ${FP}`]);
    const status = h.patches[0] as CertificateStatus;
    expect(status.endpoints).toEqual(stale.endpoints);
    expect(status.conditions).toEqual([expect.objectContaining({ type: ConditionType.EndpointsVerified, status: 'False', reason: Reason.StaleCertificate })]);
    await h.events.flush();
    expect(h.created.map((e) => [e.type, e.reason, e.regarding?.kind])).toEqual([
      ['Warning', Reason.StaleCertificate, 'Certificate'],
      ['Warning', Reason.StaleCertificate, 'Service'],
    ]);
  });

  it('records no endpoint events when nothing was written', async () => {
    const h = setup(stale);
    const cert = certificate('web', withEndpoints);
    const first = await h.writer.write(cert, { fingerprintSHA256: FP });
    expect(first).toBe(true);
    const written: Certificate = { ...cert, status: h.patches[0] };
    await expect(h.writer.write(written, { ...written.status, fingerprintSHA256: FP })).resolves.toBe(false);
    await h.events.flush();
    expect(h.created).toHaveLength(2);
  });

  it('does not ask the endpoints for an object written without them (a spec that does not parse)', async () => {
    const h = setup(stale);
    await h.writer.write(certificate('web', withEndpoints), { policy: 'x' }, false);
    expect(h.verified).toEqual([]);
    expect(h.patches).toEqual([{ policy: 'x' }]);
  });

  it('a Certificate deleted meanwhile is not written and is not an error', async () => {
    const h = setup();
    h.setGone();
    await expect(h.writer.write(certificate('web'), { policy: 'x' })).resolves.toBe(false);
  });
});

describe('CertificateStatusWriter.change', () => {
  it('writes the change over the status (undefined removes a field) and returns the server object', async () => {
    const h = setup();
    const cert = certificate('web', (c) => (c.status = { policy: 'ca', nextPrivateKeySecretName: 'web-next-private-key', revision: 1 }));
    const after = await h.writer.change(cert, { nextPrivateKeySecretName: undefined, revision: 2 });
    expect(h.patches).toEqual([{ nextPrivateKeySecretName: null, revision: 2 }]);
    // What the server answered, not the object sent.
    expect(after).not.toBe(cert);
    expect(after.metadata.resourceVersion).toBe('11');
  });

  it('returns the Certificate as it was when the change changes nothing', async () => {
    const h = setup();
    const cert = certificate('web', (c) => (c.status = { policy: 'ca' }));
    await expect(h.writer.change(cert, { policy: 'ca' })).resolves.toBe(cert);
    expect(h.patches).toEqual([]);
  });

  it('throws CertificateGoneError for a Certificate deleted meanwhile', async () => {
    const h = setup();
    h.setGone();
    await expect(h.writer.change(certificate('web'), { policy: 'x' })).rejects.toBeInstanceOf(CertificateGoneError);
  });
});

describe('CertificateStatusWriter: read-your-writes', () => {
  const at = (rv: string) => certificate('web', (c) => (c.metadata.resourceVersion = rv));

  it('hands the cache the object as the server answered each write, change() included', async () => {
    const h = setup();
    await h.writer.write(at('5'), { policy: 'ca' });
    await h.writer.change(at('11'), { policy: 'acme' });
    expect(h.observed.map((o) => [o.metadata?.resourceVersion, (o as { status?: { policy?: string } }).status?.policy])).toEqual([
      ['11', 'ca'],
      ['12', 'acme'],
    ]);
  });

  it('hands it nothing when nothing was written or the Certificate is gone', async () => {
    const h = setup();
    await h.writer.write(at('5'), {});
    h.setGone();
    await h.writer.write(at('5'), { policy: 'ca' });
    expect(h.observed).toEqual([]);
  });
});
