import { ApiException } from '@kubernetes/client-node';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Certificate } from '../../../src/api/certificate.js';
import { Reason } from '../../../src/api/conditions.js';
import { AcmeIssuer, type AcmeOutcome } from '../../../src/controllers/certificate/acme/pipeline.js';
import { nextKeySecretName } from '../../../src/controllers/certificate/acme/keys.js';
import { ariCertId } from '../../../src/issuers/acme/ari.js';
import { AcmeError } from '../../../src/issuers/acme/problem.js';
import { type Condition, getCondition } from '../../../src/kube/conditions.js';

import { SecretAnnotation, type TlsSecretState } from '../../../src/model/secret.js';
import { makeTestCa, type TestCa } from '../../support/pki.js';
import { ACCOUNT, NOW, OPERATOR_NAMESPACE, acmeCertificate, acmeWorld, type AcmeWorld } from './acme-fakes.js';
import { factsFor, validSecret } from './fakes.js';

// The ACME order pipeline (AcmeIssuer) against a scripted CA and a fake API
// server: one call per reconcile, each resuming from what the Certificate's
// status recorded. The HTTP-01 self-check is the one piece that would touch
// the network; it is replaced by a scripted answer.

const selfCheck = vi.hoisted(() => ({ answer: undefined as string | undefined, names: [] as string[] }));
vi.mock('../../../src/issuers/acme/self-check.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/issuers/acme/self-check.js')>();
  return {
    ...real,
    http01SelfCheck: (name: string) => {
      selfCheck.names.push(name);
      return Promise.resolve(selfCheck.answer);
    },
  };
});

const TRIGGER = { reason: Reason.DoesNotExist, message: 'Secret "web-tls" does not exist' };
const ABSENT: TlsSecretState = { state: 'absent' };

let issuingCa: TestCa;
beforeAll(async () => {
  issuingCa = await makeTestCa();
}, 30_000);

beforeEach(() => {
  selfCheck.answer = undefined;
  selfCheck.names = [];
});

function setup(prepare: (c: Certificate) => void = () => undefined) {
  const world = acmeWorld(issuingCa);
  const cert = world.server.put(acmeCertificate(prepare));
  const issuer = new AcmeIssuer(world.deps);
  const governed = world.governed(cert);
  const issue = (i: AcmeIssuer = issuer, secret: TlsSecretState = ABSENT, cached: Certificate = cert): Promise<AcmeOutcome> =>
    i.issue('default/web', cached, governed, TRIGGER, secret, world.log);
  return { world, cert, issuer, governed, issue };
}

const caCalls = (w: AcmeWorld) => w.ca.calls(w.journal);
const orderUrl = (w: AcmeWorld) => w.server.current()?.status?.acme?.url ?? '';
const condition = (w: AcmeWorld, type: string) => getCondition(w.server.current()?.status?.conditions as Condition[] | undefined, type);
const index = (w: AcmeWorld, entry: string) => w.journal.findIndex((j) => j.startsWith(entry));

describe('AcmeIssuer gates: nothing reaches the CA', () => {
  it('waits for an account the policy has not registered, and looks again at once next time', async () => {
    const h = setup();
    h.world.accounts.waiting = 'waiting for TLSPolicy "le" to register its ACME account';
    await expect(h.issue()).resolves.toEqual({
      kind: 'waiting',
      ms: 10_000,
      violation: { reason: Reason.AccountNotReady, message: 'waiting for TLSPolicy "le" to register its ACME account' },
    });
    await h.issue();
    expect(h.world.accounts.sessions).toBe(2);
    expect(h.world.journal.filter((j) => !j.startsWith('accounts:'))).toEqual([]);
  });

  it('reports gone when the API server no longer has the Certificate', async () => {
    const h = setup();
    h.world.server.objects.clear();
    await expect(h.issue()).resolves.toEqual({ kind: 'gone' });
    expect(caCalls(h.world)).toEqual([]);
  });

  it('backs off on a failure the fresh read shows, even when the cache does not show it yet', async () => {
    const h = setup();
    h.world.server.put(acmeCertificate((c) => (c.status = { failedIssuanceAttempts: 1, lastFailureTime: '2026-02-28T23:59:59Z', observedGeneration: 1 })));
    await expect(h.issue()).resolves.toEqual({ kind: 'waiting', ms: 9_000, violation: { reason: Reason.Backoff, message: 'backing off after a failed attempt' } });
    expect(caCalls(h.world)).toEqual([]);
    expect(h.world.journal.some((j) => j.startsWith('core:'))).toBe(false);
  });
});

describe('AcmeIssuer: a new order', () => {
  it('makes the pending key, then one order whose URL is in status before it is used, presents, self-checks and accepts', async () => {
    const h = setup();
    selfCheck.answer = undefined;
    const outcome = await h.issue();
    // The first look at the validation comes soon (the poll schedule's short end).
    expect(outcome).toMatchObject({ kind: 'waiting', ms: 50, violation: { reason: Reason.Validating } });

    const j = h.world.journal;
    const url = orderUrl(h.world);
    expect(url).toBe('https://acme.example/directory/order/1');
    expect(caCalls(h.world).filter((c) => c === 'createOrder')).toHaveLength(1);
    // Key first (in its own Secret), then the order, recorded before anything is asked about it, in the
    // same write that names the key: an order is never in status without its key named beside it.
    const recordedOrder = index(h.world, `api: status nextPrivateKeySecretName acme(${url} pending)`);
    expect(index(h.world, `core: create Secret default/${nextKeySecretName(h.cert)}`)).toBeLessThan(index(h.world, 'ca: createOrder'));
    expect(recordedOrder).toBeGreaterThan(index(h.world, 'ca: createOrder'));
    expect(recordedOrder).toBeLessThan(index(h.world, 'ca: getAuthorization'));
    expect(j.filter((e) => e.startsWith('api: status') && e.includes('nextPrivateKeySecretName'))).toHaveLength(1);
    // The challenge is recorded before it is presented, presented before it is accepted.
    const challengeSecret = j.findIndex((e) => e.startsWith(`core: create Secret ${OPERATOR_NAMESPACE}/certkeeper-http01-`));
    const recorded = j.findIndex((e, i) => i > index(h.world, 'ca: getAuthorization') && e.startsWith(`api: status acme(${url}`));
    expect(recorded).toBeGreaterThan(index(h.world, 'ca: getAuthorization'));
    expect(challengeSecret).toBeGreaterThan(recorded);
    expect(index(h.world, 'net: create Ingress default/certkeeper-http01-')).toBeGreaterThan(challengeSecret);
    expect(index(h.world, 'ca: acceptChallenge')).toBeGreaterThan(challengeSecret);
    // This replica's responder is told the answer once its Secret is written, before the self-check.
    expect(index(h.world, 'responder: prime token-1-0 for web.example.com')).toBeGreaterThan(challengeSecret);
    expect(selfCheck.names).toEqual(['web.example.com']);

    const status = h.world.server.current()?.status;
    expect(status?.nextPrivateKeySecretName).toBe('web-next-private-key');
    expect(status?.acme).toMatchObject({ url, accountURI: ACCOUNT, specHash: h.governed.specHash, createdTime: '2026-03-01T00:00:00Z' });
    expect(status?.acme?.challenges).toEqual([expect.objectContaining({ identifier: 'web.example.com', type: 'http-01', state: 'Accepted', token: 'token-1-0' })]);
  });

  it('a failing self-check is recorded and retried in a second, without telling the CA', async () => {
    const h = setup();
    selfCheck.answer = 'http://web.example.com/.well-known/acme-challenge/token-1-0 answered HTTP 404';
    const outcome = await h.issue();
    expect(outcome).toMatchObject({ kind: 'waiting', ms: 1000, violation: { reason: Reason.SelfCheckPending } });
    expect(outcome.kind === 'waiting' && outcome.violation.message).toContain('answered HTTP 404');
    expect(caCalls(h.world)).not.toContain('acceptChallenge');
    expect(h.world.server.current()?.status?.acme?.challenges?.[0]).toMatchObject({ state: 'Presented', selfCheck: selfCheck.answer });
  });

  it('does not ask the CA again before the delay it returned, unless the generation changed', async () => {
    const h = setup();
    await h.issue();
    const before = h.world.journal.length;
    await expect(h.issue()).resolves.toEqual({ kind: 'waiting', ms: 50, violation: { reason: Reason.OrderPending, message: 'waiting' } });
    await h.world.clock.advance(20);
    await expect(h.issue()).resolves.toMatchObject({ kind: 'waiting', ms: 30 });
    expect(h.world.journal.length).toBe(before);

    const edited = { ...h.cert, metadata: { ...h.cert.metadata, generation: 2 } };
    await h.issue(h.issuer, ABSENT, edited);
    expect(h.world.journal.length).toBeGreaterThan(before);
  });

  it('a new leader (a fresh AcmeIssuer) resumes the recorded order with the same key: no second order', async () => {
    const h = setup();
    await h.issue();
    const key = h.world.core.secrets.get(`default/${nextKeySecretName(h.cert)}`)?.data?.['tls.key'];
    const url = orderUrl(h.world);
    await h.issue(new AcmeIssuer(h.world.deps));
    expect(caCalls(h.world).filter((c) => c === 'createOrder')).toHaveLength(1);
    expect(h.world.journal).toContain(`ca: getOrder ${url}`);
    expect(h.world.core.secrets.get(`default/${nextKeySecretName(h.cert)}`)?.data?.['tls.key']).toBe(key);
    expect(h.world.journal.filter((e) => e.startsWith(`core: create Secret default/${nextKeySecretName(h.cert)}`))).toHaveLength(1);
  });

  it('a new leader finalizes with the pending key read from its Secret', async () => {
    const h = setup();
    await h.issue();
    const key = h.world.core.secrets.get(`default/${nextKeySecretName(h.cert)}`)?.data?.['tls.key'];
    h.world.ca.validate(orderUrl(h.world));
    await h.world.clock.advance(250);
    await expect(h.issue(new AcmeIssuer(h.world.deps))).resolves.toMatchObject({ kind: 'issued' });
    expect(h.world.core.secretReads).toEqual([`default/${nextKeySecretName(h.cert)}`]);
    expect(h.world.core.secrets.get('default/web-tls')?.data?.['tls.key']).toBe(key);
  });

  it('a crash after the pending key was made, before the order was recorded: the next leader keeps that key and names it with its order', async () => {
    const h = setup();
    h.world.ca.createOrderError = new Error('the process died here');
    await expect(h.issue()).rejects.toThrow('the process died here');
    const left = h.world.core.secrets.get(`default/${nextKeySecretName(h.cert)}`);
    expect(left?.data?.['tls.key']).toBeDefined();
    expect(h.world.server.current()?.status?.acme).toBeUndefined();

    await h.issue(new AcmeIssuer(h.world.deps));
    const status = h.world.server.current()?.status;
    expect(status?.acme?.url).toBe(orderUrl(h.world));
    expect(status?.nextPrivateKeySecretName).toBe(nextKeySecretName(h.cert));
    // Its create conflicted, so it was read and kept as it was (not replaced).
    const kept = h.world.core.secrets.get(`default/${nextKeySecretName(h.cert)}`);
    expect(kept?.data?.['tls.key']).toBe(left?.data?.['tls.key']);
    expect(kept?.metadata?.resourceVersion).toBe(left?.metadata?.resourceVersion);
  });

  it('abandons the recorded order and starts another when the spec changed', async () => {
    const h = setup();
    await h.issue();
    const first = orderUrl(h.world);
    const changed = { ...h.governed, specHash: 'another-spec' };
    await h.world.clock.advance(250);
    await new AcmeIssuer(h.world.deps).issue('default/web', h.cert, changed, TRIGGER, ABSENT, h.world.log);
    expect(caCalls(h.world).filter((c) => c === 'createOrder')).toHaveLength(2);
    expect(orderUrl(h.world)).not.toBe(first);
    expect(h.world.journal).toContain(`net: delete Ingress default/${h.world.networking[0]?.split('/')[1] ?? ''}`);
  });

  it('names the certificate it replaces (ARI) when renewing one this CA issued', async () => {
    const h = setup();
    const aki = 'ab'.repeat(20);
    const facts = factsFor(h.governed, new Date(NOW - 80 * 86_400_000), 90, { authorityKeyId: aki, serialNumber: '0abc' });
    await h.issue(h.issuer, validSecret(h.governed, facts, { [SecretAnnotation.issuer]: h.governed.issuerIdentity }));
    expect(h.world.journal).toContain(`ca: createOrder https://acme.example/directory/order/1 replaces ${ariCertId(aki, '0abc')}`);
    expect(h.world.server.current()?.status?.acme?.replaces).toBe(ariCertId(aki, '0abc'));
  });
});

describe('AcmeIssuer: the Certificate read fresh only when the cache shows a change not ours', () => {
  const reads = (w: AcmeWorld) => w.journal.filter((e) => e.startsWith('api: get Certificate')).length;

  it('after a run that ended waiting, the object our last write got back stands in for the read while the cache shows a version of ours', async () => {
    const h = setup();
    await h.issue();
    expect(reads(h.world)).toBe(1);
    const afterFirst = h.world.server.current();
    if (afterFirst === undefined) throw new Error('no Certificate');
    // The cache a step behind (the version the run started from), then caught up with our last write.
    await h.world.clock.advance(50);
    await h.issue(h.issuer, ABSENT, h.cert);
    await h.world.clock.advance(100);
    await h.issue(h.issuer, ABSENT, afterFirst);
    expect(reads(h.world)).toBe(1);
    expect(caCalls(h.world).filter((c) => c.startsWith('getOrder'))).toHaveLength(2);
  });

  it("another writer's change in the cache: read fresh, and the order is the one the server recorded", async () => {
    const h = setup();
    await h.issue();
    // Someone else recorded another order (a previous leader); the cache has seen that version.
    const theirs = h.world.server.current();
    if (theirs?.status?.acme === undefined) throw new Error('no order');
    await h.world.ca.createOrder({ identifiers: [{ type: 'dns', value: 'web.example.com' }] });
    const other = [...h.world.ca.orders.keys()].at(-1) ?? '';
    const cached = h.world.server.put({ ...theirs, status: { ...theirs.status, acme: { ...theirs.status.acme, url: other, challenges: [] } } });
    await h.world.clock.advance(50);
    await h.issue(h.issuer, ABSENT, cached);
    expect(reads(h.world)).toBe(2);
    expect(h.world.journal).toContain(`ca: getOrder ${other}`);
  });

  it('reads fresh when the remembered object is older than 30 s, after a failure, and for a new issuer', async () => {
    const h = setup();
    await h.issue();
    await h.world.clock.advance(30_001);
    await h.issue();
    expect(reads(h.world)).toBe(2);
    await h.issue(new AcmeIssuer(h.world.deps));
    expect(reads(h.world)).toBe(3);

    const f = setup();
    f.world.ca.createOrderError = new AcmeError('transient', 'creating the order: HTTP 503', { status: 503 });
    await f.issue();
    await f.issue();
    expect(reads(f.world)).toBe(2);
  });

  it('reads fresh after a run that threw (it may have written before)', async () => {
    const h = setup();
    await h.issue();
    h.world.ca.validate(orderUrl(h.world));
    h.world.ca.downloadError = new Error('a bug');
    await h.world.clock.advance(250);
    await expect(h.issue()).rejects.toThrow('a bug');
    expect(reads(h.world)).toBe(1);
    await expect(h.issue()).resolves.toMatchObject({ kind: 'issued' });
    expect(reads(h.world)).toBe(2);
  });
});

describe('AcmeIssuer: where the CA takes the order', () => {
  it.each<[string, number | undefined, number]>([
    ['no Retry-After: the first look soon', undefined, 50],
    ['a Retry-After of 3 s', 3_000, 3_000],
    ['a Retry-After of a minute: honoured', 60_000, 60_000],
  ])('processing, with %s', async (_name, retryAfter, ms) => {
    const h = setup();
    await h.issue();
    h.world.ca.setOrderStatus(orderUrl(h.world), 'processing');
    h.world.ca.orderRetryAfterMs = retryAfter;
    await h.world.clock.advance(250);
    const outcome = await h.issue();
    expect(outcome).toMatchObject({ kind: 'waiting', ms, violation: { reason: Reason.Finalizing } });
    expect(caCalls(h.world)).not.toContain('downloadCertificate');
  });

  it('while the CA validates, follows the order alone (not its authorizations), looking again at doubling gaps', async () => {
    const h = setup();
    await h.issue();
    const url = orderUrl(h.world);
    const start = h.world.journal.length;
    const readsBefore = h.world.core.secretReads.length;
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      await h.world.clock.advance(delays[delays.length - 1] ?? 50);
      const outcome = await h.issue();
      expect(outcome).toMatchObject({ kind: 'waiting', violation: { reason: Reason.Validating } });
      if (outcome.kind === 'waiting') delays.push(outcome.ms);
    }
    expect(delays).toEqual([50, 100, 200, 400]);
    const after = h.world.journal.slice(start);
    expect(after.filter((e) => e.startsWith('ca: '))).toEqual(Array.from({ length: 4 }, () => `ca: getOrder ${url}`));
    // Nothing to write while the CA works: the status already says it validates; the pending key is not read either.
    expect(after.filter((e) => e.startsWith('api: status'))).toEqual([]);
    expect(h.world.core.secretReads.slice(readsBefore)).toEqual([]);

    h.world.ca.validate(url);
    await h.world.clock.advance(400);
    await expect(h.issue()).resolves.toMatchObject({ kind: 'issued' });
  });

  it('never looks at a pending order again before the Retry-After of its last answer', async () => {
    const h = setup();
    await h.issue();
    h.world.ca.orderRetryAfterMs = 2_000;
    await h.world.clock.advance(50);
    await expect(h.issue()).resolves.toMatchObject({ kind: 'waiting', ms: 2_000, violation: { reason: Reason.Validating } });
  });

  it('ready then valid: finalized with the pending key, the live Secret written once and whole, the traces removed', async () => {
    const h = setup();
    await h.issue();
    const url = orderUrl(h.world);
    const pendingKey = h.world.core.secrets.get(`default/${nextKeySecretName(h.cert)}`)?.data?.['tls.key'] ?? '';
    h.world.ca.validate(url);
    await h.world.clock.advance(250);
    const start = h.world.journal.length;

    const outcome = await h.issue();
    expect(outcome.kind).toBe('issued');
    if (outcome.kind !== 'issued') return;
    expect(outcome.result).toMatchObject({ revision: 1, reusedKey: false });

    const after = h.world.journal.slice(start);
    // The finalize answer is the valid order: downloaded without looking at the order again.
    expect(after.filter((e) => e.startsWith('ca: '))).toEqual([`ca: getOrder ${url}`, `ca: finalize ${url}`, `ca: downloadCertificate ${url}`]);
    // One status write: the order's traces gone (the challenges taken down and the order finalized are not
    // written on their own when the download follows in the same pass; a crash before it repeats the clean-up).
    expect(after.filter((e) => e.startsWith('api: status'))).toEqual(['api: status -acme -nextPrivateKeySecretName -retryAfterTime']);
    expect(after.filter((e) => e.includes('Secret default/web-tls'))).toEqual(['core: create Secret default/web-tls']);
    // No Secret read on the way: the pending key is the one this issuer made (the Certificate unchanged
    // but by its writes), and the cache has no live Secret, so it is created without a look.
    expect(h.world.core.secretReads).toEqual([]);
    const live = h.world.core.secrets.get('default/web-tls');
    expect(Object.keys(live?.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    // The pending key is the live key (PKCS8 both ways here, so the bytes are equal).
    expect(live?.data?.['tls.key']).toBe(pendingKey);
    expect(live?.metadata?.annotations?.[SecretAnnotation.issuer]).toBe(h.governed.issuerIdentity);
    expect(outcome.result.secretResourceVersion).toBe(live?.metadata?.resourceVersion);

    // Challenge taken down before finalizing; the order and the pending key gone from status and the cluster.
    expect(after.findIndex((e) => e.startsWith('net: delete Ingress'))).toBeLessThan(after.indexOf(`ca: finalize ${url}`));
    expect(h.world.core.services.size).toBe(0);
    expect([...h.world.core.secrets.keys()]).toEqual(['default/web-tls']);
    const status = h.world.server.current()?.status;
    expect(status?.acme).toBeUndefined();
    expect(status?.nextPrivateKeySecretName).toBeUndefined();
    expect(outcome.cert.status?.acme).toBeUndefined();
  });

  it("the CA's renewal window (ARI) for the new certificate goes into the issuance's last write; a CA that fails it does not fail the issuance", async () => {
    for (const renewal of [{ start: new Date(NOW + 60 * 86_400_000), end: new Date(NOW + 62 * 86_400_000), retryAfterMs: 6 * 3_600_000 }, new AcmeError('transient', 'HTTP 503')]) {
      const h = setup();
      h.world.deps.ariBounds = { minMs: 60_000, maxMs: 86_400_000 };
      h.world.ca.renewal = renewal;
      await h.issue();
      h.world.ca.validate(orderUrl(h.world));
      await h.world.clock.advance(250);
      const start = h.world.journal.length;
      const outcome = await h.issue();
      expect(outcome.kind).toBe('issued');
      if (outcome.kind !== 'issued') return;
      const writes = h.world.journal.slice(start).filter((e) => e.startsWith('api: status'));
      const info = h.world.server.current()?.status?.renewalInfo;
      if (renewal instanceof Error) {
        expect(writes).toEqual(['api: status -acme -nextPrivateKeySecretName -retryAfterTime']);
        expect(info).toBeUndefined();
      } else {
        expect(writes).toEqual(['api: status -acme -nextPrivateKeySecretName -retryAfterTime renewalInfo']);
        expect(info).toEqual({
          serialNumber: outcome.result.serialNumber,
          windowStart: renewal.start.toISOString(),
          windowEnd: renewal.end.toISOString(),
          fetchedTime: new Date(h.world.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
          nextFetchTime: new Date(h.world.clock.now() + 6 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        });
        expect(outcome.cert.status?.renewalInfo).toEqual(info);
      }
      expect(h.world.journal.filter((e) => e.startsWith('ca: renewalInfo'))).toHaveLength(1);
    }
  });

  it('invalid: fails with the challenge problem, abandons the order and takes the challenge down', async () => {
    const h = setup();
    await h.issue();
    const url = orderUrl(h.world);
    h.world.ca.invalidate(url, 'Fetching http://web.example.com/.well-known/acme-challenge/token-1-0: Connection refused');
    await h.world.clock.advance(250);
    const outcome = await h.issue();
    expect(outcome.kind).toBe('failed');
    if (outcome.kind !== 'failed') return;
    expect(outcome.error.kind).toBe('final');
    expect(outcome.error.message).toMatch(/^the CA could not validate web\.example\.com \(http-01\): .*Connection refused/);
    expect(caCalls(h.world)).not.toContain('finalize');
    expect(h.world.server.current()?.status?.acme).toBeUndefined();
    expect(h.world.journal.some((e) => e.startsWith('net: delete Ingress'))).toBe(true);
    expect(h.world.journal).toContain('responder: forget token-1-0');
  });

  it('an order the CA forgot (a final error reading it) is abandoned and a new one made', async () => {
    const h = setup();
    await h.issue();
    h.world.ca.orders.clear();
    await h.world.clock.advance(250);
    await h.issue();
    expect(caCalls(h.world).filter((c) => c === 'createOrder')).toHaveLength(2);
    expect(orderUrl(h.world)).toBe('https://acme.example/directory/order/2');
  });

  it('ready, finalized but still processing: looks again soon, then downloads once the CA is done', async () => {
    const h = setup();
    await h.issue();
    const url = orderUrl(h.world);
    h.world.ca.validate(url);
    h.world.ca.finalizeTo = 'processing';
    await h.world.clock.advance(250);
    const start = h.world.journal.length;
    await expect(h.issue()).resolves.toMatchObject({ kind: 'waiting', ms: 50, violation: { reason: Reason.Finalizing } });
    // One write: the challenge taken down and the order's state, with the Finalizing condition.
    expect(h.world.journal.slice(start).filter((e) => e.startsWith('api: status'))).toEqual([`api: status acme(${url} processing) conditions`]);
    expect(h.world.server.current()?.status?.acme?.state).toBe('processing');
    expect(h.world.server.current()?.status?.acme?.challenges?.map((c) => c.state)).toEqual(['Valid']);
    h.world.ca.setOrderStatus(url, 'valid');
    await h.world.clock.advance(250);
    await expect(h.issue()).resolves.toMatchObject({ kind: 'issued' });
    expect(caCalls(h.world).filter((c) => c === 'finalize')).toHaveLength(1);
  });
});

describe('AcmeIssuer: a crash or failure between finalize and download', () => {
  it('the challenge taken down but not recorded: the next run (a new leader) takes it down again, downloads, no second finalize', async () => {
    const h = setup();
    await h.issue();
    const url = orderUrl(h.world);
    h.world.ca.validate(url);
    h.world.ca.downloadError = new Error('the process died here');
    await h.world.clock.advance(250);
    await expect(h.issue()).rejects.toThrow('the process died here');
    expect(h.world.server.current()?.status?.acme?.url).toBe(url);
    expect(h.world.server.current()?.status?.nextPrivateKeySecretName).toBe(nextKeySecretName(h.cert));

    const start = h.world.journal.length;
    await expect(h.issue(new AcmeIssuer(h.world.deps))).resolves.toMatchObject({ kind: 'issued' });
    const after = h.world.journal.slice(start);
    expect(after.filter((e) => e.startsWith('ca: '))).toEqual([`ca: getOrder ${url}`, `ca: downloadCertificate ${url}`]);
    expect(after.some((e) => e.startsWith('net: delete Ingress'))).toBe(true);
    expect(caCalls(h.world).filter((c) => c === 'finalize')).toHaveLength(1);
    expect(h.world.server.current()?.status?.acme).toBeUndefined();
  });
});

describe('AcmeIssuer: what the steps write on the way', () => {
  it('a first issuance shows Issuing=True and Ready=False with the trigger', async () => {
    const h = setup();
    await h.issue();
    expect(condition(h.world, 'Issuing')).toMatchObject({ status: 'True', reason: Reason.Validating });
    expect(condition(h.world, 'Ready')).toMatchObject({ status: 'False', reason: Reason.DoesNotExist, message: expect.stringContaining('Secret "web-tls" does not exist; issuing: ') as unknown });
  });

  it('a renewal of a valid Secret leaves Ready alone', async () => {
    const h = setup();
    const facts = factsFor(h.governed, new Date(NOW - 80 * 86_400_000), 90);
    await h.issue(h.issuer, validSecret(h.governed, facts));
    expect(condition(h.world, 'Issuing')).toMatchObject({ status: 'True' });
    expect(condition(h.world, 'Ready')).toBeUndefined();
  });
});

describe('AcmeIssuer: failures', () => {
  it('a CA failure is reported with its Retry-After and keeps nothing half-made in status', async () => {
    const h = setup();
    h.world.ca.createOrderError = new AcmeError('transient', 'creating the order: HTTP 503', { status: 503, retryAfterMs: 120_000 });
    const outcome = await h.issue();
    expect(outcome).toMatchObject({ kind: 'failed', error: { kind: 'transient', message: 'creating the order: HTTP 503', details: { retryAfterMs: 120_000 } } });
    expect(h.world.server.current()?.status?.acme).toBeUndefined();
    // No order recorded the pending key: it is named on its own, so clean-up finds it.
    expect(h.world.server.current()?.status?.nextPrivateKeySecretName).toBe(nextKeySecretName(h.cert));
  });

  it.each<[string, Error, RegExp]>([
    // The server's own words (its Status message), not client-node's dump of code, body and headers.
    [
      'a refusal (422) becomes a failure the user sees',
      new ApiException(422, 'HTTP-Code: 422', JSON.stringify({ kind: 'Status', message: 'Secret "web-next-private-key" is invalid' }), {}),
      /^Kubernetes API: Secret "web-next-private-key" is invalid$/,
    ],
    ['a forbidden write (403) too', new ApiException(403, 'HTTP-Code: 403', JSON.stringify({ kind: 'Status', message: 'secrets is forbidden' }), {}), /^Kubernetes API: secrets is forbidden$/],
  ])('Kubernetes: %s', async (_name, error, message) => {
    const h = setup();
    h.world.core.createSecretError = error;
    const outcome = await h.issue();
    expect(outcome.kind === 'failed' && outcome.error.kind).toBe('final');
    expect(outcome.kind === 'failed' && outcome.error.message).toMatch(message);
    expect(caCalls(h.world)).toEqual([]);
  });

  it('a conflict (409) is thrown for the work queue to retry', async () => {
    const h = setup();
    const error = new ApiException(409, 'the object has been modified', '{}', {});
    h.world.server.statusError = error;
    await expect(h.issue()).rejects.toBe(error);
  });

  it.each<[string, Error]>([
    ['too many requests (429)', new ApiException(429, 'slow down', '{}', {})],
    ['a server error (500)', new ApiException(500, 'etcd timeout', '{}', {})],
    ['a bug', new TypeError('x is undefined')],
  ])('%s is thrown for the work queue to retry', async (_name, error) => {
    const h = setup();
    h.world.core.createSecretError = error;
    await expect(h.issue()).rejects.toBe(error);
  });
});
