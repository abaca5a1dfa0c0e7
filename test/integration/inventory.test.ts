import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OperatorProcess } from '../../hack/env/operator.js';
import { REPO_ROOT } from '../../hack/env/tools.js';
import type { InventoryEntryJson, InventoryJson } from '../../src/inventory/json.js';
import { metricSample } from '../support/alertmanager.js';
import { createCertificate, createPolicy, deletePolicy, startTestOperator, uniqueSuffix, waitForCondition } from '../support/certkeeper.js';
import { CORRUPT_PEM, signedLeaf, tlsSecret, type Leaf } from '../support/inventory-fixtures.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';
import { DAY_MS, makeTestCa, type TestCa } from '../support/pki.js';

// A namespace with a certkeeper Certificate and TLS Secrets nobody manages
// (expired, expiring, corrupt, one from "cert-manager"): each must show as
// what it is in /inventory, in `certkeeper inventory` (which reads the
// cluster itself) and in /metrics. `certkeeper status NAME` describes one.

const run = promisify(execFile);
let operator: OperatorProcess;
let ca: TestCa;
let leaves: { expired: Leaf; expiring: Leaf; fine: Leaf };
const policies: string[] = [];

beforeAll(async () => {
  ca = await makeTestCa({ commonName: 'inventory it CA', notBefore: new Date(Date.now() - 200 * DAY_MS), durationMs: 400 * DAY_MS, slot: 300 });
  const now = Date.now();
  leaves = {
    expired: await signedLeaf(ca, { commonName: 'expired', dnsNames: ['expired.legacy.example'], notBefore: new Date(now - 92 * DAY_MS), durationMs: 90 * DAY_MS, slot: 301 }),
    expiring: await signedLeaf(ca, { commonName: 'expiring', dnsNames: ['expiring.legacy.example'], notBefore: new Date(now - 80 * DAY_MS), durationMs: 90 * DAY_MS, slot: 302 }),
    fine: await signedLeaf(ca, { commonName: 'fine', dnsNames: ['fine.legacy.example'], notBefore: new Date(now - DAY_MS), durationMs: 90 * DAY_MS, slot: 303 }),
  };
  operator = await startTestOperator('inventory');
}, 120_000);

afterAll(async () => {
  await operator.process.stop();
  for (const p of policies) await deletePolicy(p);
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts'), ...args, '--kubeconfig', inject('kubeconfigPath')], { cwd: REPO_ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A namespace holding one of everything; returns its name once the operator issued the Certificate. */
async function cluster(): Promise<string> {
  const kube = testKube();
  const ns = await createTestNamespace('inventory');
  const policy = `inv-${uniqueSuffix()}`;
  policies.push(policy);
  await createPolicy(policy, { issuer: { selfSigned: {} } });
  await createCertificate(ns.name, 'web', { secretName: 'web-tls', dnsNames: ['web.shop.example'], policyRef: { name: policy } });
  const put = (o: Parameters<typeof tlsSecret>[0]) => kube.core.createNamespacedSecret({ namespace: ns.name, body: tlsSecret({ ...o, namespace: ns.name }) });
  await put({ name: 'expired-tls', crt: leaves.expired.certPem, key: leaves.expired.keyPem, ca: ca['ca.crt'] });
  await put({ name: 'expiring-tls', crt: leaves.expiring.certPem, key: leaves.expiring.keyPem, labels: { app: 'legacy-api' } });
  await put({ name: 'corrupt-tls', crt: CORRUPT_PEM, key: leaves.fine.keyPem });
  await put({ name: 'foreign-tls', crt: leaves.fine.certPem, key: leaves.fine.keyPem, annotations: { 'cert-manager.io/certificate-name': 'foreign', 'cert-manager.io/issuer-name': 'le' } });
  await waitForCondition(ns.name, 'web', { status: 'True' });
  return ns.name;
}

function bySecret(entries: InventoryEntryJson[], name: string): InventoryEntryJson | undefined {
  return entries.find((e) => e.locations.some((l) => l.type === 'secret' && l.name === name && l.key === 'tls.crt'));
}

function expectEverything(entries: InventoryEntryJson[], ns: string): void {
  expect(bySecret(entries, 'web-tls')).toMatchObject({ managed: 'certkeeper', managedBy: { controller: 'certkeeper', resource: 'Certificate/web' }, primaryProblem: 'none', dnsNames: ['web.shop.example'] });
  expect(bySecret(entries, 'expired-tls')).toMatchObject({ managed: 'unmanaged', primaryProblem: 'expired', commonName: 'expired', issuer: expect.stringContaining('inventory it CA') as string });
  expect(bySecret(entries, 'expiring-tls')).toMatchObject({ managed: 'unmanaged', primaryProblem: 'expiring', problems: [expect.objectContaining({ id: 'expiring', severity: 'warning' })] });
  expect(bySecret(entries, 'expiring-tls')?.locations[0]).toMatchObject({ owners: { app: 'legacy-api' } });
  expect(bySecret(entries, 'corrupt-tls')).toMatchObject({ id: `secret:${ns}/corrupt-tls`, primaryProblem: 'unparsable', error: expect.stringContaining('not a valid X.509 certificate') as string });
  expect(bySecret(entries, 'foreign-tls')).toMatchObject({ managed: 'other', managedBy: { controller: 'cert-manager', resource: 'Certificate/foreign' }, primaryProblem: 'none' });
  // The test CA, found in expired-tls's ca.crt.
  expect(entries.find((e) => e.isCA === true && e.commonName === 'inventory it CA')?.locations).toEqual([expect.objectContaining({ namespace: ns, name: 'expired-tls', key: 'ca.crt' })]);
  const keyLine = leaves.fine.keyPem.split('\n')[1] ?? 'unreachable';
  expect(JSON.stringify(entries)).not.toContain(keyLine);
}

describe('inventory', () => {
  it('/inventory shows managed, unmanaged, expired, expiring and corrupt certificates for what they are', async () => {
    const ns = await cluster();
    const json = await waitFor(
      async ({ observe }) => {
        const res = await fetch(`${operator.url}/inventory?namespace=${ns}`);
        const body = (await res.json()) as InventoryJson;
        observe(body.entries.map((e) => [e.id, e.primaryProblem]));
        return body.entries.length === 6 ? body : undefined;
      },
      { description: `/inventory to list the 6 certificates of ${ns}`, timeoutMs: 20_000 },
    );
    expectEverything(json.entries, ns);
    // Soonest expiry first, errors on top.
    expect(json.entries.map((e) => e.primaryProblem).slice(0, 3)).toEqual(['unparsable', 'expired', 'expiring']);

    const expiring = (await (await fetch(`${operator.url}/inventory?namespace=${ns}&expiringWithin=30d`)).json()) as InventoryJson;
    expect(expiring.entries.map((e) => e.commonName).sort()).toEqual(['expired', 'expiring']);
    const broken = (await (await fetch(`${operator.url}/inventory?namespace=${ns}&problem=unparsable,expired`)).json()) as InventoryJson;
    expect(broken.entries.map((e) => e.primaryProblem)).toEqual(['unparsable', 'expired']);
    expect((await fetch(`${operator.url}/inventory?expiringWithin=later`)).status).toBe(400);
    // The corrupt Secret did not hurt the operator.
    expect((await fetch(`${operator.url}/readyz`)).status).toBe(200);
  });

  it('certkeeper inventory reads the cluster itself: the same picture as JSON and as a table', async () => {
    const ns = await cluster();
    const json = await cli('inventory', '-n', ns, '-o', 'json');
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    expectEverything((JSON.parse(json.stdout) as InventoryJson).entries, ns);

    const table = await cli('inventory', '-n', ns, '--expiring-within', '30d');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^EXPIRES \(UTC\)\s+IN\s+PROBLEMS\s+MANAGED BY\s+NAMES\s+ISSUER\s+LOCATION$/);
    expect(lines[1]).toMatch(new RegExp(`-\\d+d(?: \\d+h)?\\s+expired\\s+unmanaged\\s+expired\\.legacy\\.example\\s+inventory it CA\\s+${ns}/expired-tls$`));
    expect(lines[2]).toMatch(new RegExp(`\\s9d(?: \\d+h)?\\s+expiring\\s+unmanaged\\s+expiring\\.legacy\\.example\\s+inventory it CA\\s+${ns}/expiring-tls$`));
    expect(lines.at(-1)).toBe('2 certificates: 1 expired, 1 expiring, 0 without a readable certificate');

    expect((await cli('inventory', '-A', '-n', ns)).code).toBe(2);
  });

  it('/metrics has the Certificate gauges, per-Secret expiry of unmanaged certificates and inventory counts', async () => {
    const ns = await cluster();
    const text = await waitFor(
      async () => {
        const body = await (await fetch(`${operator.url}/metrics`)).text();
        return metricSample(body, 'certkeeper_secret_certificate_expiration_timestamp_seconds', { namespace: ns, secret: 'expiring-tls' }) === undefined ? undefined : body;
      },
      { description: 'metrics of the new Secrets' },
    );
    const web = { namespace: ns, name: 'web' };
    const notAfter = metricSample(text, 'certkeeper_certificate_expiration_timestamp_seconds', web) ?? 0;
    expect(notAfter * 1000).toBeGreaterThan(Date.now() + 80 * DAY_MS);
    expect(metricSample(text, 'certkeeper_certificate_not_before_timestamp_seconds', web)).toBeLessThan(Date.now() / 1000 + 1);
    expect(metricSample(text, 'certkeeper_certificate_renewal_timestamp_seconds', web)).toBeLessThan(notAfter);
    expect(metricSample(text, 'certkeeper_certificate_ready_status', { ...web, condition: 'True' })).toBe(1);
    // Judged by its renewal schedule (about two thirds of 90 days, with jitter): warning at renewal + 10 % of the
    // lifetime (at most a third of the renewal window), critical with a third of that window left.
    const threshold = (severity: string) => metricSample(text, 'certkeeper_certificate_expiry_alert_threshold_seconds', { ...web, severity, rule: 'renewal_overdue' }) ?? 0;
    const lifetime = notAfter - (metricSample(text, 'certkeeper_certificate_not_before_timestamp_seconds', web) ?? 0);
    const renewalWindow = notAfter - (metricSample(text, 'certkeeper_certificate_renewal_timestamp_seconds', web) ?? 0);
    expect(renewalWindow).toBeGreaterThan(20 * 86_400);
    expect(threshold('warning')).toBeCloseTo(renewalWindow - Math.min(lifetime / 10, renewalWindow / 3), 0);
    expect(threshold('critical')).toBeCloseTo(renewalWindow / 3, 0);
    const expired = metricSample(text, 'certkeeper_secret_certificate_expiration_timestamp_seconds', { namespace: ns, secret: 'expired-tls', managed: 'unmanaged' }) ?? 0;
    expect(expired * 1000).toBeLessThan(Date.now());
    expect(metricSample(text, 'certkeeper_secret_certificate_expiration_timestamp_seconds', { namespace: ns, secret: 'foreign-tls', managed: 'other' })).toBeGreaterThan(Date.now() / 1000);
    expect(metricSample(text, 'certkeeper_secret_certificate_expiration_timestamp_seconds', { namespace: ns, secret: 'web-tls' })).toBeUndefined();
    expect(metricSample(text, 'certkeeper_secret_certificate_expiration_timestamp_seconds', { namespace: ns, secret: 'corrupt-tls' })).toBeUndefined();
    for (const [managed, problem] of [['unmanaged', 'expired'], ['unmanaged', 'expiring'], ['unmanaged', 'unparsable'], ['certkeeper', 'none'], ['other', 'none']]) {
      expect(metricSample(text, 'certkeeper_inventory_certificates', { managed: managed ?? '', problem: problem ?? '' }), `${managed}/${problem}`).toBeGreaterThanOrEqual(1);
    }
    expect(metricSample(text, 'certkeeper_reconcile_total', { controller: 'certificate' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(leaves.fine.keyPem.split('\n')[1] ?? 'unreachable');
  });

  it('certkeeper status NAME -n NS describes one Certificate, Ready or not', async () => {
    const ns = await cluster();
    const ready = await cli('status', 'web', '-n', ns);
    expect(ready.code).toBe(0);
    expect(ready.stdout).toContain(`Certificate ${ns}/web\n  Ready: True (Issued)`);
    expect(ready.stdout).toMatch(/DNS names:\s+web\.shop\.example/);
    expect(ready.stdout).toMatch(/Renews at:\s+\d{4}-\d\d-\d\dT.*\(in \d+d/);
    expect(ready.stdout).toMatch(/Written by:\s+Certificate web, revision 1/);
    expect(ready.stdout).toMatch(/Normal\s+Issued\s+Issued revision 1/);

    await createCertificate(ns, 'lost', { secretName: 'lost-tls', dnsNames: ['lost.shop.example'], policyRef: { name: 'no-such-policy' } });
    await waitForCondition(ns, 'lost', { status: 'False', reason: 'PolicyNotFound' });
    const lost = await waitFor(
      async () => {
        const r = await cli('status', 'lost', '-n', ns);
        return /Warning\s+PolicyNotFound/.test(r.stdout) ? r : undefined;
      },
      { description: 'the PolicyNotFound event in the describe view', timeoutMs: 30_000, intervalMs: 1000 },
    );
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain('Ready: False (PolicyNotFound)');
    expect(lost.stdout).toContain(`Secret ${ns}/lost-tls:\n  does not exist`);
    expect(lost.stdout).toMatch(/Warning\s+PolicyNotFound\s+/);

    const missing = await cli('status', 'nothing', '-n', ns);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Certificate ${ns}/nothing not found`);
  });

  it('certkeeper inventory -o json is whole however slowly its reader reads (output larger than a pipe holds)', async () => {
    const kube = testKube();
    const ns = await createTestNamespace('inventory-big');
    // 1,200 copies of one certificate: one entry with 1,200 locations, about 250 KiB of JSON, more than the
    // pipe (64 KiB) and the reader's buffer hold together.
    for (let i = 0; i < 1200; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) => kube.core.createNamespacedSecret({ namespace: ns.name, body: tlsSecret({ name: `copy-${i + j}`, namespace: ns.name, crt: leaves.fine.certPem, key: leaves.fine.keyPem }) })),
      );
    }
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'main.ts'), 'inventory', '-n', ns.name, '-o', 'json', '--kubeconfig', inject('kubeconfigPath')], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      // A slow reader: a process that exits with output still queued for the pipe loses it.
      const chunks: Buffer[] = [];
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        await sleep(20);
      }
      expect(await exited).toBe(0);
      const text = Buffer.concat(chunks).toString('utf8');
      expect(text.length).toBeGreaterThan(200 * 1024);
      const json = JSON.parse(text) as InventoryJson;
      expect(json.entries.find((e) => e.commonName === 'fine')?.locations).toHaveLength(1200);
    } finally {
      // The bare API server has no namespace controller to empty a deleted namespace: 1,200 Secrets would stay
      // in every other test's cluster-wide view.
      await kube.core.deleteCollectionNamespacedSecret({ namespace: ns.name });
    }
  });
});
