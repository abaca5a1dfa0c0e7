import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { freePort } from '../../hack/env/ports.js';
import type { Certificate } from '../../src/api/certificate.js';
import { GROUP, VERSION } from '../../src/api/meta.js';
import type { TLSPolicy } from '../../src/api/tlspolicy.js';
import { acmeIssuer, runCli, startAcmeOperator } from '../support/acme.js';
import { startPebbleVariant, type PebbleVariant } from '../support/acme-pebble.js';
import { condition, createCaSecret, createCertificate, createPolicy, deletePolicy, getPolicy, OPERATOR_NAMESPACE, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';

// Ordered issuers against real CAs: two Pebbles of this file's own (both
// validate HTTP-01 at the operator's responder; names resolve through the
// shared challtestsrv) and the platform's CA as the last resort. The first
// Pebble is stopped mid-run and started again on the same ports, with none of
// its old state, as a CA back from an outage would be.

const BLOCKED = 'refused.failover.test';
let primary: PebbleVariant;
let secondary: PebbleVariant;
let operator: OperatorProcess;
let policy: string;
let caSecret: string;

beforeAll(async () => {
  const http01Port = await freePort();
  const dnsServer = inject('acme').dnsServer;
  [primary, secondary] = await Promise.all([
    startPebbleVariant('primary', { dnsServer, httpPort: http01Port, domainBlocklist: [BLOCKED] }),
    // No Retry-After: the fallback issuance is done before the policy's account check of the
    // stopped primary marks it not ready, so skippedIssuers shows the failure the Certificate saw.
    startPebbleVariant('secondary', { dnsServer, httpPort: http01Port, retryAfter: { authz: 0, order: 0 } }),
  ]);
  operator = await startAcmeOperator('issuer-failover', { http01Port, caFile: primary.caFile, nameserver: dnsServer });
  policy = `it-failover-${uniqueSuffix()}`;
  caSecret = `${policy}-ca`;
  await createCaSecret(caSecret);
  await createPolicy(policy, {
    issuers: [
      { name: 'primary', acme: acmeIssuer(primary.directoryUrl, { solvers: [{ http01: {} }] }) },
      { name: 'secondary', acme: acmeIssuer(secondary.directoryUrl, { solvers: [{ http01: {} }] }) },
      { name: 'internal', ca: { secretName: caSecret } },
    ],
  });
}, 120_000);

afterAll(async () => {
  await operator?.process.stop();
  if (policy !== undefined) await deletePolicy(policy);
  await Promise.all([primary?.stop(), secondary?.stop()]);
  if (caSecret !== undefined) await testKube().core.deleteNamespacedSecret({ namespace: OPERATOR_NAMESPACE, name: caSecret }).catch(() => undefined);
});

function issuerStatus(p: TLSPolicy, name: string) {
  return p.status?.issuers?.find((i) => i.name === name);
}

async function waitForPolicy(description: string, check: (p: TLSPolicy) => boolean, timeoutMs = 30_000): Promise<TLSPolicy> {
  return waitFor(
    async ({ observe }) => {
      const p = await getPolicy(policy);
      observe({ ready: condition(p, 'Ready'), issuers: p.status?.issuers });
      return check(p) ? p : undefined;
    },
    { description, timeoutMs, intervalMs: 250 },
  );
}

async function issuedBy(namespace: string, name: string, issuer: string, timeoutMs = 60_000): Promise<Certificate> {
  return waitForCondition(namespace, name, { status: 'True', reason: 'Issued', where: (c) => c.status?.issuer === issuer }, timeoutMs);
}

async function events(namespace: string, reason: string): Promise<string[]> {
  const list = await testKube().core.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.reason === reason).map((e) => e.message ?? '');
}

describe('ordered issuers', () => {
  it('registers an account with each ACME issuer and reports every issuer in status', async () => {
    const p = await waitForPolicy('every issuer ready', (x) => ['primary', 'secondary', 'internal'].every((n) => issuerStatus(x, n)?.ready === true));
    expect(condition(p, 'Ready')).toMatchObject({ status: 'True', reason: 'IssuerReady' });
    expect(issuerStatus(p, 'primary')?.acme?.server).toBe(primary.directoryUrl);
    expect(issuerStatus(p, 'secondary')?.acme?.server).toBe(secondary.directoryUrl);
    expect(p.status?.issuerKind).toBe('acme');
  });

  it('issues from the first issuer while it is healthy', async () => {
    const ns = await createTestNamespace('failover-first');
    await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: ['web.failover.test'], policyRef: { name: policy } });
    const c = await issuedBy(ns.name, 'web', 'primary');
    expect(c.status?.skippedIssuers).toBeUndefined();
  });

  it('does not fail over on a refusal caused by the Certificate (a name the CA will never issue)', async () => {
    const ns = await createTestNamespace('failover-refused');
    await createCertificate(ns.name, 'refused', { secretName: 'refused-tls', dnsNames: [BLOCKED], policyRef: { name: policy } });
    const c = await waitForCondition(ns.name, 'refused', { status: 'False', reason: 'IssuanceFailed' }, 30_000);
    expect(c.status?.lastFailureMessage).toContain('rejectedIdentifier');
    expect(c.status?.issuer).toBeUndefined();
    // The CA is not to blame: it stays healthy for everyone else.
    const p = await getPolicy(policy);
    expect(issuerStatus(p, 'primary')?.health).toBeUndefined();
    // Namespaces are never finalized here (no controller-manager): the Certificate would keep retrying, and
    // during the outage below its failure would be the CA's and move it on.
    await testKube().customObjects.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'certificates', namespace: ns.name, name: 'refused' });
  });

  it('fails over to the second CA when the first is down, then to the CA issuer when both are, and back to the first once it recovers', async () => {
    const ns = await createTestNamespace('failover-outage');
    await primary.stop();

    await createCertificate(ns.name, 'api', { secretName: 'api-tls', dnsNames: ['api.failover.test'], policyRef: { name: policy } });
    const api = await issuedBy(ns.name, 'api', 'secondary');
    expect(api.status?.skippedIssuers).toEqual([{ name: 'primary', reason: 'IssuerUnavailable', message: expect.stringContaining(primary.directoryUrl.replace(/\/dir$/, '')) as string }]);
    expect(condition(api, 'Ready')?.message).toContain('issued by fallback issuer "secondary"');
    await waitFor(async () => ((await events(ns.name, 'IssuedByFallback')).length > 0 ? true : undefined), { description: 'IssuedByFallback event' });
    expect((await events(ns.name, 'IssuerFailover'))[0]).toMatch(/issuer "primary" failed: .*; trying issuer "secondary"/);
    const degraded = await waitForPolicy('primary failing in status', (p) => (issuerStatus(p, 'primary')?.health?.failures ?? 0) >= 1);
    expect(condition(degraded, 'Ready')).toMatchObject({ status: 'True', reason: 'IssuersDegraded' });
    // An issuer failing issuances has its account checked with the CA again, which finds it down.
    await waitForPolicy('primary not ready', (p) => issuerStatus(p, 'primary')?.ready === false);

    await secondary.stop();
    await createCertificate(ns.name, 'db', { secretName: 'db-tls', dnsNames: ['db.failover.test'], policyRef: { name: policy } });
    const db = await issuedBy(ns.name, 'db', 'internal');
    expect(db.status?.skippedIssuers?.map((s) => s.name)).toEqual(['primary', 'secondary']);
    // The down CA was passed over, not asked again for each Certificate.
    expect(db.status?.skippedIssuers?.[0]?.reason).toMatch(/^Issuer(Unavailable|NotReady)$/);

    // The first CA comes back (without the account it had): the policy registers again, and the next
    // issuance (here a manual renewal) goes to it once its backoff is over.
    await primary.restart();
    await waitForPolicy(
      'primary registered again and past its backoff',
      (p) => {
        const s = issuerStatus(p, 'primary');
        const until = s?.health?.unavailableUntil;
        return s?.ready === true && (until === undefined || Date.parse(until) <= Date.now());
      },
      150_000,
    );
    // The operator reads the policy from its watch cache, a moment behind what the API server answered here:
    // a renewal decided before the cache has the primary ready again would rightly pass it over.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const renew = await runCli(['renew', 'api', '-n', ns.name]);
    expect(renew).toMatchObject({ code: 0 });
    const back = await issuedBy(ns.name, 'api', 'primary', 90_000);
    expect(back.status?.skippedIssuers).toBeUndefined();
    expect(condition(back, 'Ready')?.message).not.toContain('fallback');
    await waitForPolicy('primary healthy in status', (p) => issuerStatus(p, 'primary')?.health === undefined);
  }, 360_000);
});
