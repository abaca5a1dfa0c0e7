import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNetwork, IP, type TestNetwork } from '../../hack/env/netns.js';
import type { OperatorProcess } from '../../hack/env/operator.js';
import type { TLSPolicy } from '../../src/api/tlspolicy.js';
import { requestRenewal } from '../../src/cli/renew.js';
import { metricSample } from '../support/alertmanager.js';
import {
  condition,
  createCaSecret,
  createCertificate,
  createPolicy,
  deletePolicy,
  getPolicy,
  readSecret,
  secretText,
  startTestOperator,
  uniqueSuffix,
  waitForCondition,
} from '../support/certkeeper.js';
import { createServiceWithEndpoints, eventsFor, waitForEvent } from '../support/endpoints.js';
import { createTestNamespace, testKube, waitFor } from '../support/kube.js';
import { leafFingerprint, servedFingerprint, startNetnsNginx, type NetnsNginx, type ServedCertificate } from '../../hack/tls/netns-nginx.js';
import { createTlsTestPki, issueServerCertificate } from '../../hack/tls/server-pki.js';
import { INTERMEDIATE_TLS, OLD_TLS } from '../../hack/tls/fixtures.js';

// Live endpoint validation by the operator, end to end: real nginx "pods" in
// a network namespace of this file (10.250.x.y; the API server refuses
// loopback addresses in EndpointSlices), Services without a selector whose
// EndpointSlices the test writes (no controller-manager runs here), the
// operator process probing them from the root namespace. nginx and ip netns
// must be present: their absence fails the file.

const HTTPS = { name: 'https', port: 443 };
const execFileAsync = promisify(execFile);

let testPki: ReturnType<typeof createTlsTestPki> | undefined;
/** A leaf from a throw-away CA, for the test hosts' own check (no operator involved). */
async function selfSigned(name: string): Promise<ServedCertificate> {
  testPki ??= createTlsTestPki();
  return issueServerCertificate({ dnsNames: [name], key: 'ECDSA-256', issuer: (await testPki).ecdsaIntermediate });
}

// Which address of the test network plays which part.
const ROLE = { stalePods: [0, 1, 2], unreachable: 3, notReady: 4, good: 5, legacy: 6, unselected: 7 } as const;

let network: TestNetwork;
let dir: string;
let operator: OperatorProcess;
const servers: NetnsNginx[] = [];
const policies: string[] = [];
const caSecret = `endpoints-ca-${uniqueSuffix()}`;

beforeAll(async () => {
  network = await createTestNetwork({ addresses: 8, label: 'endpoints.test' });
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-endpoints-'));
  await createCaSecret(caSecret);
  // Rechecks every 2 s while something is stale or unreachable, so a reload is seen within seconds.
  operator = await startTestOperator('endpoints', { env: { CERTKEEPER_ENDPOINT_RECHECK_INTERVAL: '2s' } });
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await operator?.process.stop();
  await network?.teardown();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  for (const p of policies) await deletePolicy(p);
});

function address(role: number): string {
  const found = network.addresses[role];
  if (found === undefined) throw new Error(`the test network has no address #${role}`);
  return found;
}

/** The test "pods" are nginx in network namespaces behind hand-written EndpointSlices: the policy trusts those. */
async function createPolicyObject(spec: Parameters<typeof createPolicy>[1]): Promise<string> {
  const name = `endpoints-${uniqueSuffix()}`;
  policies.push(name);
  await createPolicy(name, { trustUnmanagedEndpointSlices: true, ...spec });
  return name;
}

/** What the Certificate's Secret holds, as nginx would be given it. */
async function secretCertificate(namespace: string, secretName: string): Promise<ServedCertificate> {
  const secret = await readSecret(namespace, secretName);
  return { chainPem: secretText(secret, 'tls.crt'), keyPem: secretText(secret, 'tls.key') };
}

async function startPod(name: string, addresses: readonly string[], certificate: ServedCertificate, tls: typeof INTERMEDIATE_TLS | typeof OLD_TLS): Promise<NetnsNginx> {
  const server = await startNetnsNginx({ network, name: `${name}-${uniqueSuffix()}`, baseDir: dir, addresses, port: 443, certificate, tls });
  servers.push(server);
  return server;
}

async function metrics(): Promise<string> {
  return (await fetch(`${operator.url}/metrics`)).text();
}

/** `address:port` as a whole word of the message (10.250.1.2:443 must not match 10.250.1.20:443). */
function names(message: string, addressPort: string): boolean {
  return new RegExp(`(^|[^0-9.])${addressPort.replace(/\./g, '\\.')}($|[^0-9])`).test(message);
}

/** How often these events happened: each Event object counts its repeats (series). */
function occurrences(events: readonly CoreV1Event[]): number {
  return events.reduce((n, e) => n + Math.max(1, e.series?.count ?? 0, e.count ?? 0), 0);
}

const short = (fingerprint: string | undefined): string => (fingerprint ?? '').slice(0, 16);

describe('test hosts: nginx in a network namespace', () => {
  it('serves what it was given on each address, keeps it until a reload, and the namespace goes away on teardown', async () => {
    const spare = await createTestNetwork({ addresses: 2, label: 'endpoints.test spare' });
    try {
      expect(spare.addresses).toHaveLength(2);
      expect(spare.addresses.every((a) => a.startsWith('10.250.') && a !== spare.hostAddress)).toBe(true);
      expect(spare.name).not.toBe(network.name);
      expect(spare.addresses.some((a) => network.addresses.includes(a))).toBe(false);
      const [first, second] = await Promise.all([selfSigned('one.test'), selfSigned('two.test')]);
      const server = await startNetnsNginx({ network: spare, name: `hosts-${uniqueSuffix()}`, baseDir: dir, addresses: spare.addresses, port: 443, certificate: first, tls: INTERMEDIATE_TLS });
      try {
        for (const a of spare.addresses) expect(await servedFingerprint(a, 443)).toBe(leafFingerprint(first.chainPem));
        await server.writeCertificate(second);
        expect(await servedFingerprint(spare.addresses[0] ?? '', 443)).toBe(leafFingerprint(first.chainPem));
        await server.reload();
        for (const a of spare.addresses) expect(await servedFingerprint(a, 443)).toBe(leafFingerprint(second.chainPem));
        await expect(servedFingerprint(spare.addresses[0] ?? '', 8443)).rejects.toThrow(/ECONNREFUSED/);
      } finally {
        await server.stop();
      }
    } finally {
      await spare.teardown();
      await spare.teardown();
    }
    const { stdout: namespaces } = await execFileAsync(IP, ['netns', 'list']);
    expect(namespaces).not.toContain(spare.name);
    const { stdout: links } = await execFileAsync(IP, ['-br', 'link']);
    expect(links).not.toContain(`${spare.hostInterface}@`);
    // Gone, and not sent anywhere else: the 10.250.0.0/16 blackhole refuses it on this machine.
    await expect(servedFingerprint(spare.addresses[0] ?? '', 443, undefined, 1_000)).rejects.toThrow(/EINVAL|ENETUNREACH|EHOSTUNREACH/);
  });
});

describe('Certificate endpoints: is the current certificate served by every pod?', () => {
  it('says that spec.reload does nothing while the operator runs without --reload-enabled', async () => {
    const ns = (await createTestNamespace('reload-off')).name;
    const policy = await createPolicyObject({ issuer: { ca: { secretName: caSecret } } });
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: [`web.${ns}.svc`], policyRef: { name: policy }, reload: { strategy: 'RolloutRestart' } });
    const c = await waitForCondition(ns, 'web', { status: 'True', where: (x) => x.status?.reload?.state === 'Disabled' });
    expect(c.status?.reload).toMatchObject({ serialNumber: c.status?.serialNumber, state: 'Disabled', message: expect.stringContaining('--reload-enabled') as unknown });
    const event = await waitForEvent(ns, { kind: 'Certificate', name: 'web', reason: 'ReloadDisabled', type: 'Warning' });
    expect(event.message).toContain('nothing will be restarted');
  });

  it('names the one pod of three that still serves the old certificate after a renewal, until it reloads', async () => {
    const ns = (await createTestNamespace('stale')).name;
    const policy = await createPolicyObject({ issuer: { ca: { secretName: caSecret } } });
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: [`web.${ns}.svc`], policyRef: { name: policy }, endpoints: [{ service: 'web', port: 443 }] });
    const issued = await waitForCondition(ns, 'web', { status: 'True' });
    const first = await secretCertificate(ns, 'web-tls');
    const firstFingerprint = leafFingerprint(first.chainPem);
    expect(firstFingerprint).toBe(issued.status?.fingerprintSHA256);

    const podAddresses = ROLE.stalePods.map(address);
    const pods = await Promise.all(podAddresses.map((a, i) => startPod(`web-${i}`, [a], first, INTERMEDIATE_TLS)));
    await createServiceWithEndpoints(ns, 'web', { ports: [HTTPS], addresses: podAddresses });

    const verified = await waitForCondition(ns, 'web', { type: 'EndpointsVerified', status: 'True', reason: 'CurrentCertificateServed' }, 60_000);
    expect(verified.status?.endpoints?.map((e) => [e.service, e.port, e.address, e.current, e.servedFingerprintSHA256]).sort()).toEqual(
      podAddresses.map((a) => ['web', 443, a, true, firstFingerprint]).sort(),
    );
    expect(verified.status?.endpoints?.every((e) => e.serverName === `web.${ns}.svc` && e.error === undefined && !Number.isNaN(Date.parse(e.lastProbeTime)))).toBe(true);

    // Renewal: a new key pair and leaf in the Secret; the pods still serve the first one.
    await requestRenewal(testKube().certkeeper.customObjects, ns, 'web', new Date());
    const renewed = await waitForCondition(ns, 'web', { status: 'True', where: (c) => c.status?.fingerprintSHA256 !== firstFingerprint });
    const second = await secretCertificate(ns, 'web-tls');
    const secondFingerprint = leafFingerprint(second.chainPem);
    expect(secondFingerprint).toBe(renewed.status?.fingerprintSHA256);

    // Every pod gets the new files (a mounted Secret updates), but only two are reloaded.
    await Promise.all(pods.map((p) => p.writeCertificate(second)));
    const [reloadedA, reloadedB, lagging] = podAddresses as [string, string, string];
    await Promise.all([pods[0]?.reload(), pods[1]?.reload()]);

    const stale = await waitForCondition(
      ns,
      'web',
      {
        type: 'EndpointsVerified',
        status: 'False',
        reason: 'StaleCertificate',
        // Right after the renewal all three lag; what must follow is exactly the one nobody reloaded.
        where: (c) => {
          const message = condition(c, 'EndpointsVerified')?.message ?? '';
          return names(message, `${lagging}:443`) && !names(message, `${reloadedA}:443`) && !names(message, `${reloadedB}:443`);
        },
      },
      30_000,
    );
    const message = condition(stale, 'EndpointsVerified')?.message ?? '';
    expect(message).toContain(short(firstFingerprint));
    expect(message).toContain(short(secondFingerprint));
    expect(message).toMatch(/web/);
    const entries = stale.status?.endpoints ?? [];
    expect(entries[0]).toMatchObject({ service: 'web', port: 443, address: lagging, current: false, servedFingerprintSHA256: firstFingerprint });
    expect(entries.slice(1).map((e) => [e.address, e.current, e.servedFingerprintSHA256]).sort()).toEqual(
      [reloadedA, reloadedB].map((a) => [a, true, secondFingerprint]).sort(),
    );

    await waitForEvent(ns, { kind: 'Service', name: 'web', reason: 'StaleCertificate', type: 'Warning', where: (m) => names(m, `${lagging}:443`) });
    await waitForEvent(ns, { kind: 'Certificate', name: 'web', reason: 'StaleCertificate', type: 'Warning' });
    const staleMetric = (text: string, a: string) => metricSample(text, 'certkeeper_endpoint_certificate_stale', { namespace: ns, service: 'web', address: a, certificate: 'web' });
    const during = await waitFor(async () => {
      const text = await metrics();
      return staleMetric(text, lagging) === 1 ? text : undefined;
    }, { description: `certkeeper_endpoint_certificate_stale = 1 for ${lagging}`, timeoutMs: 15_000 });
    expect(staleMetric(during, reloadedA)).toBe(0);
    expect(staleMetric(during, reloadedB)).toBe(0);
    // Once per change, not per probe: three more rechecks of the same lagging pod add no event.
    const staleOnService = async () => occurrences(await eventsFor(ns, { kind: 'Service', name: 'web', reason: 'StaleCertificate', type: 'Warning' }));
    const staleEvents = await staleOnService();
    await sleep(6_500);
    expect(await staleOnService()).toBe(staleEvents);

    // The third pod reloads: every address serves the current certificate again.
    const verifiedBefore = occurrences(await eventsFor(ns, { kind: 'Certificate', name: 'web', reason: 'EndpointsVerified', type: 'Normal' }));
    await pods[2]?.reload();
    const again = await waitForCondition(ns, 'web', { type: 'EndpointsVerified', status: 'True', reason: 'CurrentCertificateServed' }, 30_000);
    expect(again.status?.endpoints?.every((e) => e.current && e.servedFingerprintSHA256 === secondFingerprint)).toBe(true);
    // A new EndpointsVerified event, not the one from the first time it was True.
    await waitFor(
      async () => (occurrences(await eventsFor(ns, { kind: 'Certificate', name: 'web', reason: 'EndpointsVerified', type: 'Normal' })) > verifiedBefore ? true : undefined),
      { description: 'a new Normal EndpointsVerified event on the Certificate', timeoutMs: 15_000 },
    );
    expect(staleMetric(await metrics(), lagging)).toBe(0);
  });

  it('says ServiceNotFound when the Service does not exist', async () => {
    const ns = (await createTestNamespace('nosvc')).name;
    const policy = await createPolicyObject({ issuer: { ca: { secretName: caSecret } } });
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: [`web.${ns}.svc`], policyRef: { name: policy }, endpoints: [{ service: 'absent', port: 443 }] });
    const c = await waitForCondition(ns, 'web', { type: 'EndpointsVerified', status: 'False', reason: 'ServiceNotFound' });
    expect(condition(c, 'EndpointsVerified')?.message).toContain('absent');
  });

  it('says NoReadyEndpoints when the Service has only not-ready addresses, and probes none of them', async () => {
    const ns = (await createTestNamespace('notready')).name;
    const policy = await createPolicyObject({ issuer: { ca: { secretName: caSecret } } });
    await createServiceWithEndpoints(ns, 'draining', { ports: [HTTPS], addresses: [{ ip: address(ROLE.notReady), ready: false }] });
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: [`web.${ns}.svc`], policyRef: { name: policy }, endpoints: [{ service: 'draining', port: 443 }] });
    const c = await waitForCondition(ns, 'web', { type: 'EndpointsVerified', status: 'False', reason: 'NoReadyEndpoints' });
    expect(condition(c, 'EndpointsVerified')?.message).toContain('draining');
    expect(c.status?.endpoints ?? []).toEqual([]);
  });

  it('says EndpointUnreachable with the address and the error when nothing listens there', async () => {
    const ns = (await createTestNamespace('unreachable')).name;
    const policy = await createPolicyObject({ issuer: { ca: { secretName: caSecret } } });
    const down = address(ROLE.unreachable);
    await createServiceWithEndpoints(ns, 'down', { ports: [HTTPS], addresses: [down] });
    await createCertificate(ns, 'web', { secretName: 'web-tls', dnsNames: [`web.${ns}.svc`], policyRef: { name: policy }, endpoints: [{ service: 'down', port: 443 }] });
    const c = await waitForCondition(ns, 'web', { type: 'EndpointsVerified', status: 'False', reason: 'EndpointUnreachable' });
    const message = condition(c, 'EndpointsVerified')?.message ?? '';
    expect(message).toContain(down);
    expect(message).toMatch(/ECONNREFUSED|refused/i);
    const [entry] = c.status?.endpoints ?? [];
    expect(entry).toMatchObject({ service: 'down', port: 443, address: down, current: false });
    expect(entry?.error).toMatch(/ECONNREFUSED|refused/i);
    expect(entry?.servedFingerprintSHA256).toBeUndefined();
  });
});

describe('TLSPolicy endpoints: every selected backend graded against the profile', () => {
  it('counts a compliant and a violating server, puts the old one first, and leaves an unselected Service alone', async () => {
    const ns = (await createTestNamespace('policy')).name;
    const policy = await createPolicyObject({
      // The API server labels every namespace with its own name.
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } },
      issuer: { ca: { secretName: caSecret } },
      endpoints: { serviceSelector: { matchLabels: { tier: 'edge' } }, ports: ['https'], profile: 'intermediate', interval: '1h' },
    });
    // Certificates pointing at the Services make their CA trusted for the scans and their names valid SNI.
    const dnsNames = (svc: string) => [`${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
    await createCertificate(ns, 'good', { secretName: 'good-tls', dnsNames: dnsNames('good'), policyRef: { name: policy }, privateKey: { algorithm: 'ECDSA', size: 256, encoding: 'PKCS8', rotationPolicy: 'Always' }, endpoints: [{ service: 'good', port: 443 }] });
    await createCertificate(ns, 'legacy', { secretName: 'legacy-tls', dnsNames: dnsNames('legacy'), policyRef: { name: policy }, privateKey: { algorithm: 'RSA', size: 2048, encoding: 'PKCS8', rotationPolicy: 'Always' }, endpoints: [{ service: 'legacy', port: 443 }] });
    await Promise.all([waitForCondition(ns, 'good', { status: 'True' }), waitForCondition(ns, 'legacy', { status: 'True' })]);
    const [good, legacy, unselected] = [address(ROLE.good), address(ROLE.legacy), address(ROLE.unselected)];
    await startPod('good', [good], await secretCertificate(ns, 'good-tls'), INTERMEDIATE_TLS);
    await startPod('legacy', [legacy, unselected], await secretCertificate(ns, 'legacy-tls'), OLD_TLS);
    // A second port that nothing listens on: `ports: [https]` must leave it out.
    const ports = [HTTPS, { name: 'metrics', port: 9443 }];
    await createServiceWithEndpoints(ns, 'good', { ports, addresses: [good], labels: { tier: 'edge' } });
    await createServiceWithEndpoints(ns, 'legacy', { ports, addresses: [legacy], labels: { tier: 'edge' } });
    // Not selected, though the same old server answers behind it.
    await createServiceWithEndpoints(ns, 'internal', { ports: [HTTPS], addresses: [unselected], labels: { tier: 'backend' } });

    const status = await waitFor(
      async ({ observe }) => {
        const p: TLSPolicy = await getPolicy(policy);
        const e = p.status?.endpoints;
        observe(e);
        return e !== undefined && e.total === 2 && e.compliant + e.violating + e.unreachable === 2 && e.lastProbeTime !== undefined ? e : undefined;
      },
      { description: `TLSPolicy ${policy} to report both selected endpoints`, timeoutMs: 60_000, intervalMs: 500 },
    );
    expect({ total: status.total, compliant: status.compliant, violating: status.violating, unreachable: status.unreachable }).toEqual({ total: 2, compliant: 1, violating: 1, unreachable: 0 });
    const [worst] = status.worst;
    expect(worst).toMatchObject({ namespace: ns, service: 'legacy', port: 443, address: legacy, grade: 'B' });
    expect(worst?.error).toBeUndefined();
    expect(worst?.violations.length).toBeGreaterThan(0);
    expect(worst?.violations.length).toBeLessThanOrEqual(5);
    expect(worst?.violations.some((v) => v.startsWith('protocol-not-allowed') && v.includes('TLSv1.0'))).toBe(true);
    expect(status.worst.some((w) => w.service === 'internal' || w.address === unselected)).toBe(false);
    const goodEntry = status.worst.find((w) => w.service === 'good');
    if (goodEntry !== undefined) expect(goodEntry).toMatchObject({ address: good, port: 443, violations: [] });

    await waitForEvent(ns, { kind: 'Service', name: 'legacy', reason: 'TLSPolicyViolation', type: 'Warning' });
    expect(await eventsFor(ns, { kind: 'Service', name: 'good', reason: 'TLSPolicyViolation' })).toEqual([]);

    const text = await metrics();
    const sample = (name: string, service: string, a: string) => metricSample(text, name, { namespace: ns, service, address: a, policy });
    // A+=7 A=6 A-=5 B=4 C=3 D=2 E=1 F=0
    expect(sample('certkeeper_endpoint_grade', 'legacy', legacy)).toBe(4);
    expect(sample('certkeeper_endpoint_grade', 'good', good)).toBeGreaterThanOrEqual(6);
    expect(sample('certkeeper_endpoint_policy_violations', 'legacy', legacy)).toBeGreaterThanOrEqual(2);
    expect(sample('certkeeper_endpoint_policy_violations', 'good', good)).toBe(0);
    expect(text.split('\n').some((l) => l.startsWith('certkeeper_endpoint_') && l.includes(`service="internal"`))).toBe(false);
    expect(text.split('\n').some((l) => l.startsWith('certkeeper_endpoint_') && l.includes('port="9443"'))).toBe(false);
  });
});
