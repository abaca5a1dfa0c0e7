import { ApiException, type V1Secret } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Certificate } from '../../../src/api/certificate.js';
import { Reason } from '../../../src/api/conditions.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import type { AcmeIssuer, AcmeOutcome } from '../../../src/controllers/certificate/acme/pipeline.js';
import { REVOKE_FINALIZER } from '../../../src/controllers/certificate/acme/revocation.js';
import type { AcmeUpkeep } from '../../../src/controllers/certificate/acme/upkeep.js';
import type { SecretsApi } from '../../../src/controllers/certificate/issue.js';
import type { IssueResult } from '../../../src/controllers/certificate/secret-writer.js';
import { acmeDriver } from '../../../src/controllers/drivers/acme.js';
import { CaIssuers } from '../../../src/controllers/drivers/ca-issuers.js';
import type { IssueRequest } from '../../../src/controllers/drivers/driver.js';
import { caDriver, selfSignedDriver } from '../../../src/controllers/drivers/one-shot.js';
import { issuerKindOf, issuerRules } from '../../../src/controllers/drivers/rules.js';
import { AccountSecretError, type AcmeAccounts } from '../../../src/issuers/acme/accounts.js';
import { AcmeError } from '../../../src/issuers/acme/problem.js';
import { KubeRequestError } from '../../../src/kube/errors.js';
import { SecretAnnotation } from '../../../src/model/secret.js';
import type { IssuerKind } from '../../../src/model/spec.js';
import { effectiveSpec } from '../../../src/policy/effective-spec.js';
import { parseCertificateChainPem, summarizeCertificate } from '../../../src/pki/certificates.js';
import { certificate, selectingAll, tlsPolicy, withCaIssuer, withKey, withPolicySpec, withSelfSigned, withSpec } from '../../support/builders.js';
import { FakeClock } from '../../support/fake-clock.js';
import { makeTestCa, TEST_NOW, type TestCa } from '../../support/pki.js';
import { governedBy, silentLog } from './fakes.js';

// The issuer drivers: CA and selfSigned sign in one step through a fake
// Secrets API; CaIssuers caches the CA for its TTL; the rules are a table;
// the ACME driver only translates what the (faked) ACME issuer and upkeep say.

const b64 = (s: string) => Buffer.from(s).toString('base64');
const notFound = () => new KubeRequestError('secrets "x" not found', 404, 'NotFound');
const caPolicy = tlsPolicy('ca', selectingAll, withCaIssuer('root'));
const server = 'https://acme.example/directory';
const acmePolicy = tlsPolicy(
  'le',
  selectingAll,
  withPolicySpec({ issuer: { acme: { server, privateKeySecretRef: { name: 'acct' }, solvers: [{ http01: { ingress: {} } }] } } }),
);

/** A Secrets API over a Map, recording every call; `fail` makes the next create/replace throw. */
class FakeSecrets implements SecretsApi {
  readonly store = new Map<string, V1Secret>();
  readonly calls: { op: 'read' | 'create' | 'replace'; name: string; body?: V1Secret }[] = [];
  fail: Error | undefined = undefined;
  private version = 100;

  readNamespacedSecret(p: { name: string; namespace: string }): Promise<V1Secret> {
    this.calls.push({ op: 'read', name: p.name });
    const found = this.store.get(`${p.namespace}/${p.name}`);
    return found === undefined ? Promise.reject(notFound()) : Promise.resolve(structuredClone(found));
  }

  createNamespacedSecret(p: { namespace: string; body: V1Secret }): Promise<V1Secret> {
    this.calls.push({ op: 'create', name: p.body.metadata?.name ?? '', body: p.body });
    return this.write(p.namespace, p.body);
  }

  replaceNamespacedSecret(p: { name: string; namespace: string; body: V1Secret }): Promise<V1Secret> {
    this.calls.push({ op: 'replace', name: p.name, body: p.body });
    return this.write(p.namespace, p.body);
  }

  private write(namespace: string, body: V1Secret): Promise<V1Secret> {
    if (this.fail !== undefined) return Promise.reject(this.fail);
    const written: V1Secret = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } };
    this.store.set(`${namespace}/${body.metadata?.name ?? ''}`, written);
    return Promise.resolve(written);
  }
}

/** A CA Secret as the operator's namespace holds it. */
const caSecret = (ca: TestCa, data: Record<string, string> = {}): V1Secret => ({
  metadata: { name: 'root', namespace: 'certkeeper' },
  data: { 'tls.crt': b64(ca['tls.crt']), 'tls.key': b64(ca['tls.key']), ...data },
});

function request(cert: Certificate, policy: TLSPolicy, kind: IssuerKind, over: Partial<IssueRequest> = {}): IssueRequest {
  return {
    key: `default/${cert.metadata.name}`,
    cert,
    governed: governedBy(cert, policy, kind),
    trigger: { reason: Reason.DoesNotExist, message: `Secret "${cert.spec.secretName}" does not exist` },
    secret: { state: 'absent' },
    secretKnownAbsent: true,
    now: TEST_NOW,
    log: silentLog,
    ...over,
  };
}

let ca: TestCa;
beforeAll(async () => {
  ca = await makeTestCa();
}, 30_000);

function caSetup(secret?: V1Secret) {
  const clock = new FakeClock(TEST_NOW.getTime());
  const reads: string[] = [];
  let current = secret;
  const secretsClient = {
    get: (namespace: string, name: string) => {
      reads.push(`${namespace}/${name}`);
      return Promise.resolve(current);
    },
  };
  const cas = new CaIssuers({ secrets: secretsClient, operatorNamespace: 'certkeeper', clock });
  const api = new FakeSecrets();
  return { clock, reads, cas, api, driver: caDriver({ cas, secrets: api }), setSecret: (s: V1Secret | undefined) => (current = s) };
}

const ecdsa = withKey({ algorithm: 'ECDSA', encoding: 'PKCS8', rotationPolicy: 'Always' });

describe('caDriver readiness', () => {
  it('a valid CA Secret is IssuerReady, naming its notAfter', async () => {
    const h = caSetup(caSecret(ca));
    await expect(h.driver.readiness(caPolicy)).resolves.toEqual({
      ok: true,
      explanation: { reason: Reason.IssuerReady, message: `CA Secret "root" is valid until ${ca.certificate.notAfter.toISOString()}` },
    });
  });

  it.each<[string, V1Secret | undefined, string, RegExp]>([
    ['missing', undefined, Reason.CASecretNotFound, /CA Secret certkeeper\/root does not exist/],
    ['without tls.key', { metadata: { name: 'root' }, data: { 'tls.crt': 'Zm9v' } }, Reason.CASecretInvalid, /has no tls\.key/],
    ['holding garbage', { metadata: { name: 'root' }, data: { 'tls.crt': b64('not a certificate'), 'tls.key': b64('nope') } }, Reason.CASecretInvalid, /.+/],
  ])('a CA Secret %s is not ready (%s)', async (_name, secret, reason, message) => {
    const h = caSetup(secret);
    const ready = await h.driver.readiness(caPolicy);
    expect(ready).toMatchObject({ ok: false, explanation: { reason } });
    expect(ready.explanation.message).toMatch(message);
  });

  it('reads the Secret afresh on every readiness check, within the cache TTL (a deleted CA is seen at once)', async () => {
    const h = caSetup(caSecret(ca));
    expect((await h.driver.readiness(caPolicy)).ok).toBe(true);
    h.setSecret(undefined);
    expect(await h.driver.readiness(caPolicy)).toMatchObject({ ok: false, explanation: { reason: Reason.CASecretNotFound } });
    expect(h.reads).toEqual(['certkeeper/root', 'certkeeper/root']);
  });

  it('an API failure reading the Secret is thrown, not reported as not ready', async () => {
    const clock = new FakeClock();
    const cas = new CaIssuers({ secrets: { get: () => Promise.reject(new KubeRequestError('boom', 500)) }, operatorNamespace: 'certkeeper', clock });
    await expect(caDriver({ cas, secrets: new FakeSecrets() }).readiness(caPolicy)).rejects.toThrow('boom');
  });
});

describe('CaIssuers', () => {
  it('keeps a loaded CA for its TTL, then reads it again; forget() reads again at once', async () => {
    const h = caSetup(caSecret(ca));
    const first = await h.cas.get('root');
    await h.clock.advance(9_999);
    expect(await h.cas.get('root')).toBe(first);
    expect(h.reads).toHaveLength(1);
    await h.clock.advance(1);
    expect(await h.cas.get('root')).not.toBe(first);
    expect(h.reads).toHaveLength(2);
    h.cas.forget('root');
    await h.cas.get('root');
    expect(h.reads).toHaveLength(3);
  });

  it('callers that miss the cache together share one read and one load', async () => {
    const h = caSetup(caSecret(ca));
    const loaded = await Promise.all(Array.from({ length: 16 }, () => h.cas.get('root')));
    expect(h.reads).toHaveLength(1);
    expect(new Set(loaded).size).toBe(1);
    await h.clock.advance(10_000);
    const again = await Promise.all([h.cas.get('root'), h.cas.get('root')]);
    expect(h.reads).toHaveLength(2);
    expect(again[0]).toBe(again[1]);
    expect(again[0]).not.toBe(loaded[0]);
  });

  it('a forget() during a load makes the next caller read again, and the earlier load is not cached', async () => {
    const h = caSetup(caSecret(ca));
    const during = h.cas.get('root');
    h.cas.forget('root');
    const after = h.cas.get('root');
    await Promise.all([during, after]);
    expect(h.reads).toHaveLength(2);
    expect(await h.cas.get('root')).toBe(await after);
    expect(h.reads).toHaveLength(2);
  });

  it('a failed load is shared by the callers waiting on it, and not kept', async () => {
    const h = caSetup(undefined);
    const results = await Promise.allSettled([h.cas.get('root'), h.cas.get('root')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(h.reads).toHaveLength(1);
    h.setSecret(caSecret(ca));
    await expect(h.cas.get('root')).resolves.toBeDefined();
    expect(h.reads).toHaveLength(2);
  });

  it('does not cache a failure', async () => {
    const h = caSetup(undefined);
    await expect(h.cas.get('root')).rejects.toMatchObject({ reason: 'CASecretNotFound' });
    h.setSecret(caSecret(ca));
    await expect(h.cas.get('root')).resolves.toBeDefined();
  });
});

describe('caDriver advance', () => {
  it('creates the Secret without reading when the cache knows it is absent', async () => {
    const h = caSetup(caSecret(ca));
    const cert = certificate('web', ecdsa);
    const step = await h.driver.advance(request(cert, caPolicy, 'ca'));
    if (step.kind !== 'issued') throw new Error(`expected issued, got ${step.kind}`);
    expect(step.cert).toBe(cert);
    expect(h.api.calls.map((c) => c.op)).toEqual(['create']);
    const written = h.api.store.get('default/web-tls');
    expect(written?.metadata?.annotations).toMatchObject({ [SecretAnnotation.revision]: '1', [SecretAnnotation.issuer]: 'ca:root', [SecretAnnotation.policy]: 'ca' });
    expect(step.result).toMatchObject({ revision: 1, reusedKey: false, secretResourceVersion: written?.metadata?.resourceVersion });
    const [leaf] = parseCertificateChainPem(Buffer.from(written?.data?.['tls.crt'] ?? '', 'base64').toString());
    expect(leaf && summarizeCertificate(leaf).serialNumber).toBe(step.result.serialNumber);
    expect(Buffer.from(written?.data?.['ca.crt'] ?? '', 'base64').toString()).toBe(ca['ca.crt']);
  });

  it('otherwise reads the Secret and replaces it with its resourceVersion (compare-and-swap), counting the revision up', async () => {
    const h = caSetup(caSecret(ca));
    h.api.store.set('default/web-tls', { metadata: { name: 'web-tls', namespace: 'default', resourceVersion: '5', annotations: { [SecretAnnotation.revision]: '2', 'other.example/keep': 'yes' } }, data: { extra: 'eA==' } });
    const step = await h.driver.advance(request(certificate('web', ecdsa), caPolicy, 'ca', { secretKnownAbsent: false, secret: { state: 'invalid', error: 'x', annotations: {} } }));
    expect(step.kind === 'issued' && step.result.revision).toBe(3);
    expect(h.api.calls.map((c) => c.op)).toEqual(['read', 'replace']);
    const body = h.api.calls[1]?.body;
    expect(body?.metadata?.resourceVersion).toBe('5');
    expect(body?.metadata?.annotations?.['other.example/keep']).toBe('yes');
    expect(body?.data?.extra).toBe('eA==');
  });

  it.each<[string, () => ReturnType<typeof caSetup>, Certificate, RegExp]>([
    ['a missing CA Secret (IssuerError)', () => caSetup(undefined), certificate('web', ecdsa), /^CA Secret certkeeper\/root does not exist$/],
    ['a key spec no key can have (PkiError)', () => caSetup(caSecret(ca)), certificate('web', withKey({ algorithm: 'ECDSA', size: 300, encoding: 'PKCS8', rotationPolicy: 'Always' })), /ECDSA key size 300 is not allowed/],
    [
      'a write the API server refuses (422)',
      () => {
        const h = caSetup(caSecret(ca));
        h.api.fail = new KubeRequestError('Secret "web-tls" is invalid: metadata.labels: Invalid value', 422, 'Invalid');
        return h;
      },
      certificate('web', ecdsa),
      /metadata\.labels: Invalid value/,
    ],
  ])('%s becomes a failed step with the message', async (_name, setup, cert, message) => {
    const h = setup();
    const step = await h.driver.advance(request(cert, caPolicy, 'ca'));
    expect(step.kind).toBe('failed');
    if (step.kind !== 'failed') return;
    expect(step.message).toMatch(message);
    expect(step.cert).toBe(cert);
    expect(step.retryAfterMs).toBeUndefined();
  });

  it.each<[string, Error]>([
    ['a server error (500)', new KubeRequestError('etcdserver: request timed out', 500)],
    ['a conflict (409)', new KubeRequestError('the object has been modified', 409, 'Conflict')],
    ['an error without a status', new Error('socket hang up')],
  ])('%s is thrown, for the work queue to retry', async (_name, error) => {
    const h = caSetup(caSecret(ca));
    h.api.fail = error;
    await expect(h.driver.advance(request(certificate('web', ecdsa), caPolicy, 'ca'))).rejects.toBe(error);
  });
});

describe('selfSignedDriver', () => {
  it('is always ready', async () => {
    await expect(selfSignedDriver({ secrets: new FakeSecrets() }).readiness(tlsPolicy('s', withSelfSigned))).resolves.toMatchObject({ ok: true, explanation: { reason: Reason.IssuerReady } });
  });

  it('issues a self-signed certificate into a new Secret', async () => {
    const api = new FakeSecrets();
    const policy = tlsPolicy('s', selectingAll, withSelfSigned);
    const step = await selfSignedDriver({ secrets: api }).advance(request(certificate('web', ecdsa, withSpec({ commonName: 'web.example.com' })), policy, 'selfSigned'));
    expect(step.kind).toBe('issued');
    const written = api.store.get('default/web-tls');
    const [leaf] = parseCertificateChainPem(Buffer.from(written?.data?.['tls.crt'] ?? '', 'base64').toString());
    const summary = leaf && summarizeCertificate(leaf);
    expect(summary?.issuer).toBe(summary?.subject);
    expect(written?.metadata?.annotations?.[SecretAnnotation.issuer]).toBe('selfSigned');
  });
});

describe('issuer rules', () => {
  it.each<[string, TLSPolicy, IssuerKind | undefined, string | undefined]>([
    ['ca', caPolicy, 'ca', 'ca:root'],
    ['selfSigned', tlsPolicy('s', withSelfSigned), 'selfSigned', 'selfSigned'],
    ['acme', acmePolicy, 'acme', `acme:${server}`],
    ['no issuer', tlsPolicy('v'), undefined, undefined],
  ])('%s', (_name, policy, kind, identity) => {
    expect(issuerKindOf(policy)).toBe(kind);
    if (kind !== undefined) expect(issuerRules[kind].identity(policy)).toBe(identity);
  });

  it.each<[IssuerKind, TLSPolicy, Certificate, string | undefined]>([
    ['ca', caPolicy, certificate('web', withSpec({ ipAddresses: ['10.0.0.1'] })), undefined],
    ['selfSigned', tlsPolicy('s', withSelfSigned), certificate('web', withSpec({ isCA: true })), undefined],
    ['acme', acmePolicy, certificate('web', withSpec({ ipAddresses: ['10.0.0.1'] })), Reason.InvalidSpec],
    ['acme', acmePolicy, certificate('web', withSpec({ isCA: true })), Reason.InvalidSpec],
    ['acme', acmePolicy, certificate('web'), undefined],
  ])('%s checkSpec of %#', (kind, policy, cert, reason) => {
    expect(issuerRules[kind].checkSpec({ policy, spec: effectiveSpec(cert.spec, policy) })?.reason).toBe(reason);
  });

  it('the names compared with the Secret: as requested for a private CA; DNS names only, commonName among them, for ACME', () => {
    const cert = certificate('web', withSpec({ commonName: 'www.example.com', dnsNames: ['web.example.com'] }));
    expect(issuerRules.ca.issuedNames(effectiveSpec(cert.spec, caPolicy))).toEqual({ commonName: { value: 'www.example.com' }, dnsNames: ['web.example.com'] });
    expect(issuerRules.acme.issuedNames(effectiveSpec(cert.spec, acmePolicy))).toEqual({ commonName: undefined, dnsNames: ['web.example.com', 'www.example.com'] });
  });
});

describe('acmeDriver', () => {
  type IssueArgs = Parameters<AcmeIssuer['issue']>;

  function acmeSetup(outcome: AcmeOutcome) {
    const issued: IssueArgs[] = [];
    const calls: string[] = [];
    const issuer = {
      issue: (...args: IssueArgs) => {
        issued.push(args);
        return Promise.resolve(outcome);
      },
      forget: (key: string) => void calls.push(`issuer.forget ${key}`),
    } satisfies Pick<AcmeIssuer, 'issue' | 'forget'>;
    const upkeep = {
      refreshRenewalInfo: (key: string) => {
        calls.push(`refreshRenewalInfo ${key}`);
        return Promise.resolve(1234);
      },
      cleanLeftovers: (cert: Certificate) => {
        calls.push(`cleanLeftovers ${cert.metadata.name}`);
        return Promise.resolve();
      },
      syncRevokeFinalizer: (cert: Certificate, policy: TLSPolicy | undefined) => {
        calls.push(`syncRevokeFinalizer ${cert.metadata.name} ${policy?.metadata.name ?? '-'}`);
        return Promise.resolve();
      },
      release: (cert: Certificate) => {
        calls.push(`release ${cert.metadata.name}`);
        return Promise.resolve('revoked');
      },
      forget: (key: string) => void calls.push(`upkeep.forget ${key}`),
    } satisfies Pick<AcmeUpkeep, 'refreshRenewalInfo' | 'cleanLeftovers' | 'syncRevokeFinalizer' | 'release' | 'forget'>;
    const accounts = { forget: () => undefined } as unknown as AcmeAccounts;
    // The classes keep private state, so the fakes are cast to them; the `satisfies` above checks the methods used.
    const driver = acmeDriver({ accounts, clock: new FakeClock() }, issuer as unknown as AcmeIssuer, upkeep as unknown as AcmeUpkeep);
    return { driver, issued, calls };
  }

  const cert = certificate('web');
  const failed = (error: AcmeError): AcmeOutcome => ({ kind: 'failed', error, cert });
  const result = { revision: 1 } as IssueResult;

  it.each<[string, AcmeOutcome, unknown]>([
    ['issued', { kind: 'issued', result, cert }, { kind: 'issued', result, cert }],
    ['gone', { kind: 'gone' }, { kind: 'gone' }],
    [
      'waiting for the account',
      { kind: 'waiting', ms: 10_000, violation: { reason: Reason.AccountNotReady, message: 'no account yet' } },
      { kind: 'waiting', ms: 10_000, why: { reason: Reason.AccountNotReady, message: 'no account yet' }, prerequisite: true },
    ],
    [
      'waiting for the CA',
      { kind: 'waiting', ms: 250, violation: { reason: Reason.Validating, message: 'the CA is validating' } },
      { kind: 'waiting', ms: 250, why: { reason: Reason.Validating, message: 'the CA is validating' }, prerequisite: false },
    ],
    [
      'failed with a Retry-After',
      failed(new AcmeError('rateLimited', 'rate limited', { retryAfterMs: 3_600_000 })),
      { kind: 'failed', message: 'rate limited', retryAfterMs: 3_600_000, cert, side: 'issuer', rateLimited: true },
    ],
    [
      'failed on the CA side',
      failed(new AcmeError('transient', 'connect ECONNREFUSED')),
      { kind: 'failed', message: 'connect ECONNREFUSED', retryAfterMs: undefined, cert, side: 'issuer', rateLimited: false },
    ],
    [
      'failed for good',
      failed(new AcmeError('final', 'unauthorized')),
      { kind: 'failed', message: 'unauthorized', retryAfterMs: undefined, cert, side: 'certificate', rateLimited: false },
    ],
  ])('maps %s', async (_name, outcome, step) => {
    const h = acmeSetup(outcome);
    const r = request(cert, acmePolicy, 'acme', { trigger: { reason: Reason.Renewing, message: 'due' } });
    await expect(h.driver.advance(r)).resolves.toEqual(step);
    expect(h.issued).toEqual([[r.key, r.cert, r.governed, r.trigger, r.secret, r.log]]);
  });

  it('hands upkeep, finalizer, release and forget to AcmeUpkeep (and forget to the issuer too)', async () => {
    const h = acmeSetup({ kind: 'gone' });
    const governed = governedBy(cert, acmePolicy, 'acme');
    expect(h.driver.finalizer).toBe(REVOKE_FINALIZER);
    const secret = { state: 'valid' as const, facts: {} as never, annotations: {} };
    await expect(h.driver.keepCurrent?.({ key: 'default/web', cert, governed, secret, log: silentLog })).resolves.toBe(1234);
    await h.driver.settle?.(cert, undefined, silentLog);
    await h.driver.syncFinalizer?.(cert, acmePolicy);
    await expect(h.driver.release?.(cert, acmePolicy, silentLog)).resolves.toBe('revoked');
    h.driver.forget?.('default/web');
    expect(h.calls).toEqual([
      'refreshRenewalInfo default/web',
      'cleanLeftovers web',
      'syncRevokeFinalizer web le',
      'release web',
      'issuer.forget default/web',
      'upkeep.forget default/web',
    ]);
  });
});

describe('acmeDriver readiness (the account)', () => {
  function withAccounts(accountKey: () => Promise<{ pem: string; thumbprint: string } | undefined>) {
    const accounts = { forget: () => undefined, accountKey, eabKey: () => Promise.resolve(undefined) } as unknown as AcmeAccounts;
    const none = {} as unknown;
    return acmeDriver({ accounts, clock: new FakeClock() }, none as AcmeIssuer, none as AcmeUpkeep);
  }
  const registered = tlsPolicy('le', (p) => {
    p.spec = acmePolicy.spec;
    p.status = { acme: { server, accountURI: 'https://acme.example/acct/1', accountKeyThumbprint: 'tp' } };
  });

  it('a policy whose status records this account is ready, and backs off while not', async () => {
    const ready = await withAccounts(() => Promise.resolve({ pem: 'pem', thumbprint: 'tp' })).readiness(registered);
    expect(ready).toEqual({
      ok: true,
      explanation: { reason: Reason.AccountRegistered, message: `ACME account https://acme.example/acct/1 is registered with ${server}` },
      acme: registered.status?.acme,
      backOffWhileNotReady: true,
    });
  });

  it.each<[string, Error, string]>([
    ['an unusable account key Secret', new AccountSecretError('AccountKeyInvalid', 'account key Secret certkeeper/acct has no "tls.key"'), Reason.AccountKeyInvalid],
    ['a refused Secret write', new ApiException(403, 'Forbidden', '{"message":"secrets is forbidden"}', {}), Reason.AccountKeyInvalid],
    ['a CA that refuses', new AcmeError('final', 'the CA is closed'), Reason.AccountRegistrationFailed],
  ])('%s is not ready', async (_name, error, reason) => {
    const ready = await withAccounts(() => Promise.reject(error)).readiness(registered);
    expect(ready).toMatchObject({ ok: false, explanation: { reason }, backOffWhileNotReady: true, acme: registered.status?.acme });
  });

  it('anything else is thrown', async () => {
    await expect(withAccounts(() => Promise.reject(new Error('bug'))).readiness(registered)).rejects.toThrow('bug');
  });
});
