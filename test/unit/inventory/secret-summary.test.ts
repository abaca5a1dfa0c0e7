import { beforeAll, describe, expect, it } from 'vitest';
import { summarizeTlsSecret } from '../../../src/secrets/summary.js';
import { MAX_CA_CERTIFICATES, parseChain, readSecretCertificates } from '../../../src/secrets/facts.js';
import { PUBLIC_ROOTS } from '../../../src/pki/trust-anchors.js';
import { CORRUPT_PEM, signedLeaf, tlsSecret } from '../../support/inventory-fixtures.js';
import { DAY_MS, makeTestCa, type TestCa } from '../../support/pki.js';
import { build, testWorld, type World } from './world.js';

// The Secret informer's summary: what the inventory needs, never the key.

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

describe('summarizeTlsSecret for the inventory', () => {
  it('keeps the leaf facts, the ca.crt facts, and no key material', () => {
    const secret = tlsSecret({ name: 'web', crt: w.fine.certPem, key: w.fine.keyPem, ca: w.ca['ca.crt'] });
    const s = summarizeTlsSecret(secret);
    expect(s.state.state).toBe('valid');
    expect(s.certificates).toMatchObject({ chainLength: 1, leaf: { commonName: 'fine', isCA: false, selfIssued: false }, caCertificates: [{ isCA: true, selfIssued: true }] });
    const text = JSON.stringify(s);
    for (const line of w.fine.keyPem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'))) expect(text).not.toContain(line);
    expect(text).not.toContain(secret.data?.['tls.key'] ?? 'unreachable');
  });

  it('keeps the leaf when the key does not match or is missing', () => {
    const mismatched = summarizeTlsSecret(tlsSecret({ name: 'x', crt: w.fine.certPem, key: w.expired.keyPem }));
    expect(mismatched.state.state).toBe('mismatched');
    expect(mismatched.certificates.leaf?.commonName).toBe('fine');
    const keyless = summarizeTlsSecret(tlsSecret({ name: 'x', crt: w.fine.certPem, key: '' }));
    expect(keyless.state).toMatchObject({ state: 'incomplete', missing: ['tls.key'] });
    expect(keyless.certificates.leaf?.commonName).toBe('fine');
  });

  it('reports unparsable tls.crt and ca.crt as errors', () => {
    const s = summarizeTlsSecret(tlsSecret({ name: 'x', crt: CORRUPT_PEM, key: w.fine.keyPem, ca: 'junk' }));
    expect(s.state.state).toBe('invalid');
    expect(s.certificates.leaf).toBeUndefined();
    expect(s.certificates.leafError).toMatch(/tls\.crt: PEM block 1 is not a valid X\.509 certificate/);
    expect(s.certificates.caError).toMatch(/ca\.crt/);
  });

  it('keeps at most a few ca.crt certificates of a whole trust bundle', () => {
    const bundle = Array.from({ length: MAX_CA_CERTIFICATES + 3 }, () => w.ca['ca.crt']).join('');
    const s = summarizeTlsSecret(tlsSecret({ name: 'x', crt: w.fine.certPem, key: w.fine.keyPem, ca: bundle }));
    expect(s.certificates.caCertificates).toHaveLength(MAX_CA_CERTIFICATES);
  });

  it('keeps only the known managed-by annotations, and the controlling owner', () => {
    const s = summarizeTlsSecret(
      tlsSecret({
        name: 'x',
        crt: w.fine.certPem,
        key: w.fine.keyPem,
        annotations: { 'cert-manager.io/certificate-name': 'api', 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(10_000), 'cert-manager.io/issuer-name': 'y'.repeat(1000) },
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'a', uid: '1' },
          { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: '2', controller: true },
        ],
      }),
    );
    expect(Object.keys(s.managedBy).sort()).toEqual(['cert-manager.io/certificate-name', 'cert-manager.io/issuer-name']);
    expect(s.managedBy['cert-manager.io/issuer-name']).toHaveLength(253);
    expect(s.owner).toBe('Deployment/web');
  });
});

describe('SC-081: a publicly trusted leaf valid longer than the CA/Browser Forum allows for its issue date', () => {
  // A "public" root for the test: node's Mozilla roots cannot sign here, so the roots are a parameter.
  let root: TestCa;
  let intermediate: TestCa;
  beforeAll(async () => {
    root = await makeTestCa({ commonName: 'SC-081 test root', notBefore: new Date('2025-06-01T00:00:00Z'), durationMs: 3 * 365 * DAY_MS });
    intermediate = await makeTestCa({ commonName: 'SC-081 test intermediate', parent: root, notBefore: new Date('2025-06-01T00:00:00Z'), durationMs: 2 * 365 * DAY_MS });
  }, 60_000);

  const read = async (notBefore: string, days: number, o: { roots?: string; withIntermediate?: boolean } = {}) => {
    const leaf = await signedLeaf(intermediate, { commonName: 'public', notBefore: new Date(notBefore), durationMs: days * DAY_MS, slot: 7 });
    const chain = parseChain(o.withIntermediate === false ? leaf.certPem : `${leaf.certPem}${intermediate['tls.crt']}`, 'tls.crt');
    return readSecretCertificates(chain, undefined, undefined, o.roots ?? root['tls.crt']).publicLifetime;
  };

  it('flags 210 days issued after 2026-03-15 (limit 200), with the numbers', async () => {
    expect(await read('2026-04-01T00:00:00Z', 210)).toEqual({ lifetimeDays: 210, maxDays: 200 });
  });

  it.each([
    ['200 days after 2026-03-15', '2026-04-01T00:00:00Z', 200, {}],
    ['210 days issued before 2026-03-15 (398 allowed then)', '2026-03-01T00:00:00Z', 210, {}],
    ['210 days from a private CA (the real public roots)', '2026-04-01T00:00:00Z', 210, { roots: PUBLIC_ROOTS }],
    ['210 days whose tls.crt lacks the intermediate (no chain to a root)', '2026-04-01T00:00:00Z', 210, { withIntermediate: false }],
  ] as const)('does not flag %s', async (_label, notBefore, days, o) => {
    expect(await read(notBefore, days, o)).toBeUndefined();
  });

  it('the inventory lists it as a warning problem of the Secret', async () => {
    const leaf = await signedLeaf(intermediate, { commonName: 'public', notBefore: new Date('2026-04-01T00:00:00Z'), durationMs: 210 * DAY_MS, slot: 7 });
    const s = summarizeTlsSecret(tlsSecret({ name: 'web', crt: `${leaf.certPem}${intermediate['tls.crt']}`, key: leaf.keyPem }));
    const certificates = { ...s.certificates, publicLifetime: readSecretCertificates(parseChain(`${leaf.certPem}${intermediate['tls.crt']}`, 'tls.crt'), undefined, undefined, root['tls.crt']).publicLifetime };
    const [entry] = build([{ ...s, certificates }], { now: new Date('2026-05-01T00:00:00Z') }).entries;
    expect(entry?.problems.map((p) => `${p.id}/${p.severity}`)).toEqual(['lifetime_exceeds_cabf_limit/warning']);
    expect(entry?.problems[0]?.message).toBe('the publicly trusted certificate is valid for 210 days; issued 2026-04-01, the CA/Browser Forum allows at most 200 (SC-081)');
  });
});
