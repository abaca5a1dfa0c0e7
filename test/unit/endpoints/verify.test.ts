import { describe, expect, it } from 'vitest';
import { ConditionType, Reason } from '../../../src/api/conditions.js';
import { MAX_ENDPOINT_STATUSES } from '../../../src/api/certificate.js';
import { MAX_WORST_ENDPOINTS } from '../../../src/api/tlspolicy.js';
import type { EndpointResult } from '../../../src/endpoints/results.js';
import { planTargets, type EndpointPlan } from '../../../src/endpoints/targets.js';
import { GRADE_VALUE, servesStaleCertificate, shortFingerprint, summarizePolicyEndpoints, verifyCertificateEndpoints, type Lookup } from '../../../src/endpoints/verify.js';
import { certificate, tlsPolicy, withPolicySpec, withSpec } from '../../support/builders.js';
import { addresses, inputs, service, slice } from './fixtures.js';

const CURRENT = 'c0ffee'.padEnd(64, '1');
const OLD = 'dead00'.padEnd(64, '2');
const CERT_KEY = 'default/web';

const cert = (endpoints = [{ service: 'web', port: 443 }], fingerprint: string | undefined = CURRENT) =>
  certificate('web', withSpec({ endpoints }), (c) => {
    c.status = fingerprint === undefined ? {} : { fingerprintSHA256: fingerprint };
  });

function world(count: number, extra: { ready?: boolean } = {}): EndpointPlan {
  return planTargets(
    inputs({
      services: [service('default', 'web', [{ name: 'https', port: 443 }])],
      slices: [slice('default', 'web', [{ name: 'https', port: 443 }], addresses(count).map((a) => ({ addresses: [a], ...extra })))],
      certificates: [cert()],
    }),
  );
}

const T0 = Date.parse('2026-03-01T12:00:00Z');
const served = (fingerprint: string, probedAt = T0): Omit<EndpointResult, 'since'> & { since: number } => ({
  probedAt,
  durationMs: 3,
  expected: { [CERT_KEY]: CURRENT },
  reachable: true,
  served: { fingerprintSHA256: fingerprint, notAfter: '2026-06-01T00:00:00.000Z', facts: {} as never },
  since: probedAt,
});
const failedProbe = (error: string): EndpointResult => ({ probedAt: T0, durationMs: 5000, expected: { [CERT_KEY]: CURRENT }, reachable: false, error, since: T0 });

function lookup(plan: EndpointPlan, results: Record<string, EndpointResult | undefined>): Lookup {
  return { target: (k) => plan.targets.get(k), result: (k) => results[plan.targets.get(k)?.address ?? ''] };
}

describe('servesStaleCertificate', () => {
  it.each([
    [CURRENT, CURRENT, false],
    [OLD, CURRENT, true],
    [CURRENT.toUpperCase(), CURRENT, false],
    [CURRENT.match(/../g)?.join(':') ?? '', CURRENT, false],
    [undefined, CURRENT, false],
    [CURRENT, undefined, false],
  ])('%s vs %s: %s', (s, c, expected) => {
    expect(servesStaleCertificate(s, c)).toBe(expected);
  });
});

describe('verifyCertificateEndpoints', () => {
  it('True when every ready address serves the current certificate', () => {
    const plan = world(3);
    const v = verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, Object.fromEntries(addresses(3).map((a) => [a, served(CURRENT)]))), false);
    expect(v).not.toBe('keep');
    if (v === undefined || v === 'keep') throw new Error('expected a verification');
    expect(v.condition).toEqual({
      type: ConditionType.EndpointsVerified,
      status: 'True',
      reason: Reason.CurrentCertificateServed,
      message: `all 3 ready addresses serve the current certificate ${CURRENT.slice(0, 16)}`,
      observedGeneration: 1,
    });
    expect(v.endpoints.map((e) => [e.address, e.current, e.servedFingerprintSHA256, e.lastProbeTime, e.serverName])).toEqual(
      addresses(3).map((a) => [a, true, CURRENT, '2026-03-01T12:00:00Z', 'web.example.com']),
    );
    expect(v.lagging).toEqual([]);
  });

  it('names exactly the one stale address among ten, with both fingerprints, and lists it first', () => {
    const plan = world(10);
    const results = Object.fromEntries(addresses(10).map((a) => [a, served(a === '10.250.1.7' ? OLD : CURRENT)]));
    const v = verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, results), false);
    if (v === undefined || v === 'keep') throw new Error('expected a verification');
    expect(v.condition.status).toBe('False');
    expect(v.condition.reason).toBe(Reason.StaleCertificate);
    expect(v.condition.message).toBe(`1 of 10 addresses serve a stale certificate instead of the current ${CURRENT.slice(0, 16)}: 10.250.1.7:443 (web/443) serves ${OLD.slice(0, 16)}`);
    for (const other of addresses(10).filter((a) => a !== '10.250.1.7')) expect(v.condition.message).not.toContain(`${other}:`);
    expect(v.endpoints[0]).toMatchObject({ address: '10.250.1.7', current: false, servedFingerprintSHA256: OLD });
    expect(v.endpoints.slice(1).every((e) => e.current)).toBe(true);
    expect(v.lagging).toEqual([{ service: 'web', serviceUid: 'uid-web', port: 443, address: '10.250.1.7', targetPort: 443, served: OLD }]);
  });

  it('reports an unreachable address with its error; stale wins the headline and counts the rest', () => {
    const plan = world(3);
    const onlyUnreachable = verifyCertificateEndpoints(
      cert(),
      CURRENT,
      plan.certificates.get(CERT_KEY),
      lookup(plan, { '10.250.1.2': served(CURRENT), '10.250.1.3': failedProbe('cannot connect: ECONNREFUSED'), '10.250.1.4': served(CURRENT) }),
      false,
    );
    if (onlyUnreachable === undefined || onlyUnreachable === 'keep') throw new Error('expected a verification');
    expect(onlyUnreachable.condition).toMatchObject({ status: 'False', reason: Reason.EndpointUnreachable, message: '1 of 3 addresses could not be checked: 10.250.1.3:443 (web/443): cannot connect: ECONNREFUSED' });
    expect(onlyUnreachable.endpoints[0]).toMatchObject({ address: '10.250.1.3', current: false, error: 'cannot connect: ECONNREFUSED' });
    expect(onlyUnreachable.endpoints[0]?.servedFingerprintSHA256).toBeUndefined();

    const both = verifyCertificateEndpoints(
      cert(),
      CURRENT,
      plan.certificates.get(CERT_KEY),
      lookup(plan, { '10.250.1.2': served(OLD), '10.250.1.3': failedProbe('connect timed out'), '10.250.1.4': served(CURRENT) }),
      false,
    );
    if (both === undefined || both === 'keep') throw new Error('expected a verification');
    expect(both.condition.reason).toBe(Reason.StaleCertificate);
    expect(both.condition.message).toMatch(/10\.250\.1\.2:443 \(web\/443\) serves dead00.*; also 1 unreachable$/);
    expect(both.endpoints.map((e) => e.address)).toEqual(['10.250.1.2', '10.250.1.3', '10.250.1.4']);
  });

  it.each([
    ['Pending before the first probe', () => world(2), {}, 'Unknown', Reason.Pending, '2 of 2 addresses not probed yet'],
    ['Pending while some are unprobed and the rest are current', () => world(2), { '10.250.1.2': served(CURRENT) }, 'Unknown', Reason.Pending, '1 of 2 addresses not probed yet'],
    ['NoReadyEndpoints when every address is not ready', () => world(2, { ready: false }), {}, 'False', Reason.NoReadyEndpoints, 'Service "web" port 443 has no ready address in its EndpointSlices'],
    ['ServiceNotFound without the Service', () => planTargets(inputs({ certificates: [cert()] })), {}, 'False', Reason.ServiceNotFound, 'Service "web" does not exist'],
    [
      'ServiceNotFound for a port the Service lacks',
      () => planTargets(inputs({ services: [service('default', 'web', [{ port: 80 }])], certificates: [cert()] })),
      {},
      'False',
      Reason.ServiceNotFound,
      'Service "web" has no TCP port 443 (it has 80)',
    ],
  ] as const)('%s', (_what, makePlan, results, status, reason, message) => {
    const plan = makePlan();
    const v = verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, results), false);
    if (v === undefined || v === 'keep') throw new Error('expected a verification');
    expect(v.condition).toMatchObject({ status, reason, message });
  });

  it('is Pending while no certificate has been issued, and absent without spec.endpoints', () => {
    const plan = world(1);
    const unissued = verifyCertificateEndpoints(cert(undefined, undefined), undefined, plan.certificates.get(CERT_KEY), lookup(plan, {}), false);
    expect(unissued !== undefined && unissued !== 'keep' && unissued.condition).toMatchObject({ status: 'Unknown', reason: Reason.Pending, message: 'no certificate has been issued yet: nothing to look for' });
    expect(verifyCertificateEndpoints(cert([]), CURRENT, [], lookup(plan, {}), false)).toBeUndefined();
    expect(verifyCertificateEndpoints(certificate('plain'), CURRENT, undefined, lookup(plan, {}), false)).toBeUndefined();
  });

  it('after a renewal, results probed for the old fingerprint keep the previous verdict instead of crying stale', () => {
    const plan = world(2);
    const probedForOld = { ...served(OLD), expected: { [CERT_KEY]: OLD } };
    const results = { '10.250.1.2': probedForOld, '10.250.1.3': probedForOld };
    expect(verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, results), true)).toBe('keep');
    const first = verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, results), false);
    expect(first !== undefined && first !== 'keep' && first.condition.reason).toBe(Reason.Pending);
  });

  it('after a restart (no results yet) keeps the stored verdict, but reports a fresh stale finding at once', () => {
    const plan = world(3);
    expect(verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, {}), true)).toBe('keep');
    const partly = verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, { '10.250.1.2': served(OLD), '10.250.1.3': served(CURRENT) }), true);
    if (partly === undefined || partly === 'keep') throw new Error('expected a verification');
    expect(partly.condition.reason).toBe(Reason.StaleCertificate);
    expect(partly.condition.message).toMatch(/1 of 2 addresses serve a stale certificate .*; also 1 not probed yet$/);
  });

  it(`lists at most ${MAX_ENDPOINT_STATUSES} addresses in status, lagging first; the message names every lagging one up to 50`, () => {
    const plan = world(200);
    const all = addresses(200);
    const stale = new Set(all.filter((_, i) => i % 3 === 0));
    const results = Object.fromEntries(all.map((a) => [a, served(stale.has(a) ? OLD : CURRENT)]));
    const v = verifyCertificateEndpoints(cert(), CURRENT, plan.certificates.get(CERT_KEY), lookup(plan, results), false);
    if (v === undefined || v === 'keep') throw new Error('expected a verification');
    expect(v.endpoints).toHaveLength(MAX_ENDPOINT_STATUSES);
    expect(v.endpoints.every((e) => !e.current)).toBe(true);
    expect(v.lagging).toHaveLength(stale.size);
    expect(v.condition.message).toContain(`${stale.size} of 200 addresses serve a stale certificate`);
    expect(v.condition.message).toContain(`and ${stale.size - 50} more`);
  });
});

describe('summarizePolicyEndpoints', () => {
  const plan = planTargets(
    inputs({
      namespaces: { shop: {} },
      services: [service('shop', 'web', [{ name: 'https', port: 443 }], { tls: 'on' })],
      slices: [slice('shop', 'web', [{ name: 'https', port: 443 }], addresses(30).map((a) => ({ addresses: [a] })))],
      policies: [tlsPolicy('strict', withPolicySpec({ namespaceSelector: {}, endpoints: { serviceSelector: { matchLabels: { tls: 'on' } }, interval: '1h', profile: 'intermediate' } }))],
    }),
  );
  const keys = plan.policies.get('strict') ?? [];
  const scanned = (grade: EndpointResult['grade'], violations: number, at = T0): EndpointResult => ({
    probedAt: at,
    durationMs: 300,
    expected: {},
    reachable: true,
    grade,
    verdicts: { strict: { violations: Array.from({ length: violations }, (_, i) => ({ id: `rule-${i}`, message: `problem ${i}` })) } },
    since: at,
  });

  it('counts compliant, violating, unreachable and pending, and puts the worst first within bounds', () => {
    const results: Record<string, EndpointResult> = {};
    addresses(30).forEach((a, i) => {
      if (i < 20) results[a] = scanned('A', 0, T0 + i * 1000);
      else if (i < 25) results[a] = scanned(i === 22 ? 'C' : 'B', i - 18);
      else if (i < 27) results[a] = { ...failedProbe('cannot connect: ETIMEDOUT'), expected: {}, grade: 'F', verdicts: { strict: { violations: [{ id: 'no-tls', message: 'no TLS' }] } } };
    });
    const s = summarizePolicyEndpoints('strict', keys, lookup(plan, results));
    expect(s).toMatchObject({ total: 30, compliant: 20, violating: 5, unreachable: 2, lastProbeTime: '2026-03-01T12:00:19Z' });
    expect(s.worst).toHaveLength(MAX_WORST_ENDPOINTS);
    expect(s.worst.slice(0, 4).map((w) => [w.address, w.grade, w.violations.length, w.error])).toEqual([
      ['10.250.1.27', 'F', 1, 'cannot connect: ETIMEDOUT'],
      ['10.250.1.28', 'F', 1, 'cannot connect: ETIMEDOUT'],
      ['10.250.1.24', 'C', 4, undefined],
      ['10.250.1.26', 'B', 5, undefined],
    ]);
    // Five violations at most, each "id: message".
    expect(s.worst[3]?.violations).toEqual(['rule-0: problem 0', 'rule-1: problem 1', 'rule-2: problem 2', 'rule-3: problem 3', 'rule-4: problem 4']);
    const grades = s.worst.map((w) => GRADE_VALUE[w.grade as keyof typeof GRADE_VALUE]);
    expect([...grades].sort((a, b) => a - b)).toEqual(grades);
  });

  it('counts the post-quantum readiness of the probed addresses; unreachable or unscanned ones are unknown', () => {
    const results: Record<string, EndpointResult> = {};
    addresses(30).forEach((a, i) => {
      if (i < 3) results[a] = { ...scanned('A', 0), postQuantum: { readiness: 'ready', browserChoice: 'X25519MLKEM768' } };
      else if (i < 5) results[a] = { ...scanned('A', 0), postQuantum: { readiness: 'classical', browserChoice: 'X25519' } };
      else if (i < 6) results[a] = { ...failedProbe('cannot connect: ETIMEDOUT'), expected: {} };
    });
    expect(summarizePolicyEndpoints('strict', keys, lookup(plan, results)).postQuantum).toEqual([{ namespace: 'shop', ready: 3, partial: 0, classical: 2, unknown: 1 }]);
  });

  it('is all zeros, without lastProbeTime, before any probe', () => {
    expect(summarizePolicyEndpoints('strict', keys, lookup(plan, {}))).toEqual({ total: 30, compliant: 0, violating: 0, unreachable: 0, worst: [] });
  });
});

describe('shortFingerprint and GRADE_VALUE', () => {
  it('shortens to 16 hex digits and numbers the grades A+ = 7 down to F = 0', () => {
    expect(shortFingerprint('AB:CD:EF:01:23:45:67:89:AB:CD')).toBe('abcdef0123456789');
    expect(Object.values(GRADE_VALUE)).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
  });
});
