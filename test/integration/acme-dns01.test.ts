import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startBind, type BindTsigAlgorithm, type RunningBind } from '../../hack/env/bind.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { freePort } from '../../hack/env/ports.js';
import { realClock } from '../../src/clock.js';
import { Rfc2136Client } from '../../src/issuers/acme/dns/rfc2136.js';
import { tsigKey } from '../../src/issuers/acme/dns/tsig.js';
import { parseCertificateChainPem } from '../../src/pki/certificates.js';
import { acmeIssuer, pebbleManagement, startAcmeOperator } from '../support/acme.js';
import { startPebbleVariant, type PebbleVariant } from '../support/acme-pebble.js';
import { condition, createCertificate, createPolicy, deletePolicy, OPERATOR_NAMESPACE, readSecret, secretText, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { createTestNamespace, testKube } from '../support/kube.js';

// DNS-01 for real: BIND 9 (named, its own config on loopback) is the
// authoritative server of certkeeper.test and takes TSIG-signed RFC 2136
// updates; this file's Pebble resolves every name through that BIND, so the
// TXT record the operator writes is the one the CA validates. A second BIND
// ("hidden") takes updates for the same zone but the CA never asks it: the
// record is written and self-checked there, and stays invisible to the CA.

const ZONE = 'certkeeper.test';
let bind: RunningBind;
let hidden: RunningBind;
let pebble: PebbleVariant;
let operator: OperatorProcess;
const policies: string[] = [];

beforeAll(async () => {
  const envDir = inject('envDir');
  bind = await startBind({ dir: join(envDir, `bind-${uniqueSuffix()}`), port: await freePort({ udp: true }), zones: [ZONE] });
  hidden = await startBind({ dir: join(envDir, `bind-hidden-${uniqueSuffix()}`), port: await freePort({ udp: true }), zones: [ZONE] });
  const http01Port = await freePort();
  pebble = await startPebbleVariant('dns01', { dnsServer: bind.nameserver, httpPort: http01Port });
  operator = await startAcmeOperator('acme-dns01', { http01Port, caFile: pebble.caFile, nameserver: bind.nameserver, selfCheckTimeout: '10s' });
  const kube = testKube();
  for (const [name, b] of [['tsig-bind', bind], ['tsig-hidden', hidden]] as const) {
    await kube.core.createNamespacedSecret({
      namespace: OPERATOR_NAMESPACE,
      body: { metadata: { name: `${name}-${operator.httpPort}` }, stringData: { secret: b.keys.HMACSHA256.secret, sha512: b.keys.HMACSHA512.secret, wrong: Buffer.alloc(32, 7).toString('base64') } },
    });
  }
}, 120_000);

afterAll(async () => {
  await operator?.process.stop();
  for (const p of policies) await deletePolicy(p);
  await pebble?.stop();
  await bind?.process.stop();
  await hidden?.process.stop();
  const kube = testKube();
  for (const name of ['tsig-bind', 'tsig-hidden']) await kube.core.deleteNamespacedSecret({ namespace: OPERATOR_NAMESPACE, name: `${name}-${operator.httpPort}` }).catch(() => undefined);
});

function rfc2136(server: RunningBind, secretName: string, key: string, algorithm: BindTsigAlgorithm = 'HMACSHA256') {
  return {
    dns01: {
      rfc2136: {
        nameserver: server.nameserver,
        tsigKeyName: server.keys[algorithm].name,
        tsigAlgorithm: algorithm,
        tsigSecretSecretRef: { name: `${secretName}-${operator.httpPort}`, key },
      },
    },
  };
}

async function dnsPolicy(solver: ReturnType<typeof rfc2136>): Promise<string> {
  const name = `it-dns01-${uniqueSuffix()}`;
  policies.push(name);
  await createPolicy(name, { issuer: { acme: acmeIssuer(pebble.directoryUrl, { solvers: [{ selector: { dnsZones: [ZONE] }, ...solver }] }) } });
  return name;
}

const txt = (server: RunningBind, name: string) => new Rfc2136Client({ nameserver: server.nameserver, clock: realClock }).queryTxt(name);

describe('RFC 2136 with TSIG against BIND', () => {
  it.each(['HMACMD5', 'HMACSHA1', 'HMACSHA224', 'HMACSHA256', 'HMACSHA384', 'HMACSHA512'] as const)('%s: adds, finds and removes one TXT value', async (algorithm) => {
    const k = bind.keys[algorithm];
    const client = new Rfc2136Client({ nameserver: bind.nameserver, tsig: tsigKey(k.name, algorithm, k.secret), clock: realClock });
    const name = `_acme-challenge.alg-${algorithm.toLowerCase()}.${ZONE}`;
    expect(await client.findZone(name)).toBe(ZONE);
    await client.addTxt(name, 'first');
    await client.addTxt(name, 'second');
    expect((await client.queryTxt(name)).values.sort()).toEqual(['first', 'second']);
    await client.removeTxt(name, 'first');
    expect(await client.queryTxt(name)).toMatchObject({ authoritative: true, values: ['second'] });
    await client.removeTxt(name, 'second');
    expect((await client.queryTxt(name)).values).toEqual([]);
  });

  it('says why an update is refused: a wrong secret (BADSIG), a key the zone does not allow, no key at all', async () => {
    const name = `_acme-challenge.refused.${ZONE}`;
    const wrong = new Rfc2136Client({ nameserver: bind.nameserver, tsig: tsigKey(bind.keys.HMACSHA256.name, 'HMACSHA256', Buffer.alloc(32, 1).toString('base64')), clock: realClock });
    await expect(wrong.addTxt(name, 'x')).rejects.toThrow(/NOTAUTH, BADSIG/);
    const denied = new Rfc2136Client({ nameserver: bind.nameserver, tsig: tsigKey(bind.deniedKey.name, 'HMACSHA256', bind.deniedKey.secret), clock: realClock });
    await expect(denied.addTxt(name, 'x')).rejects.toThrow(/REFUSED: key "certkeeper-denied" may not update this zone/);
    await expect(new Rfc2136Client({ nameserver: bind.nameserver, clock: realClock }).addTxt(name, 'x')).rejects.toThrow(/requires a signed update/);
    expect((await txt(bind, name)).values).toEqual([]);
  });
});

describe('DNS-01 issuance', () => {
  it('a wildcard and its apex become Ready; the TXT records are gone afterwards', async () => {
    const ns = await createTestNamespace('dns01');
    const p = await dnsPolicy(rfc2136(bind, 'tsig-bind', 'secret'));
    const host = `wild-${uniqueSuffix()}.${ZONE}`;
    await createCertificate(ns.name, 'wild', { secretName: 'wild-tls', dnsNames: [`*.${host}`, host], privateKey: { algorithm: 'ECDSA', encoding: 'PKCS1', rotationPolicy: 'Always' }, policyRef: { name: p } });
    await waitForCondition(ns.name, 'wild', { status: 'True' }, 60_000);
    const secret = await readSecret(ns.name, 'wild-tls');
    const chain = parseCertificateChainPem(secretText(secret, 'tls.crt')).map((c) => new X509Certificate(Buffer.from(c.rawData)));
    expect(chain[0]?.subjectAltName?.split(', ').sort()).toEqual([`DNS:*.${host}`, `DNS:${host}`]);
    const root = new X509Certificate((await pebbleManagement(pebble.managementUrl, pebble.caFile, '/roots/0')).text);
    expect(chain[chain.length - 1]?.verify(root.publicKey)).toBe(true);
    // Both challenges used the same record name with different values; both are gone.
    expect((await txt(bind, `_acme-challenge.${host}`)).values).toEqual([]);
  });

  it('with HMAC-SHA512', async () => {
    const ns = await createTestNamespace('dns01-512');
    const p = await dnsPolicy(rfc2136(bind, 'tsig-bind', 'sha512', 'HMACSHA512'));
    const host = `sha512-${uniqueSuffix()}.${ZONE}`;
    await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: [host], policyRef: { name: p } });
    await waitForCondition(ns.name, 'web', { status: 'True' }, 60_000);
    expect((await txt(bind, `_acme-challenge.${host}`)).values).toEqual([]);
  });

  it('a wrong TSIG secret fails with the nameserver’s answer, and nothing is left behind', async () => {
    const ns = await createTestNamespace('dns01-badsig');
    const p = await dnsPolicy(rfc2136(bind, 'tsig-bind', 'wrong'));
    await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: [`badsig-${uniqueSuffix()}.${ZONE}`], policyRef: { name: p } });
    const failed = await waitForCondition(ns.name, 'web', { status: 'False', reason: 'IssuanceFailed' }, 30_000);
    expect(condition(failed, 'Ready')?.message).toContain('BADSIG');
    expect(condition(failed, 'Issuing')).toMatchObject({ status: 'False', reason: 'Backoff' });
    expect(failed.status?.acme).toBeUndefined();
  });

  it('a record the CA cannot see fails with the CA’s problem document, backs off, and is removed', async () => {
    const ns = await createTestNamespace('dns01-hidden');
    const p = await dnsPolicy(rfc2136(hidden, 'tsig-hidden', 'secret'));
    const host = `hidden-${uniqueSuffix()}.${ZONE}`;
    await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: [host], policyRef: { name: p } });
    const failed = await waitForCondition(ns.name, 'web', { status: 'False', reason: 'IssuanceFailed' }, 60_000);
    const message = failed.status?.lastFailureMessage ?? '';
    expect(message).toContain(`the CA could not validate ${host} (dns-01)`);
    expect(message).toMatch(/unauthorized|TXT/i);
    expect(failed.status?.failedIssuanceAttempts).toBe(1);
    expect((await txt(hidden, `_acme-challenge.${host}`)).values).toEqual([]);
    await expect(readSecret(ns.name, 'web-tls')).rejects.toMatchObject({ code: 404 });
  });
});
