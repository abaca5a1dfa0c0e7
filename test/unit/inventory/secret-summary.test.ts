import { beforeAll, describe, expect, it } from 'vitest';
import { summarizeTlsSecret } from '../../../src/secrets/summary.js';
import { MAX_CA_CERTIFICATES } from '../../../src/secrets/facts.js';
import { CORRUPT_PEM, tlsSecret } from '../../support/inventory-fixtures.js';
import { testWorld, type World } from './world.js';

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
