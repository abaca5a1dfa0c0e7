import { X509Certificate, createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OperatorProcess } from '../../hack/env/operator.js';
import type { CertificateSpec } from '../../src/api/certificate.js';
import { keyMatchesCertificate, summarizeCertificate, parseCertificateChainPem, verifyChain } from '../../src/pki/certificates.js';
import { parsePrivateKeyPem } from '../../src/pki/keys.js';
import {
  condition,
  createCaSecret,
  createCertificate,
  createPolicy,
  deletePolicy,
  getCertificate,
  getPolicy,
  patchPolicySpec,
  readSecret,
  replaceCertificateSpec,
  secretText,
  startTestOperator,
  uniqueSuffix,
  waitForCondition,
  OPERATOR_NAMESPACE,
} from '../support/certkeeper.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';

// One operator process for the file; every test has its own namespace and its
// own TLSPolicy (referenced by policyRef), so tests do not see each other.

let operator: OperatorProcess;
const caSecret = `it-ca-${uniqueSuffix()}`;
const policies: string[] = [];

beforeAll(async () => {
  await createCaSecret(caSecret);
  operator = await startTestOperator('issuance');
});

afterAll(async () => {
  await operator.process.stop();
  for (const p of policies) await deletePolicy(p);
});

async function policy(spec: Parameters<typeof createPolicy>[1]): Promise<string> {
  const name = `it-${uniqueSuffix()}`;
  policies.push(name);
  await createPolicy(name, spec);
  return name;
}

function verifySecret(secret: Awaited<ReturnType<typeof readSecret>>) {
  const chain = secretText(secret, 'tls.crt');
  const key = secretText(secret, 'tls.key');
  const ca = secretText(secret, 'ca.crt');
  const [leaf] = parseCertificateChainPem(chain);
  if (leaf === undefined) throw new Error('no leaf');
  expect(secret.type).toBe('kubernetes.io/tls');
  expect(keyMatchesCertificate(key, leaf)).toBe(true);
  expect(verifyChain({ chainPem: chain, caPem: ca })).toEqual({ valid: true });
  return { summary: summarizeCertificate(leaf), keyPem: key, chainPem: chain, caPem: ca };
}

describe('issuance with the selfSigned and CA issuers', () => {
  it('a self-signed Certificate becomes Ready with the Secret it describes', async () => {
    const ns = await createTestNamespace('selfsigned');
    const p = await policy({ issuer: { selfSigned: {} } });
    await createCertificate(ns.name, 'web', {
      secretName: 'web-tls',
      commonName: 'web',
      dnsNames: ['web.example.com', 'www.example.com'],
      privateKey: { algorithm: 'ECDSA', size: 384, encoding: 'PKCS8', rotationPolicy: 'Always' },
      policyRef: { name: p },
      secretTemplate: { labels: { app: 'web' }, annotations: { owner: 'team-web' } },
    });
    const cert = await waitForCondition(ns.name, 'web', { status: 'True' });
    const secret = await readSecret(ns.name, 'web-tls');
    const { summary, keyPem } = verifySecret(secret);
    expect(summary.dnsNames.sort()).toEqual(['web.example.com', 'www.example.com']);
    expect(summary.commonName).toBe('web');
    expect([summary.keyAlgorithm, summary.keySize]).toEqual(['ECDSA', 384]);
    expect(keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(secretText(secret, 'ca.crt')).toBe(secretText(secret, 'tls.crt'));
    expect(secret.metadata?.labels).toMatchObject({ app: 'web', 'app.kubernetes.io/managed-by': 'certkeeper' });
    expect(secret.metadata?.annotations).toMatchObject({ owner: 'team-web', 'certkeeper.dev/certificate-name': 'web', 'certkeeper.dev/revision': '1' });
    expect(cert.status).toMatchObject({
      revision: 1,
      policy: p,
      serialNumber: summary.serialNumber,
      fingerprintSHA256: summary.fingerprintSHA256,
      notAfter: summary.notAfter.toISOString().replace('.000Z', 'Z'),
      renewalBasis: 'Default',
    });
    expect(condition(cert, 'PolicyCompliant')?.status).toBe('True');
    expect(cert.status?.conditions?.find((c) => c.type === "Ready")?.observedGeneration).toBe(cert.metadata.generation);
  });

  it.each<[string, NonNullable<CertificateSpec['privateKey']>, string, string[]]>([
    ['RSA 3072 PKCS1', { algorithm: 'RSA', size: 3072, encoding: 'PKCS1', rotationPolicy: 'Always' }, '-----BEGIN RSA PRIVATE KEY-----', ['digital signature', 'key encipherment', 'client auth']],
    ['ECDSA P-256 SEC1', { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' }, '-----BEGIN EC PRIVATE KEY-----', ['digital signature', 'client auth']],
    ['Ed25519', { algorithm: 'Ed25519', encoding: 'PKCS8', rotationPolicy: 'Always' }, '-----BEGIN PRIVATE KEY-----', ['digital signature', 'client auth']],
  ])('a CA-issued %s Certificate carries what was asked', async (_name, privateKey, pemHeader, usages) => {
    const ns = await createTestNamespace('ca');
    const p = await policy({ issuer: { ca: { secretName: caSecret } } });
    await createCertificate(ns.name, 'client', {
      secretName: 'client-tls',
      commonName: 'client',
      dnsNames: ['client.internal.example'],
      ipAddresses: ['10.1.2.3', '2001:db8::1'],
      uris: ['spiffe://example/ns/client'],
      emailAddresses: ['ops@example.com'],
      usages: ['digital signature', 'key encipherment', 'client auth'],
      duration: '720h',
      privateKey,
      policyRef: { name: p },
    });
    await waitForCondition(ns.name, 'client', { status: 'True' });
    const { summary, keyPem, chainPem, caPem } = verifySecret(await readSecret(ns.name, 'client-tls'));
    expect(keyPem.startsWith(pemHeader)).toBe(true);
    expect(summary.ipAddresses).toEqual(['10.1.2.3', '2001:db8::1']);
    expect(summary.uris).toEqual(['spiffe://example/ns/client']);
    expect(summary.emailAddresses).toEqual(['ops@example.com']);
    expect(summary.usages.sort()).toEqual([...usages].sort());
    expect(summary.notAfter.getTime() - summary.notBefore.getTime()).toBe(720 * 3_600_000);
    // Independent check with OpenSSL: the leaf is issued by the CA in ca.crt.
    const leaf = new X509Certificate(chainPem);
    const root = new X509Certificate(caPem);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(createPublicKey(parsePrivateKeyPem(keyPem).keyObject).export({ type: 'spki', format: 'der' })).toEqual(leaf.publicKey.export({ type: 'spki', format: 'der' }));
  });

  it('renews when the renewal time passes', async () => {
    const ns = await createTestNamespace('renew');
    const p = await policy({ issuer: { ca: { secretName: caSecret } } });
    await createCertificate(ns.name, 'short', { secretName: 'short-tls', dnsNames: ['short.example.com'], duration: '60s', renewBeforePercentage: 85, privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' }, policyRef: { name: p } });
    const first = await waitForCondition(ns.name, 'short', { status: 'True' });
    expect(first.status?.renewalBasis).toBe('RenewBeforePercentage');
    const renewAt = Date.parse(first.status?.renewalTime ?? '');
    const notBefore = Date.parse(first.status?.notBefore ?? '');
    expect(renewAt - notBefore).toBeGreaterThanOrEqual(7_000); // 85 % of 60 s before notAfter = 9 s, minus at most ~1 s jitter
    expect(renewAt - notBefore).toBeLessThanOrEqual(9_000);
    const second = await waitForCondition(ns.name, 'short', { status: 'True', where: (c) => (c.status?.revision ?? 0) >= 2 }, 30_000);
    expect(second.status?.serialNumber).not.toBe(first.status?.serialNumber);
    expect(Date.parse(second.status?.notBefore ?? '')).toBeGreaterThanOrEqual(renewAt - 1000);
    verifySecret(await readSecret(ns.name, 'short-tls'));
  });

  it('restores a deleted Secret, and re-issues a corrupted or mismatched one', async () => {
    const kube = testKube();
    const ns = await createTestNamespace('restore');
    const p = await policy({ issuer: { ca: { secretName: caSecret } } });
    await createCertificate(ns.name, 'app', { secretName: 'app-tls', dnsNames: ['app.example.com'], privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' }, policyRef: { name: p } });
    await waitForCondition(ns.name, 'app', { status: 'True' });

    await kube.core.deleteNamespacedSecret({ namespace: ns.name, name: 'app-tls' });
    await waitForCondition(ns.name, 'app', { status: 'True', where: (c) => c.status?.revision === 1 });
    const restored = await waitFor(async () => readSecret(ns.name, 'app-tls'), { description: 'app-tls restored' });
    verifySecret(restored);

    // Someone pastes another key into the Secret: the pair no longer matches.
    const other = await readSecret(ns.name, 'app-tls');
    const foreignKey = (await import('../../src/pki/keys.js')).encodePrivateKeyPem(
      await (await import('../../src/pki/keys.js')).generatePrivateKey({ algorithm: 'ECDSA' }),
      'PKCS1',
    );
    await kube.core.replaceNamespacedSecret({
      namespace: ns.name,
      name: 'app-tls',
      body: { ...other, data: { ...other.data, 'tls.key': Buffer.from(foreignKey).toString('base64') } },
    });
    await waitFor(
      async () => {
        const s = await readSecret(ns.name, 'app-tls');
        return s.metadata?.annotations?.['certkeeper.dev/revision'] === '2' ? s : undefined;
      },
      { description: 'mismatched key replaced by revision 2' },
    ).then(verifySecret);

    // Garbage in tls.crt.
    const current = await readSecret(ns.name, 'app-tls');
    await kube.core.replaceNamespacedSecret({
      namespace: ns.name,
      name: 'app-tls',
      body: { ...current, data: { ...current.data, 'tls.crt': Buffer.from('not a certificate').toString('base64') } },
    });
    await waitFor(
      async () => {
        const s = await readSecret(ns.name, 'app-tls');
        return s.metadata?.annotations?.['certkeeper.dev/revision'] === '3' ? s : undefined;
      },
      { description: 'corrupted certificate replaced by revision 3' },
    ).then(verifySecret);
  });

  it('re-issues when the spec changes, keeping the key only with rotationPolicy Never', async () => {
    const ns = await createTestNamespace('spec');
    const p = await policy({ issuer: { ca: { secretName: caSecret } } });
    await createCertificate(ns.name, 'api', { secretName: 'api-tls', dnsNames: ['api.example.com'], privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Never' }, policyRef: { name: p } });
    await waitForCondition(ns.name, 'api', { status: 'True' });
    const before = verifySecret(await readSecret(ns.name, 'api-tls'));

    await replaceCertificateSpec(ns.name, 'api', { dnsNames: ['api.example.com', 'api2.example.com'] });
    await waitForCondition(ns.name, 'api', { status: 'True', where: (c) => c.status?.revision === 2 });
    const renamed = verifySecret(await readSecret(ns.name, 'api-tls'));
    expect(renamed.summary.dnsNames.sort()).toEqual(['api.example.com', 'api2.example.com']);
    expect(renamed.keyPem).toBe(before.keyPem);

    await replaceCertificateSpec(ns.name, 'api', { privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' }, duration: '100h' });
    await waitForCondition(ns.name, 'api', { status: 'True', where: (c) => c.status?.revision === 3 });
    const rotated = verifySecret(await readSecret(ns.name, 'api-tls'));
    expect(rotated.keyPem).not.toBe(before.keyPem);
    expect(rotated.summary.notAfter.getTime() - rotated.summary.notBefore.getTime()).toBe(100 * 3_600_000);

    await replaceCertificateSpec(ns.name, 'api', { privateKey: { algorithm: 'RSA', size: 2048, encoding: 'PKCS8', rotationPolicy: 'Never' } });
    await waitForCondition(ns.name, 'api', { status: 'True', where: (c) => c.status?.revision === 4 });
    const rsa = verifySecret(await readSecret(ns.name, 'api-tls'));
    expect([rsa.summary.keyAlgorithm, rsa.keyPem.split('\n')[0]]).toEqual(['RSA', '-----BEGIN PRIVATE KEY-----']);
  });
});

describe('Secret ownership', () => {
  it('a second Certificate naming the same Secret is refused instead of fighting over it', async () => {
    const ns = await createTestNamespace('owner');
    const p = await policy({ issuer: { ca: { secretName: caSecret } } });
    const spec = (name: string): CertificateSpec => ({ secretName: 'shared-tls', dnsNames: [`${name}.example.com`], privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' }, policyRef: { name: p } });
    await createCertificate(ns.name, 'first', spec('first'));
    await waitForCondition(ns.name, 'first', { status: 'True' });
    await createCertificate(ns.name, 'another', spec('another'));
    const refused = await waitForCondition(ns.name, 'another', { status: 'False', reason: 'SecretInUse' });
    expect(condition(refused, 'Ready')?.message).toContain('Certificate "first"');
    // The owner is left alone: still revision 1 a moment later.
    await new Promise((r) => setTimeout(r, 1500));
    const secret = await readSecret(ns.name, 'shared-tls');
    expect(secret.metadata?.annotations?.['certkeeper.dev/revision']).toBe('1');
    expect(verifySecret(secret).summary.dnsNames).toEqual(['first.example.com']);
  });
});

describe('policy selection and guardrails', () => {
  it('selects the policy by namespace labels, refuses what its guardrails forbid, and issues once the policy allows it', async () => {
    const kube = testKube();
    const ns = await createTestNamespace('guard');
    const team = `team-${uniqueSuffix()}`;
    await kube.core.patchNamespace(
      { name: ns.name, body: { metadata: { labels: { team } } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', (await import('@kubernetes/client-node')).PatchStrategy.MergePatch),
    );
    const p = await policy({
      namespaceSelector: { matchLabels: { team } },
      issuer: { ca: { secretName: caSecret } },
      certificates: { allowedDomains: ['*.shop.example'], maxDuration: '240h', allowedKeyAlgorithms: ['ECDSA'] },
    });
    await createCertificate(ns.name, 'shop', { secretName: 'shop-tls', dnsNames: ['www.shop.example', 'bank.example'], duration: '2160h' });
    const refused = await waitForCondition(ns.name, 'shop', { status: 'False', reason: 'DomainNotAllowed' });
    const ready = condition(refused, 'Ready');
    expect(ready?.message).toContain('"bank.example"');
    expect(ready?.message).toContain('maxDuration 240h');
    expect(ready?.message).toContain('privateKey.algorithm RSA is not allowed');
    expect(condition(refused, 'PolicyCompliant')).toMatchObject({ status: 'False', reason: 'DomainNotAllowed' });
    expect(refused.status?.policy).toBe(p);
    await expect(readSecret(ns.name, 'shop-tls')).rejects.toMatchObject({ code: 404 });
    // Events are written best-effort after the status: wait for it rather than race it.
    await waitFor(
      async ({ observe }) => {
        const events = await kube.core.listNamespacedEvent({ namespace: ns.name });
        const reasons = events.items.map((e) => e.reason);
        observe(reasons);
        return reasons.includes('DomainNotAllowed') ? true : undefined;
      },
      { description: 'a DomainNotAllowed Warning event' },
    );

    await patchPolicySpec(p, { certificates: { allowedDomains: ['*.shop.example', 'bank.example'], maxDuration: '2160h' } });
    await waitForCondition(ns.name, 'shop', { status: 'True' });
    verifySecret(await readSecret(ns.name, 'shop-tls'));
  });

  it('says so when no policy governs the namespace, or the referenced one is missing', async () => {
    const ns = await createTestNamespace('nopolicy');
    await createCertificate(ns.name, 'orphan', { secretName: 'orphan-tls', dnsNames: ['orphan.example.com'] });
    const orphan = await waitForCondition(ns.name, 'orphan', { status: 'False', reason: 'NoPolicy' });
    expect(condition(orphan, 'Ready')?.message).toContain(`namespace "${ns.name}"`);
    await createCertificate(ns.name, 'dangling', { secretName: 'dangling-tls', dnsNames: ['d.example.com'], policyRef: { name: 'does-not-exist' } });
    await waitForCondition(ns.name, 'dangling', { status: 'False', reason: 'PolicyNotFound' });
  });

  it('reports a missing CA Secret on the policy and the Certificate, and issues once it appears', async () => {
    const ns = await createTestNamespace('noca');
    const missing = `it-missing-ca-${uniqueSuffix()}`;
    const p = await policy({ issuer: { ca: { secretName: missing } } });
    await waitFor(
      async ({ observe }) => {
        const pol = await getPolicy(p);
        observe(pol.status);
        const ready = condition(pol, 'Ready');
        return ready?.status === 'False' && ready.reason === 'CASecretNotFound' ? pol : undefined;
      },
      { description: `TLSPolicy ${p} Ready=False/CASecretNotFound` },
    );
    await createCertificate(ns.name, 'waiting', { secretName: 'waiting-tls', dnsNames: ['w.example.com'], policyRef: { name: p } });
    const failed = await waitForCondition(ns.name, 'waiting', { status: 'False', reason: 'IssuanceFailed' });
    expect(failed.status?.failedIssuanceAttempts).toBe(1);
    expect(failed.status?.lastFailureMessage).toContain(`${OPERATOR_NAMESPACE}/${missing} does not exist`);
    expect(condition(failed, 'Issuing')).toMatchObject({ status: 'False', reason: 'Backoff' });

    await createCaSecret(missing);
    await waitForCondition(ns.name, 'waiting', { status: 'True' }, 40_000);
    const done = await getCertificate(ns.name, 'waiting');
    expect(done.status?.failedIssuanceAttempts).toBeUndefined();
    expect(condition(done, 'Issuing')).toBeUndefined();
    await waitFor(async () => (condition(await getPolicy(p), 'Ready')?.status === 'True' ? true : undefined), { description: `TLSPolicy ${p} Ready` });
  });
});
