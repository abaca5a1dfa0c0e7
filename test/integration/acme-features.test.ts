import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { freePort } from '../../hack/env/ports.js';
import { parseCertificateChainPem } from '../../src/pki/certificates.js';
import { accountOrders, acmeIssuer, pebbleManagement, startAcmeOperator, waitForPolicyReady, type AcmeIssuerSpec } from '../support/acme.js';
import { startPebbleVariant, type PebbleVariant } from '../support/acme-pebble.js';
import { condition, createCertificate, createPolicy, deletePolicy, getCertificate, OPERATOR_NAMESPACE, readSecret, secretText, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';

// A Pebble of this file's own that requires External Account Binding, offers
// two profiles and issues under two roots (an alternate chain for every
// certificate); names resolve through the shared challtestsrv (127.0.0.1).

const EAB_KID = 'kid-certkeeper';
const EAB_KEY = Buffer.from('certkeeper EAB HMAC key for the Pebble tests').toString('base64url');
const SHORT_LIVED = 6 * 86_400;
let pebble: PebbleVariant;
let operator: OperatorProcess;
const policies: string[] = [];
const secrets: string[] = [];

beforeAll(async () => {
  const http01Port = await freePort();
  pebble = await startPebbleVariant('features', {
    dnsServer: inject('acme').dnsServer,
    httpPort: http01Port,
    eabKeys: { [EAB_KID]: EAB_KEY },
    profiles: {
      default: { description: 'The default profile', validityPeriod: 90 * 86_400 },
      shortlived: { description: 'Six days', validityPeriod: SHORT_LIVED },
    },
    alternateRoots: 1,
  });
  operator = await startAcmeOperator('acme-features', { http01Port, caFile: pebble.caFile, nameserver: inject('acme').dnsServer });
  for (const [name, key] of [['eab-right', EAB_KEY], ['eab-wrong', Buffer.from('not the key the CA gave out at all').toString('base64url')]] as const) {
    const full = `${name}-${operator.httpPort}`;
    secrets.push(full);
    await testKube().core.createNamespacedSecret({ namespace: OPERATOR_NAMESPACE, body: { metadata: { name: full }, stringData: { secret: key } } });
  }
}, 120_000);

afterAll(async () => {
  await operator?.process.stop();
  for (const p of policies) await deletePolicy(p);
  await pebble?.stop();
  for (const s of secrets) await testKube().core.deleteNamespacedSecret({ namespace: OPERATOR_NAMESPACE, name: s }).catch(() => undefined);
});

async function policy(extra: Partial<AcmeIssuerSpec>): Promise<string> {
  const name = `it-feat-${uniqueSuffix()}`;
  policies.push(name);
  await createPolicy(name, { issuer: { acme: acmeIssuer(pebble.directoryUrl, { solvers: [{ http01: {} }], ...extra }) } });
  return name;
}

const eab = (secret: 'eab-right' | 'eab-wrong', keyAlgorithm: 'HS256' | 'HS384' | 'HS512' = 'HS256') => ({
  externalAccountBinding: { keyID: EAB_KID, keyAlgorithm, keySecretRef: { name: `${secret}-${operator.httpPort}`, key: 'secret' } },
});

async function root(index: number): Promise<X509Certificate> {
  const answer = await pebbleManagement(pebble.managementUrl, pebble.caFile, `/roots/${index}`);
  expect(answer.status).toBe(200);
  return new X509Certificate(answer.text);
}

async function chainOf(namespace: string, secretName: string): Promise<X509Certificate[]> {
  const pem = secretText(await readSecret(namespace, secretName), 'tls.crt');
  return parseCertificateChainPem(pem).map((c) => new X509Certificate(Buffer.from(c.rawData)));
}

describe('External Account Binding', () => {
  it('without a binding the CA that requires one is named as the reason', async () => {
    const p = await policy({});
    const failed = await waitForPolicyReady(p, 'False', 'AccountRegistrationFailed');
    expect(condition(failed, 'Ready')?.message).toContain('requires External Account Binding');
  });

  it('a wrong HMAC key gives the CA’s refusal, and the Certificate says it waits for the account', async () => {
    const p = await policy(eab('eab-wrong'));
    const failed = await waitForPolicyReady(p, 'False', 'AccountRegistrationFailed');
    expect(condition(failed, 'Ready')?.message).toMatch(/registering the ACME account at .*: .*(HMAC|signature|binding|verify)/i);
    const ns = await createTestNamespace('eab-wrong');
    await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: ['eab-wrong.acme.test'], policyRef: { name: p } });
    const waiting = await waitForCondition(ns.name, 'web', { type: 'Issuing', status: 'False', reason: 'AccountNotReady' });
    expect(condition(waiting, 'Issuing')?.message).toContain(`waiting for TLSPolicy "${p}" to register its ACME account`);
  });

  it('the right key registers the account, and issuance succeeds', async () => {
    const p = await policy(eab('eab-right'));
    const ready = await waitForPolicyReady(p, 'True', 'AccountRegistered');
    expect(ready.status?.acme).toMatchObject({ eabKeyID: EAB_KID, server: pebble.directoryUrl });
    const ns = await createTestNamespace('eab-right');
    await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: ['eab-right.acme.test'], policyRef: { name: p } });
    await waitForCondition(ns.name, 'web', { status: 'True' }, 30_000);
  });
});

describe('profiles and chains', () => {
  it('orders with the policy’s profile: the certificate has the profile’s lifetime', async () => {
    const p = await policy({ ...eab('eab-right'), profile: 'shortlived' });
    const ns = await createTestNamespace('profile');
    await createCertificate(ns.name, 'short', { secretName: 'short-tls', dnsNames: ['short.acme.test'], policyRef: { name: p } });
    await waitForCondition(ns.name, 'short', { status: 'True' }, 30_000);
    const [leaf] = await chainOf(ns.name, 'short-tls');
    const lifetime = (Date.parse(leaf?.validTo ?? '') - Date.parse(leaf?.validFrom ?? '')) / 1000;
    expect(Math.abs(lifetime - SHORT_LIVED)).toBeLessThanOrEqual(1);
    expect((await accountOrders(p)).map((o) => o.profile)).toEqual(['shortlived']);
  });

  it('an unknown profile fails with the CA’s words', async () => {
    const p = await policy({ ...eab('eab-right'), profile: 'no-such-profile' });
    const ns = await createTestNamespace('profile-bad');
    await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: ['bad-profile.acme.test'], policyRef: { name: p } });
    const failed = await waitForCondition(ns.name, 'web', { status: 'False', reason: 'IssuanceFailed' }, 30_000);
    expect(failed.status?.lastFailureMessage).toContain('no-such-profile');
  });

  it('preferredChain picks the chain up to the named root; without it, the default chain', async () => {
    const alternate = await root(1);
    const cn = /CN=([^\n]+)/.exec(alternate.subject)?.[1] ?? '';
    expect(cn).not.toBe('');
    const ns = await createTestNamespace('chain');
    const preferred = await policy({ ...eab('eab-right'), preferredChain: cn });
    const plain = await policy(eab('eab-right'));
    await createCertificate(ns.name, 'preferred', { secretName: 'preferred-tls', dnsNames: ['preferred.acme.test'], policyRef: { name: preferred } });
    await createCertificate(ns.name, 'plain', { secretName: 'plain-tls', dnsNames: ['plain.acme.test'], policyRef: { name: plain } });
    await waitForCondition(ns.name, 'preferred', { status: 'True' }, 30_000);
    await waitForCondition(ns.name, 'plain', { status: 'True' }, 30_000);
    const top = async (secretName: string) => (await chainOf(ns.name, secretName)).at(-1);
    expect((await top('preferred-tls'))?.verify(alternate.publicKey)).toBe(true);
    expect((await top('plain-tls'))?.verify((await root(0)).publicKey)).toBe(true);
    expect((await top('plain-tls'))?.verify(alternate.publicKey)).toBe(false);
    await waitFor(async () => ((await getCertificate(ns.name, 'plain')).status?.acme === undefined ? true : undefined), { description: 'order cleared' });
  });
});
