import { beforeAll, describe, expect, it } from 'vitest';
import type { AcmeChallengeStatus, Certificate, CertificateStatus } from '../../../src/api/certificate.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import { NEXT_KEY_LABEL, nextKeySecretName } from '../../../src/controllers/certificate/acme/keys.js';
import { REVOKE_FINALIZER } from '../../../src/controllers/certificate/acme/revocation.js';
import { AcmeUpkeep } from '../../../src/controllers/certificate/acme/upkeep.js';
import { ariCertId } from '../../../src/issuers/acme/ari.js';
import { http01ChallengeName } from '../../../src/issuers/acme/http01-solver.js';
import { AcmeError } from '../../../src/issuers/acme/problem.js';
import { SecretAnnotation, type ValidSecret } from '../../../src/model/secret.js';
import { selectingAll, tlsPolicy, withCaIssuer } from '../../support/builders.js';
import { makeTestCa, type TestCa } from '../../support/pki.js';
import { generatePrivateKey } from '../../../src/pki/keys.js';
import { selfSignCertificate } from '../../../src/pki/sign.js';
import { summarizeCertificate } from '../../../src/pki/certificates.js';
import { ACCOUNT, NOW, OPERATOR_NAMESPACE, SERVER, acmeCertificate, acmePolicy, acmeWorld } from './acme-fakes.js';
import { factsFor, governedBy, validSecret } from './fakes.js';

// AcmeUpkeep: what ACME keeps while a Certificate is not issuing (the CA's
// renewal window, ARI), what it takes down after an order, and what it does
// when the Certificate goes (revocation on delete, the finalizer).

const HOUR = 3_600_000;
const AKI = 'cd'.repeat(20);
const SERIAL = '0abc';
const bounds = { minMs: 60_000, maxMs: 24 * HOUR };

let issuingCa: TestCa;
beforeAll(async () => {
  issuingCa = await makeTestCa();
}, 30_000);

function setup(policy: TLSPolicy = acmePolicy(), prepare: (c: Certificate) => void = () => undefined) {
  const world = acmeWorld(issuingCa, policy);
  const cert = world.server.put(acmeCertificate(prepare));
  const upkeep = new AcmeUpkeep({ ...world.deps, ariBounds: bounds });
  const governed = world.governed(cert);
  const secret = (over: { aki?: string | undefined; issuer?: string; serial?: string } = {}): ValidSecret =>
    validSecret(governed, factsFor(governed, new Date(NOW - 10 * 86_400_000), 90, { authorityKeyId: 'aki' in over ? over.aki : AKI, serialNumber: over.serial ?? SERIAL }), {
      [SecretAnnotation.issuer]: over.issuer ?? governed.issuerIdentity,
    });
  return { world, cert, upkeep, governed, secret };
}

const window = { start: new Date('2026-04-01T00:00:00Z'), end: new Date('2026-04-03T00:00:00Z'), explanationURL: 'https://acme.example/why' };

describe('AcmeUpkeep.refreshRenewalInfo', () => {
  it('fetches the window, patches status.renewalInfo and returns the delay to the next fetch', async () => {
    const h = setup();
    h.world.ca.renewal = { ...window, retryAfterMs: 6 * HOUR };
    await expect(h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log)).resolves.toBe(6 * HOUR);
    expect(h.world.journal).toContain(`ca: renewalInfo ${ariCertId(AKI, SERIAL)}`);
    expect(h.world.server.current()?.status?.renewalInfo).toEqual({
      serialNumber: SERIAL,
      windowStart: '2026-04-01T00:00:00.000Z',
      windowEnd: '2026-04-03T00:00:00.000Z',
      explanationURL: 'https://acme.example/why',
      fetchedTime: '2026-03-01T00:00:00Z',
      nextFetchTime: '2026-03-01T06:00:00Z',
    });
  });

  it.each<[string, number | undefined, number]>([
    ['a Retry-After below the minimum', 1_000, 60_000],
    ['no Retry-After: the maximum', undefined, 24 * HOUR],
    ['a Retry-After above the maximum', 72 * HOUR, 24 * HOUR],
  ])('keeps %s within bounds', async (_name, retryAfterMs, ms) => {
    const h = setup();
    h.world.ca.renewal = { ...window, retryAfterMs };
    await expect(h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log)).resolves.toBe(ms);
  });

  it('does not fetch before nextFetchTime for the same certificate; fetches at once for another serial', async () => {
    const h = setup();
    const renewalInfo = { serialNumber: SERIAL, windowStart: 'x', windowEnd: 'y', fetchedTime: '2026-02-28T22:00:00Z', nextFetchTime: '2026-03-01T02:00:00Z' };
    const cert: Certificate = { ...h.cert, status: { renewalInfo } };
    await expect(h.upkeep.refreshRenewalInfo('default/web', cert, h.governed, h.secret(), h.world.log)).resolves.toBe(2 * HOUR);
    expect(h.world.journal).toEqual([]);

    h.world.ca.renewal = { ...window, retryAfterMs: HOUR };
    await expect(h.upkeep.refreshRenewalInfo('default/web', cert, h.governed, h.secret({ serial: '0def' }), h.world.log)).resolves.toBe(HOUR);
    expect(h.world.journal).toContain(`ca: renewalInfo ${ariCertId(AKI, '0def')}`);
  });

  it.each<[string, (h: ReturnType<typeof setup>) => Promise<number | undefined>]>([
    ['a Certificate a CA policy governs', (h) => h.upkeep.refreshRenewalInfo('default/web', h.cert, governedBy(h.cert, tlsPolicy('ca', selectingAll, withCaIssuer('root')), 'ca'), h.secret(), h.world.log)],
    ['a Secret another CA issued', (h) => h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret({ issuer: 'acme:https://other.example/directory' }), h.world.log)],
    ['a certificate without an authority key id', (h) => h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret({ aki: undefined }), h.world.log)],
  ])('does not apply to %s (nothing is asked)', async (_name, call) => {
    const h = setup();
    await expect(call(h)).resolves.toBeUndefined();
    expect(h.world.journal).toEqual([]);
  });

  it.each<[string, (h: ReturnType<typeof setup>) => void]>([
    ['a CA without ARI', (h) => (h.world.ca.renewal = undefined)],
    ['an account that is not ready', (h) => (h.world.accounts.waiting = 'not yet')],
  ])('returns undefined and writes nothing for %s', async (_name, arrange) => {
    const h = setup();
    arrange(h);
    await expect(h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log)).resolves.toBeUndefined();
    expect(h.world.journal.some((e) => e.startsWith('api: status'))).toBe(false);
  });

  it('after a CA error, waits its Retry-After (in memory, per Certificate) before asking again; forget() ends that', async () => {
    const h = setup();
    h.world.ca.renewal = new AcmeError('transient', 'HTTP 503', { status: 503, retryAfterMs: 2 * 60_000 });
    const ask = () => h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log);
    await expect(ask()).resolves.toBe(2 * 60_000);
    await h.world.clock.advance(60_000);
    await expect(ask()).resolves.toBe(60_000);
    expect(h.world.ca.calls(h.world.journal)).toEqual(['renewalInfo']);
    expect(h.world.server.current()?.status?.renewalInfo).toBeUndefined();

    h.upkeep.forget('default/web');
    h.world.ca.renewal = { ...window, retryAfterMs: HOUR };
    await expect(ask()).resolves.toBe(HOUR);
    expect(h.world.ca.calls(h.world.journal)).toEqual(['renewalInfo', 'renewalInfo']);
  });

  it('an error without Retry-After waits an hour', async () => {
    const h = setup();
    h.world.ca.renewal = new Error('socket hang up');
    await expect(h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log)).resolves.toBe(HOUR);
  });

  it('a failed status write is the API server\'s failure: thrown for the queue to retry, not taken for the CA\'s', async () => {
    const h = setup();
    h.world.ca.renewal = { ...window, retryAfterMs: 6 * HOUR };
    h.world.server.statusError = Object.assign(new Error('etcdserver: request timed out'), { code: 500 });
    await expect(h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log)).rejects.toThrow('etcdserver: request timed out');
    // No one-hour wait was recorded: the next reconcile asks again.
    h.world.server.statusError = undefined;
    await expect(h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log)).resolves.toBe(6 * HOUR);
  });

  it('a Certificate deleted meanwhile is not an error', async () => {
    const h = setup();
    h.world.ca.renewal = { ...window, retryAfterMs: 6 * HOUR };
    h.world.server.objects.clear();
    // The window's own delay, not the one-hour wait after a failure.
    await expect(h.upkeep.refreshRenewalInfo('default/web', h.cert, h.governed, h.secret(), h.world.log)).resolves.toBe(6 * HOUR);
  });
});

describe('AcmeUpkeep.cleanLeftovers', () => {
  const token = 'token-9-0';
  const challenge: AcmeChallengeStatus = {
    identifier: 'web.example.com',
    type: 'http-01',
    authorizationURL: `${SERVER}/authz/9-0`,
    url: `${SERVER}/chall/9-0`,
    token,
    solver: 0,
    state: 'Presented',
    presentedTime: '2026-02-28T23:00:00Z',
  };
  const inFlight = (c: Certificate, specHash = 'spec') => {
    c.status = {
      nextPrivateKeySecretName: nextKeySecretName(c),
      acme: { url: `${SERVER}/order/9`, state: 'pending', accountURI: ACCOUNT, specHash, createdTime: '2026-02-28T23:00:00Z', challenges: [challenge] },
      conditions: [],
    } satisfies CertificateStatus;
  };
  const withPendingKey = (h: ReturnType<typeof setup>) =>
    h.world.core.secrets.set(`default/${nextKeySecretName(h.cert)}`, { metadata: { name: nextKeySecretName(h.cert), namespace: 'default', labels: { [NEXT_KEY_LABEL]: 'true' } }, data: {} });

  it('does nothing for a Certificate with nothing left over', async () => {
    const h = setup();
    await h.upkeep.cleanLeftovers(h.cert, h.governed, h.world.log);
    expect(h.world.journal).toEqual([]);
  });

  it('under an ACME policy: takes the challenge down, deletes the pending key, clears status.acme and nextPrivateKeySecretName', async () => {
    const h = setup(acmePolicy(), inFlight);
    withPendingKey(h);
    await h.upkeep.cleanLeftovers(h.cert, h.governed, h.world.log);
    const name = http01ChallengeName(token);
    expect(h.world.journal).toEqual(
      expect.arrayContaining([
        `net: delete Ingress default/${name}`,
        `core: delete Service default/${name}`,
        `core: delete Secret ${OPERATOR_NAMESPACE}/${name}`,
        `core: delete Secret default/${nextKeySecretName(h.cert)}`,
      ]),
    );
    expect(h.world.core.secrets.size).toBe(0);
    const status = h.world.server.current()?.status;
    expect(status?.acme).toBeUndefined();
    expect(status?.nextPrivateKeySecretName).toBeUndefined();
  });

  it('without a governing ACME policy (blocked): asks for no session, still deletes the pending key and clears status', async () => {
    const h = setup(acmePolicy(), inFlight);
    withPendingKey(h);
    await h.upkeep.cleanLeftovers(h.cert, undefined, h.world.log);
    expect(h.world.accounts.sessions).toBe(0);
    expect(h.world.core.secrets.size).toBe(0);
    const status = h.world.server.current()?.status;
    expect(status?.acme).toBeUndefined();
    expect(status?.nextPrivateKeySecretName).toBeUndefined();
  });

  it('blocked mid-order: what HTTP-01 presented is taken down by name, though no solver is known any more', async () => {
    const h = setup(acmePolicy(), inFlight);
    withPendingKey(h);
    await h.upkeep.cleanLeftovers(h.cert, undefined, h.world.log);
    const name = http01ChallengeName(token);
    expect(h.world.journal).toEqual(expect.arrayContaining([`net: delete Ingress default/${name}`, `core: delete Service default/${name}`, `core: delete Secret ${OPERATOR_NAMESPACE}/${name}`]));
  });

  it('a Certificate deleted while its leftovers are cleaned is not an error', async () => {
    const h = setup(acmePolicy(), inFlight);
    h.world.server.objects.clear();
    await expect(h.upkeep.cleanLeftovers(h.cert, h.governed, h.world.log)).resolves.toBeUndefined();
  });

  it('a pending key Secret already gone is fine', async () => {
    const h = setup(acmePolicy(), (c) => (c.status = { nextPrivateKeySecretName: nextKeySecretName(c) }));
    await h.upkeep.cleanLeftovers(h.cert, h.governed, h.world.log);
    expect(h.world.server.current()?.status?.nextPrivateKeySecretName).toBeUndefined();
  });
});

describe('AcmeUpkeep on deletion', () => {
  // A real certificate: only a serial this Certificate was issued (status.issuedSerialNumbers) is revoked.
  let livePem = '';
  let liveSerial = '';
  beforeAll(async () => {
    const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
    const signed = await selfSignCertificate({ spec: { dnsNames: ['web.example.com'], durationMs: 86_400_000 }, privateKey: key, now: new Date('2026-02-01T00:00:00Z') });
    livePem = signed.pem;
    liveSerial = summarizeCertificate(signed.certificate).serialNumber;
  });
  const deleting = (c: Certificate) => {
    c.metadata.deletionTimestamp = '2026-03-01T00:00:00Z';
    c.metadata.finalizers = ['other.example/keep', REVOKE_FINALIZER];
    c.status = { ...c.status, issuedSerialNumbers: [liveSerial] };
  };
  const withLiveSecret = (h: ReturnType<typeof setup>, issuer = `acme:${SERVER}`) =>
    h.world.core.secrets.set('default/web-tls', {
      metadata: { name: 'web-tls', namespace: 'default', annotations: { [SecretAnnotation.issuer]: issuer, [SecretAnnotation.serialNumber]: SERIAL } },
      data: { 'tls.crt': Buffer.from(livePem).toString('base64') },
    });
  const finalizers = (h: ReturnType<typeof setup>) => h.world.server.current()?.metadata.finalizers;

  it('with revokeOnDelete and a Secret this CA issued: revokes, deletes the Secret, drops only its finalizer', async () => {
    const policy = acmePolicy({ revokeOnDelete: true });
    const h = setup(policy, deleting);
    withLiveSecret(h);
    await expect(h.upkeep.release(h.cert, policy, h.world.log)).resolves.toBe(`revoked serial ${liveSerial} at ${SERVER}`);
    expect(h.world.ca.calls(h.world.journal)).toEqual(['revoke']);
    expect(h.world.core.secrets.has('default/web-tls')).toBe(false);
    expect(finalizers(h)).toEqual(['other.example/keep']);
    expect(h.world.journal.indexOf('core: delete Secret default/web-tls')).toBeLessThan(h.world.journal.findIndex((e) => e.startsWith('api: finalizers')));
  });

  it.each<[string, TLSPolicy | undefined, string]>([
    ['a policy without revokeOnDelete', acmePolicy(), `acme:${SERVER}`],
    ['no policy', undefined, `acme:${SERVER}`],
    ['a Secret another CA issued', acmePolicy({ revokeOnDelete: true }), 'acme:https://other.example/directory'],
  ])('with %s: no revocation, the Secret stays, the finalizer goes', async (_name, policy, issuer) => {
    const h = setup(acmePolicy(), deleting);
    withLiveSecret(h, issuer);
    await expect(h.upkeep.release(h.cert, policy, h.world.log)).resolves.toBeUndefined();
    expect(h.world.ca.calls(h.world.journal)).toEqual([]);
    expect(h.world.core.secrets.has('default/web-tls')).toBe(true);
    expect(finalizers(h)).toEqual(['other.example/keep']);
  });

  it('with revokeOnDelete and a Secret holding a certificate this Certificate was never issued: not revoked, the Secret stays', async () => {
    const policy = acmePolicy({ revokeOnDelete: true });
    const h = setup(policy, (c) => {
      deleting(c);
      c.status = { ...c.status, issuedSerialNumbers: ['0fedcba9'] };
    });
    withLiveSecret(h);
    await expect(h.upkeep.release(h.cert, policy, h.world.log)).resolves.toMatch(/^not revoked: Secret web-tls holds serial .*, which certkeeper did not issue for this Certificate/);
    expect(h.world.ca.calls(h.world.journal)).toEqual([]);
    expect(h.world.core.secrets.has('default/web-tls')).toBe(true);
    expect(finalizers(h)).toEqual(['other.example/keep']);
  });

  it('a CA that refuses for good does not keep the Certificate: noted, Secret deleted, finalizer dropped', async () => {
    const policy = acmePolicy({ revokeOnDelete: true });
    const h = setup(policy, deleting);
    withLiveSecret(h);
    h.world.ca.revokeError = new AcmeError('final', 'urn:ietf:params:acme:error:alreadyRevoked: already revoked');
    await expect(h.upkeep.release(h.cert, policy, h.world.log)).resolves.toBe('the CA refused the revocation: urn:ietf:params:acme:error:alreadyRevoked: already revoked');
    expect(h.world.core.secrets.has('default/web-tls')).toBe(false);
    expect(finalizers(h)).toEqual(['other.example/keep']);
  });

  it.each<[string, (h: ReturnType<typeof setup>) => void, RegExp]>([
    ['a transient CA failure', (h) => (h.world.ca.revokeError = new AcmeError('transient', 'HTTP 503')), /HTTP 503/],
    ['an account that is not ready', (h) => (h.world.accounts.waiting = 'no account yet'), /cannot revoke: no account yet/],
  ])('%s is thrown (retried) and keeps Secret and finalizer', async (_name, arrange, message) => {
    const policy = acmePolicy({ revokeOnDelete: true });
    const h = setup(policy, deleting);
    withLiveSecret(h);
    arrange(h);
    await expect(h.upkeep.release(h.cert, policy, h.world.log)).rejects.toThrow(message);
    expect(h.world.core.secrets.has('default/web-tls')).toBe(true);
    expect(finalizers(h)).toEqual(['other.example/keep', REVOKE_FINALIZER]);
  });

  it('deletes a pending key an unfinished order left', async () => {
    const h = setup(acmePolicy(), (c) => {
      deleting(c);
      c.status = { nextPrivateKeySecretName: nextKeySecretName(c) };
    });
    h.world.core.secrets.set(`default/${nextKeySecretName(h.cert)}`, { metadata: { name: nextKeySecretName(h.cert) }, data: {} });
    await h.upkeep.release(h.cert, acmePolicy(), h.world.log);
    expect(h.world.core.secrets.size).toBe(0);
  });

  it.each<[string, boolean, string[], string[] | undefined]>([
    ['adds the finalizer a revoking policy needs', true, [], [REVOKE_FINALIZER]],
    ['removes it when the policy no longer revokes', false, ['a/b', REVOKE_FINALIZER], ['a/b']],
    ['leaves a Certificate that is in step alone', true, [REVOKE_FINALIZER], undefined],
    ['leaves a Certificate without it alone', false, ['a/b'], undefined],
  ])('syncRevokeFinalizer %s', async (_name, revoke, current, written) => {
    const h = setup(acmePolicy(), (c) => (c.metadata.finalizers = current));
    await h.upkeep.syncRevokeFinalizer(h.cert, acmePolicy({ revokeOnDelete: revoke }));
    const calls = h.world.journal.filter((e) => e.startsWith('api: finalizers'));
    expect(calls).toEqual(written === undefined ? [] : [`api: finalizers default/web [${written.join(',')}]`]);
  });
});
