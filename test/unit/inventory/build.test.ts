import { beforeAll, describe, expect, it } from 'vitest';
import type { ParsedCertificate } from '../../../src/model/certificate.js';
import type { TlsSecretSummary } from '../../../src/model/secret.js';
import { compareEntries } from '../../../src/inventory/build.js';
import { inventoryJson } from '../../../src/inventory/json.js';
import { renderInventoryTable } from '../../../src/cli/inventory-table.js';
import type { InventoryEntry, SecretLocation } from '../../../src/inventory/model.js';
import { certificate, inNamespace, selecting, tlsPolicy, withPolicySpec } from '../../support/builders.js';
import { CORRUPT_PEM } from '../../support/inventory-fixtures.js';
import { DAY_MS, TEST_NOW } from '../../support/pki.js';
import { build, cached, secretOf, summary, testWorld, type World } from './world.js';

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

const leafEntries = (entries: InventoryEntry[]) => entries.filter((e) => e.certificate?.isCA !== true);
const only = (entries: InventoryEntry[]): InventoryEntry => {
  const leaves = leafEntries(entries);
  expect(leaves).toHaveLength(1);
  return leaves[0] as InventoryEntry;
};
const problemIds = (e: InventoryEntry) => e.problems.map((p) => `${p.id}/${p.severity}`);

describe('buildInventory: identities and locations', () => {
  it('an unmanaged Secret is one entry with its facts, and its CA in ca.crt is another', () => {
    const inv = build([secretOf(w.fine, { namespace: 'shop', name: 'web-tls', ca: w.ca['ca.crt'] })]);
    expect(inv.entries).toHaveLength(2);
    const leaf = only(inv.entries);
    expect(leaf).toMatchObject({
      id: `sha256:${leaf.certificate?.fingerprintSHA256}`,
      managedBy: { managed: 'unmanaged' },
      primaryProblem: 'none',
      problems: [],
      locations: [{ type: 'secret', namespace: 'shop', name: 'web-tls', key: 'tls.crt' }],
    });
    expect(leaf.certificate).toMatchObject({ commonName: 'fine', dnsNames: ['fine.example.com'], issuer: expect.stringContaining('inventory test CA') as string, keyAlgorithm: 'ECDSA', keySize: 256, isCA: false });
    const ca = inv.entries.find((e) => e.certificate?.isCA === true);
    expect(ca).toMatchObject({ locations: [{ key: 'ca.crt', namespace: 'shop', name: 'web-tls' }], managedBy: { managed: 'unmanaged' } });
    expect(ca?.certificate?.selfIssued).toBe(true);
  });

  it('the same certificate in several Secrets is one identity with every location', () => {
    const inv = build([
      secretOf(w.fine, { namespace: 'a', name: 'one', ca: w.ca['ca.crt'] }),
      secretOf(w.fine, { namespace: 'b', name: 'two', ca: w.ca['ca.crt'] }),
    ]);
    const leaf = only(inv.entries);
    expect(leaf.locations.map((l) => (l as SecretLocation).namespace)).toEqual(['a', 'b']);
    const ca = inv.entries.find((e) => e.certificate?.isCA === true);
    expect(ca?.locations).toHaveLength(2);
  });

  it('a self-signed certificate repeated in ca.crt is one identity found twice in the Secret', () => {
    const inv = build([summary({ namespace: 'x', name: 'self', crt: w.ca['tls.crt'], key: w.ca['tls.key'], ca: w.ca['ca.crt'] })]);
    expect(inv.entries).toHaveLength(1);
    expect(inv.entries[0]?.locations.map((l) => (l as SecretLocation).key)).toEqual(['tls.crt', 'ca.crt']);
  });

  it('lists served endpoint leaves as more locations of the same identity', () => {
    const s = secretOf(w.fine, { namespace: 'shop', name: 'web-tls' });
    const facts = s.certificates.leaf;
    if (facts === undefined) throw new Error('no leaf');
    const inv = build([s], { endpoints: [{ namespace: 'shop', service: 'web', port: 443, address: '10.0.0.1:443', certificate: facts }] });
    expect(only(inv.entries).locations.map((l) => l.type)).toEqual(['secret', 'endpoint']);
    expect(inv.postQuantum).toBeUndefined();
  });

  it('counts the post-quantum readiness of fully scanned endpoints per namespace, and the JSON summary carries it', () => {
    const s = secretOf(w.fine, { namespace: 'shop', name: 'web-tls' });
    const facts = s.certificates.leaf;
    if (facts === undefined) throw new Error('no leaf');
    const at = (address: string, postQuantum?: 'ready' | 'classical') => ({ namespace: 'shop', service: 'web', port: 443, address, certificate: facts, ...(postQuantum === undefined ? {} : { postQuantum }) });
    const inv = build([s], { endpoints: [at('10.0.0.1', 'ready'), at('10.0.0.2', 'classical'), at('10.0.0.3')] });
    expect(inv.postQuantum).toEqual([{ namespace: 'shop', ready: 1, partial: 0, classical: 1, unknown: 0 }]);
    expect(inventoryJson(inv).summary.postQuantum).toEqual(inv.postQuantum);
  });
});

describe('buildInventory: problems', () => {
  it.each([
    ['fine', [] as string[]],
    ['expiring', ['expiring/warning']],
    ['critical', ['expiring/critical']],
    ['expired', ['expired/critical']],
    ['future', ['not_yet_valid/warning']],
  ] as const)('%s certificate: %j', (which, expected) => {
    const inv = build([secretOf(w[which], { namespace: 'n', name: which })]);
    expect(problemIds(only(inv.entries))).toEqual(expected);
  });

  it('messages carry the numbers', () => {
    const e = only(build([secretOf(w.expiring, { namespace: 'n', name: 'x' })]).entries);
    expect(e.problems[0]?.message).toMatch(/^expires in 10d, at 2026-01-11T00:00:00Z \(warning threshold 21d\)$/);
    const gone = only(build([secretOf(w.expired, { namespace: 'n', name: 'x' })]).entries);
    expect(gone.problems[0]?.message).toBe('expired 2d ago, at 2025-12-30T00:00:00Z');
  });

  it('uses the alerts thresholds of the TLSPolicy selecting the namespace', () => {
    const policy = tlsPolicy('team', selecting({ team: 'a' }), withPolicySpec({ alerts: { expiryWarning: '120h', expiryCritical: '48h' } }));
    const secrets = [secretOf(w.expiring, { namespace: 'team-a', name: 'x' }), secretOf(w.critical, { namespace: 'team-a', name: 'y' })];
    const inv = build(secrets, { policies: [policy], namespaceLabels: { 'team-a': { team: 'a' } } });
    // 10 days left is outside a 5-day window; 3 days is a warning, not critical (2 days).
    expect(leafEntries(inv.entries).map(problemIds)).toEqual([['expiring/warning'], []]);
    expect(leafEntries(inv.entries)[0]?.thresholds).toEqual({ rule: 'expiry', warningMs: 5 * DAY_MS, criticalMs: 2 * DAY_MS });
  });

  it('uses the policy a managed Certificate reports in its status', () => {
    const policy = tlsPolicy('long', withPolicySpec({ alerts: { expiryWarning: '2400h' } }));
    const cert = certificate('web', inNamespace('n'));
    cert.status = { policy: 'long' };
    const inv = build([secretOf(w.fine, { namespace: 'n', name: 'web-tls' })], { policies: [policy], certificates: [cached(cert)] });
    expect(problemIds(only(inv.entries))).toEqual(['expiring/warning']);
  });

  describe('a certificate a Certificate renews is judged by its renewal schedule', () => {
    // w.expiring: 90 days, 10 left. Its Certificate's status describes it, with a renewal time.
    const writer = (renewalDaysAgo: number, o: { notAfter?: string; policy?: string } = {}) => {
      const cert = certificate('web', inNamespace('n'));
      cert.status = {
        notBefore: new Date(TEST_NOW.getTime() - 80 * DAY_MS).toISOString(),
        notAfter: o.notAfter ?? new Date(TEST_NOW.getTime() + 10 * DAY_MS).toISOString(),
        renewalTime: new Date(TEST_NOW.getTime() - renewalDaysAgo * DAY_MS).toISOString(),
        ...(o.policy === undefined ? {} : { policy: o.policy }),
      };
      return cached(cert);
    };
    const written = () => secretOf(w.expiring, { namespace: 'n', name: 'web-tls', annotations: { 'certkeeper.dev/certificate-name': 'web' } });

    it('renewal not due yet: no problem, though 10 days is inside the fixed 21-day window', () => {
      const inv = build([written()], { certificates: [writer(-1)] });
      expect(problemIds(only(inv.entries))).toEqual([]);
      // Renewal tomorrow, 9 days before expiry: grace min(9d, 3d).
      expect(only(inv.entries).thresholds).toMatchObject({ rule: 'renewal_overdue', warningMs: 6 * DAY_MS, criticalMs: 3 * DAY_MS });
      // The inventory is rebuilt when the warning starts: renewal time + grace.
      expect(inv.validUntil?.toISOString()).toBe(new Date(TEST_NOW.getTime() + 4 * DAY_MS).toISOString());
    });

    it('renewal overdue past the grace: a warning, then critical', () => {
      // Renewal 5.5 days ago, 15.5 days before expiry: grace 5d 4h (a third of that), critical with 5d 4h left.
      expect(problemIds(only(build([written()], { certificates: [writer(5.5)] }).entries))).toEqual(['renewal_overdue/warning']);
      // Renewal 20 days ago, 30 days before expiry: critical with 10 days left.
      const lateInventory = build([written()], { certificates: [writer(20)] });
      expect(renderInventoryTable(lateInventory).split('\n').at(-1)).toBe('1 certificates: 0 expired, 0 expiring, 1 not renewed on schedule, 0 without a readable certificate');
      const late = only(lateInventory.entries);
      expect(problemIds(late)).toEqual(['renewal_overdue/critical']);
      expect(late.primaryProblem).toBe('renewal_overdue');
      expect(late.problems[0]?.message).toBe('not renewed: renewal was due 20d ago, at 2025-12-12T00:00:00Z; expires in 10d, at 2026-01-11T00:00:00Z (critical when 10d are left)');
    });

    it('copies of it elsewhere (an endpoint, ca.crt) do not bring back the fixed thresholds', () => {
      const inv = build([written(), secretOf(w.expiring, { namespace: 'n', name: 'copy', annotations: { 'certkeeper.dev/certificate-name': 'web' } })], { certificates: [writer(-1)] });
      expect(inv.entries.every((e) => e.problems.length === 0)).toBe(true);
    });

    it('a status that describes another certificate (a Secret changed behind its back), or the policy asking for ExpiryThresholds: the fixed thresholds', () => {
      expect(problemIds(only(build([written()], { certificates: [writer(-1, { notAfter: '2026-03-01T00:00:00Z' })] }).entries))).toEqual(['expiring/warning']);
      const fixed = tlsPolicy('fixed', withPolicySpec({ alerts: { managedCertificates: 'ExpiryThresholds' } }));
      expect(problemIds(only(build([written()], { certificates: [writer(-1, { policy: 'fixed' })], policies: [fixed] }).entries))).toEqual(['expiring/warning']);
    });
  });

  it('a Secret whose tls.crt does not parse is an entry with an error, never a crash', () => {
    const inv = build([summary({ namespace: 'n', name: 'broken', crt: CORRUPT_PEM, key: w.fine.keyPem })]);
    expect(inv.entries).toHaveLength(1);
    expect(inv.entries[0]).toMatchObject({ id: 'secret:n/broken', primaryProblem: 'unparsable', error: expect.stringContaining('tls.crt') as string });
    expect(inv.entries[0]?.certificate).toBeUndefined();
  });

  it.each<[string, () => string]>([
    ['garbage that is not PEM', () => 'hello world'],
    ['a truncated PEM block', () => w.fine.certPem.slice(0, 80)],
    ['a blank document', () => ' '],
    ['a private key where the certificate belongs', () => w.fine.keyPem],
  ])('survives %s in tls.crt', (_label, crt) => {
    const inv = build([summary({ namespace: 'n', name: 's', crt: crt(), key: 'x' })]);
    expect(inv.entries).toHaveLength(1);
    expect(inv.entries[0]?.primaryProblem).toBe('unparsable');
    const keyBody = w.fine.keyPem.split('\n')[1] ?? 'unreachable';
    expect(JSON.stringify(inv)).not.toContain(keyBody);
  });

  it('a missing tls.crt is "incomplete"', () => {
    const inv = build([summary({ namespace: 'n', name: 'empty', crt: '', key: '' })]);
    expect(inv.entries[0]).toMatchObject({ primaryProblem: 'incomplete', problems: [{ message: 'Secret n/empty has no tls.crt and tls.key' }] });
  });

  it('a key that does not match keeps the certificate and flags the location', () => {
    const inv = build([summary({ namespace: 'n', name: 'mixed', crt: w.fine.certPem, key: w.expired.keyPem })]);
    const e = only(inv.entries);
    expect(e.certificate?.commonName).toBe('fine');
    expect(e.problems).toEqual([{ id: 'key_mismatch', severity: 'critical', message: 'tls.key of Secret n/mixed does not belong to tls.crt', location: 'secret/n/mixed#tls.crt' }]);
  });

  it('a missing tls.key keeps the certificate and says what is missing', () => {
    const e = only(build([summary({ namespace: 'n', name: 'nokey', crt: w.fine.certPem, key: '' })]).entries);
    expect(problemIds(e)).toEqual(['incomplete/warning']);
  });

  it('the primary problem is the most severe one', () => {
    const e = only(build([summary({ namespace: 'n', name: 'm', crt: w.expiring.certPem, key: w.fine.keyPem })]).entries);
    expect(problemIds(e)).toEqual(['expiring/warning', 'key_mismatch/critical']);
    expect(e.primaryProblem).toBe('key_mismatch');
  });
});

describe('buildInventory: who manages what', () => {
  const managed = (s: TlsSecretSummary, certificates: ParsedCertificate[] = []) => only(build([s], { certificates }).entries).managedBy;

  it('a Secret a Certificate names is certkeeper-managed by that Certificate', () => {
    const cert = certificate('web', inNamespace('n'));
    expect(managed(secretOf(w.fine, { namespace: 'n', name: 'web-tls' }), [cached(cert)])).toEqual({ managed: 'certkeeper', controller: 'certkeeper', resource: 'Certificate/web' });
  });

  it('certkeeper annotations alone also count (the Certificate was deleted, the Secret stays)', () => {
    expect(managed(secretOf(w.fine, { namespace: 'n', name: 'x', annotations: { 'certkeeper.dev/certificate-name': 'gone' } }))).toMatchObject({ managed: 'certkeeper', resource: 'Certificate/gone' });
  });

  it.each([
    [{ annotations: { 'cert-manager.io/certificate-name': 'api', 'cert-manager.io/issuer-name': 'le' } }, { managed: 'other', controller: 'cert-manager', resource: 'Certificate/api' }],
    [{ annotations: { 'cert-manager.io/issuer-name': 'le', 'cert-manager.io/issuer-kind': 'ClusterIssuer' } }, { managed: 'other', controller: 'cert-manager', resource: 'ClusterIssuer/le' }],
    [{ annotations: { 'service.beta.openshift.io/originating-service-name': 'api' } }, { managed: 'other', controller: 'openshift-service-ca', resource: 'Service/api' }],
    [{ annotations: { 'meta.helm.sh/release-name': 'shop' } }, { managed: 'other', controller: 'helm', resource: 'release n/shop' }],
    [{ labels: { 'app.kubernetes.io/managed-by': 'Helm' } }, { managed: 'other', controller: 'Helm' }],
    [{ ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'Gateway', name: 'edge', uid: 'u', controller: true }] }, { managed: 'other', controller: 'Gateway', resource: 'Gateway/edge' }],
    [{}, { managed: 'unmanaged' }],
  ])('%j -> %j', (meta, expected) => {
    expect(managed(secretOf(w.fine, { namespace: 'n', name: 'x', ...meta }))).toEqual(expected);
  });

  it('owner hints come from well-known labels, owner references and Helm', () => {
    const s = secretOf(w.fine, {
      namespace: 'n',
      name: 'x',
      labels: { app: 'web', team: 'shop', unrelated: 'no' },
      annotations: { 'meta.helm.sh/release-name': 'shop', 'meta.helm.sh/release-namespace': 'apps' },
    });
    const location = only(build([s]).entries).locations[0] as SecretLocation;
    expect(location.owners).toEqual({ app: 'web', team: 'shop', helmRelease: 'apps/shop' });
  });

  it('a Certificate without a Secret yet is listed as not issued', () => {
    const cert = certificate('pending', inNamespace('n'));
    cert.status = { conditions: [{ type: 'Ready', status: 'False', reason: 'NoPolicy', message: 'no policy', lastTransitionTime: '2026-01-01T00:00:00Z' }] };
    const inv = build([], { certificates: [cached(cert)] });
    expect(inv.entries).toEqual([
      expect.objectContaining({
        id: 'certificate:n/pending',
        primaryProblem: 'not_issued',
        locations: [{ type: 'certificate', namespace: 'n', name: 'pending', secretName: 'pending-tls' }],
        problems: [expect.objectContaining({ message: 'Certificate n/pending has no Secret pending-tls yet (NoPolicy: no policy)' })],
      }),
    ]);
  });
});

describe('buildInventory: order and scale', () => {
  it('errors first, then soonest expiry', () => {
    const inv = build([
      secretOf(w.fine, { namespace: 'n', name: 'a' }),
      summary({ namespace: 'n', name: 'broken', crt: CORRUPT_PEM, key: 'k' }),
      secretOf(w.expired, { namespace: 'n', name: 'b' }),
      secretOf(w.expiring, { namespace: 'n', name: 'c' }),
    ]);
    expect(inv.entries.map((e) => e.certificate?.commonName ?? e.id)).toEqual(['secret:n/broken', 'expired', 'expiring', 'fine']);
    expect([...inv.entries].sort(compareEntries)).toEqual(inv.entries);
  });

  it('builds 10,000 Secrets in well under a second', () => {
    const base = secretOf(w.fine, { namespace: 'n', name: 'base' });
    const leaf = base.certificates.leaf;
    if (leaf === undefined) throw new Error('no leaf');
    const secrets: TlsSecretSummary[] = [];
    for (let i = 0; i < 10_000; i++) {
      secrets.push({
        ...base,
        namespace: `ns-${i % 100}`,
        name: `s-${i}`,
        certificates: { ...base.certificates, leaf: { ...leaf, fingerprintSHA256: `${i}`.padStart(64, '0'), notAfter: new Date(TEST_NOW.getTime() + (i % 60) * DAY_MS) } },
      });
    }
    const started = performance.now();
    const inv = build(secrets);
    const ms = performance.now() - started;
    expect(inv.entries).toHaveLength(10_000);
    expect(ms).toBeLessThan(1_000);
  });
});
