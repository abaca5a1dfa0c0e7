/**
 * The CRDs in crds/ as the real kube-apiserver enforces them: structural
 * schema, server-side defaults, CEL rules, printer columns, discovery names
 * and the status subresource. No operator runs here; every verdict is the
 * API server's own.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { API_VERSION, GROUP, VERSION } from '../../src/api/meta.js';
import type { CertificateSpec } from '../../src/api/certificate.js';
import type { TLSPolicySpec } from '../../src/api/tlspolicy.js';
import { adminKubeConfig, createTestNamespace } from '../support/kube.js';
import { jsonObject, kubeRequest, statusMessage, type KubeResponse } from '../support/kube-request.js';

const kc = adminKubeConfig();
const GROUP_PATH = `/apis/${GROUP}/${VERSION}`;
const certificatesPath = (namespace: string): string => `${GROUP_PATH}/namespaces/${namespace}/certificates`;
const POLICIES_PATH = `${GROUP_PATH}/tlspolicies`;
const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

/** Specs as sent on the wire: deliberately wider than the TypeScript types, since the invalid ones are the point. */
type WireSpec = Record<string, unknown>;

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not an object: ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

function createCertificate(namespace: string, name: string, spec: WireSpec): Promise<KubeResponse> {
  return kubeRequest(kc, certificatesPath(namespace), {
    method: 'POST',
    body: { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name, namespace }, spec },
  });
}

/** Creates a TLSPolicy; when the server accepts it, it is deleted when the test finishes. */
async function createPolicy(name: string, spec: WireSpec): Promise<KubeResponse> {
  const response = await kubeRequest(kc, POLICIES_PATH, {
    method: 'POST',
    body: { apiVersion: API_VERSION, kind: 'TLSPolicy', metadata: { name }, spec },
  });
  if (response.status === 201) {
    onTestFinished(async () => {
      const deleted = await kubeRequest(kc, `${POLICIES_PATH}/${name}`, { method: 'DELETE' });
      if (deleted.status !== 200 && deleted.status !== 404) throw new Error(`deleting TLSPolicy ${name}: HTTP ${deleted.status}: ${deleted.text}`);
    });
  }
  return response;
}

function expectStatus(response: KubeResponse, status: number): void {
  expect(response.status, `HTTP ${response.status}: ${response.text.slice(0, 600)}`).toBe(status);
}

async function getJson(apiPath: string): Promise<Record<string, unknown>> {
  const response = await kubeRequest(kc, apiPath);
  expectStatus(response, 200);
  return jsonObject(response);
}

const minimalCertificate = (): CertificateSpec => ({ secretName: 'web-tls', dnsNames: ['web.example.com'] });

const fullCertificate = (): CertificateSpec => ({
  secretName: 'full-tls',
  commonName: 'full.example.com',
  dnsNames: ['full.example.com', '*.full.example.com', 'xn--bcher-kva.example'],
  ipAddresses: ['10.0.0.1', '2001:db8::1'],
  uris: ['spiffe://cluster.local/ns/demo/sa/web'],
  emailAddresses: ['ops@example.com'],
  subject: {
    organizations: ['Example Corp'],
    countries: ['DE'],
    organizationalUnits: ['Platform'],
    localities: ['Berlin'],
    provinces: ['Berlin'],
    streetAddresses: ['Example Str. 1'],
    postalCodes: ['10115'],
    serialNumber: '42',
  },
  duration: '720h',
  renewBefore: '240h',
  privateKey: { algorithm: 'ECDSA', size: 384, encoding: 'PKCS8', rotationPolicy: 'Never' },
  usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
  isCA: false,
  secretTemplate: { labels: { team: 'platform' }, annotations: { 'example.com/owner': 'ops' } },
  policyRef: { name: 'platform-default' },
  endpoints: [{ service: 'web', port: 443, serverName: 'full.example.com' }],
});

describe('Certificate admission: accepted', () => {
  it('accepts a minimal Certificate and stores it unchanged (no privateKey defaults invented)', async () => {
    const { name: namespace } = await createTestNamespace('crd-minimal');
    const created = await createCertificate(namespace, 'web', minimalCertificate());
    expectStatus(created, 201);
    const stored = await getJson(`${certificatesPath(namespace)}/web`);
    expect(stored.spec).toEqual(minimalCertificate());
    expect(record(stored.metadata, 'metadata').generation).toBe(1);
    expect(stored.status).toBeUndefined();
  });

  it('accepts a Certificate with every field and prunes none of them', async () => {
    const { name: namespace } = await createTestNamespace('crd-full');
    const created = await createCertificate(namespace, 'full', fullCertificate());
    expectStatus(created, 201);
    const stored = await getJson(`${certificatesPath(namespace)}/full`);
    expect(stored.spec).toEqual(fullCertificate());
  });

  it('accepts renewBeforePercentage at its bounds (1 and 99) and Ed25519 without a size', async () => {
    const { name: namespace } = await createTestNamespace('crd-bounds');
    for (const [name, spec] of [
      ['pct-1', { ...minimalCertificate(), renewBeforePercentage: 1 }],
      ['pct-99', { ...minimalCertificate(), renewBeforePercentage: 99 }],
      ['ed25519', { ...minimalCertificate(), privateKey: { algorithm: 'Ed25519', encoding: 'PKCS8' } }],
      ['ip-only', { secretName: 'ip-tls', ipAddresses: ['127.0.0.1', '::1'] }],
      ['cn-only', { secretName: 'cn-tls', commonName: 'just a name' }],
    ] as const) {
      const created = await createCertificate(namespace, name, spec);
      expect(created.status, `${name}: ${created.text.slice(0, 400)}`).toBe(201);
    }
  });

  it('defaults privateKey.algorithm RSA, encoding PKCS1 and rotationPolicy Always on the server', async () => {
    const { name: namespace } = await createTestNamespace('crd-defaults');
    expectStatus(await createCertificate(namespace, 'empty-key', { ...minimalCertificate(), privateKey: {} }), 201);
    expectStatus(await createCertificate(namespace, 'sized-key', { ...minimalCertificate(), privateKey: { size: 4096 } }), 201);

    const empty = record((await getJson(`${certificatesPath(namespace)}/empty-key`)).spec, 'spec');
    expect(empty.privateKey).toEqual({ algorithm: 'RSA', encoding: 'PKCS1', rotationPolicy: 'Always' });
    const sized = record((await getJson(`${certificatesPath(namespace)}/sized-key`)).spec, 'spec');
    expect(sized.privateKey).toEqual({ algorithm: 'RSA', size: 4096, encoding: 'PKCS1', rotationPolicy: 'Always' });
  });

  it('defaults TLSPolicy priority to 0 and keeps an empty selfSigned issuer', async () => {
    const name = unique('admission-defaults');
    const spec: TLSPolicySpec = { priority: 0, issuer: { selfSigned: {} } };
    const { priority: _omitted, ...withoutPriority } = spec;
    expectStatus(await createPolicy(name, withoutPriority), 201);
    const stored = await getJson(`${POLICIES_PATH}/${name}`);
    expect(stored.spec).toEqual({ priority: 0, issuer: { selfSigned: {} } });
  });

  it('accepts a TLSPolicy with every field and prunes none of them', async () => {
    const name = unique('admission-full');
    const spec: TLSPolicySpec = {
      // Selects no namespace: operators of other test files must not act on it.
      namespaceSelector: {
        matchLabels: { 'certkeeper.dev/admission-test': name },
        matchExpressions: [{ key: 'certkeeper.dev/tier', operator: 'In', values: ['never'] }],
      },
      priority: -1000,
      issuer: {
        acme: {
          server: 'https://acme.example.com/directory',
          email: 'ops@example.com',
          privateKeySecretRef: { name: 'acme-account', key: 'tls.key' },
          externalAccountBinding: { keyID: 'kid-1', keySecretRef: { name: 'eab', key: 'hmac' }, keyAlgorithm: 'HS256' },
          profile: 'shortlived',
          preferredChain: 'ISRG Root X1',
          solvers: [
            {
              selector: { dnsNames: ['a.example.com'], dnsZones: ['example.com'] },
              http01: {
                ingress: { class: 'nginx', ingressClassName: 'nginx' },
                gatewayHTTPRoute: { parentRefs: [{ name: 'gw', namespace: 'infra', sectionName: 'http' }] },
              },
            },
            {
              dns01: {
                rfc2136: {
                  nameserver: '127.0.0.1:53',
                  tsigKeyName: 'certkeeper',
                  tsigAlgorithm: 'HMACSHA256',
                  tsigSecretSecretRef: { name: 'tsig', key: 'secret' },
                },
              },
            },
          ],
        },
      },
      certificates: {
        allowedDomains: ['**.example.com'],
        maxDuration: '2160h',
        defaultDuration: '2160h',
        renewBefore: '720h',
        allowedKeyAlgorithms: ['RSA', 'ECDSA', 'Ed25519'],
        minRSASize: 2048,
      },
      alerts: { expiryWarning: '504h', expiryCritical: '168h', managedCertificates: 'ExpiryThresholds', renewalGracePercentage: 20, labels: { severity: 'page' } },
      endpoints: {
        serviceSelector: { matchLabels: { tier: 'edge' } },
        interval: '1h',
        profile: 'old',
        guidelines: 'Mozilla-5.7',
        overrides: { requirePostQuantum: false, requireOCSPStapling: false },
      },
    };
    expectStatus(await createPolicy(name, spec), 201);
    const stored = await getJson(`${POLICIES_PATH}/${name}`);
    expect(stored.spec).toEqual(spec);
  });
});

interface RejectionCase {
  what: string;
  kind: 'Certificate' | 'TLSPolicy';
  spec: WireSpec;
  /** Substrings the server's message must contain: the field path and/or the rule's message. */
  expected: string[];
}

const identity = { dnsNames: ['web.example.com'] };
const certificateCase = (what: string, spec: WireSpec, ...expected: string[]): RejectionCase => ({
  what,
  kind: 'Certificate',
  spec: { secretName: 'web-tls', ...spec },
  expected,
});
const policyCase = (what: string, spec: WireSpec, ...expected: string[]): RejectionCase => ({ what, kind: 'TLSPolicy', spec, expected });

const NO_IDENTITY = 'at least one of commonName, dnsNames, ipAddresses, uris or emailAddresses must be set';
const ONE_ISSUER = 'issuer must set exactly one of acme, ca, selfSigned';

const rejections: RejectionCase[] = [
  certificateCase('no identity name at all', {}, NO_IDENTITY),
  certificateCase('only empty name lists', { dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] }, NO_IDENTITY),
  certificateCase(
    'renewBefore together with renewBeforePercentage',
    { ...identity, renewBefore: '1h', renewBeforePercentage: 30 },
    'renewBefore and renewBeforePercentage are mutually exclusive',
  ),
  certificateCase('renewBefore equal to duration', { ...identity, duration: '1h', renewBefore: '60m' }, 'spec.renewBefore', 'renewBefore must be shorter than duration'),
  certificateCase('renewBefore longer than duration', { ...identity, duration: '24h', renewBefore: '25h' }, 'spec.renewBefore', 'renewBefore must be shorter than duration'),
  certificateCase('a duration in days ("90d")', { ...identity, duration: '90d' }, 'spec.duration', '"90d"'),
  certificateCase('a negative duration ("-1h")', { ...identity, duration: '-1h' }, 'spec.duration', '"-1h"'),
  certificateCase('a zero duration ("0s")', { ...identity, duration: '0s' }, 'spec.duration', 'must be a positive duration'),
  certificateCase('a renewBefore that does not parse', { ...identity, renewBefore: '1 hour' }, 'spec.renewBefore'),
  certificateCase('renewBeforePercentage 0', { ...identity, renewBeforePercentage: 0 }, 'spec.renewBeforePercentage', 'greater than or equal to 1'),
  certificateCase('renewBeforePercentage 100', { ...identity, renewBeforePercentage: 100 }, 'spec.renewBeforePercentage', 'less than or equal to 99'),
  certificateCase(
    'privateKey.size 1024 for RSA (the default algorithm)',
    { ...identity, privateKey: { size: 1024 } },
    'spec.privateKey.size',
    'privateKey.size for RSA must be one of 2048, 3072, 4096, 8192',
  ),
  certificateCase(
    'privateKey.size 300 for ECDSA',
    { ...identity, privateKey: { algorithm: 'ECDSA', size: 300 } },
    'spec.privateKey.size',
    'privateKey.size for ECDSA must be one of 256, 384, 521',
  ),
  certificateCase(
    'a privateKey.size for Ed25519',
    { ...identity, privateKey: { algorithm: 'Ed25519', size: 256 } },
    'spec.privateKey.size',
    'privateKey.size must be omitted for Ed25519',
  ),
  certificateCase('an unknown key algorithm', { ...identity, privateKey: { algorithm: 'DSA' } }, 'spec.privateKey.algorithm', 'Unsupported value: "DSA"'),
  certificateCase('an unknown key encoding', { ...identity, privateKey: { encoding: 'DER' } }, 'spec.privateKey.encoding', 'Unsupported value: "DER"'),
  certificateCase('an upper-case dnsName', { dnsNames: ['Web.Example.com'] }, 'spec.dnsNames[0]'),
  certificateCase('a dnsName with an empty label', { dnsNames: ['ok.example.com', 'web..example.com'] }, 'spec.dnsNames[1]'),
  certificateCase('a wildcard that is not the left-most label', { dnsNames: ['web.*.example.com'] }, 'spec.dnsNames[0]'),
  certificateCase('a non-IP in ipAddresses', { ipAddresses: ['10.0.0.1', 'not-an-ip'] }, 'spec.ipAddresses[1]', 'must be an IPv4 or IPv6 address'),
  certificateCase('an IP with a prefix length in ipAddresses', { ipAddresses: ['10.0.0.0/8'] }, 'spec.ipAddresses[0]', 'must be an IPv4 or IPv6 address'),
  certificateCase('an unknown usage', { ...identity, usages: ['server auth', 'server-auth'] }, 'spec.usages[1]', 'Unsupported value: "server-auth"'),
  { what: 'no secretName', kind: 'Certificate', spec: { ...identity }, expected: ['spec.secretName', 'Required value'] },
  certificateCase('an invalid secretName', { ...identity, secretName: 'Web_TLS' }, 'spec.secretName', '"Web_TLS"'),
  certificateCase('an endpoint port out of range', { ...identity, endpoints: [{ service: 'web', port: 70000 }] }, 'spec.endpoints[0].port'),
  policyCase(
    'two issuers (acme and ca)',
    { issuer: { acme: { server: 'https://acme.example.com/dir', privateKeySecretRef: { name: 'acct' } }, ca: { secretName: 'ca' } } },
    'spec.issuer',
    ONE_ISSUER,
  ),
  policyCase('an issuer with none set', { issuer: {} }, 'spec.issuer', ONE_ISSUER),
  policyCase('both issuer and issuers', { issuer: { selfSigned: {} }, issuers: [{ name: 'a', selfSigned: {} }] }, 'spec', 'set issuer or issuers, not both'),
  policyCase('two issuers of one name', { issuers: [{ name: 'a', selfSigned: {} }, { name: 'a', ca: { secretName: 'ca' } }] }, 'spec.issuers[1]', 'Duplicate value'),
  policyCase('a listed issuer with two kinds', { issuers: [{ name: 'a', selfSigned: {}, ca: { secretName: 'ca' } }] }, 'spec.issuers[0]', 'each issuer must set exactly one of acme, ca, selfSigned'),
  policyCase('an issuer name that is not a DNS label', { issuers: [{ name: 'Primary CA', selfSigned: {} }] }, 'spec.issuers[0].name'),
  policyCase('an empty issuers list', { issuers: [] }, 'spec.issuers'),
  policyCase('a reload with an unknown strategy', { reload: { strategy: 'DeletePods' } }, 'spec.reload.strategy', 'Unsupported value: "DeletePods"'),
  certificateCase('a reload after that is not a duration', { ...identity, reload: { strategy: 'RolloutRestart', after: 'soon' } }, 'spec.reload.after'),
  policyCase(
    'defaultDuration longer than maxDuration',
    { certificates: { maxDuration: '720h', defaultDuration: '2160h' } },
    'spec.certificates.defaultDuration',
    'defaultDuration must not exceed maxDuration',
  ),
  policyCase(
    'an ACME server that is not https',
    { issuer: { acme: { server: 'http://acme.example.com/dir', privateKeySecretRef: { name: 'acct' } } } },
    'spec.issuer.acme.server',
  ),
  policyCase('priority above 1000', { priority: 1001 }, 'spec.priority', 'less than or equal to 1000'),
  policyCase('priority below -1000', { priority: -1001 }, 'spec.priority', 'greater than or equal to -1000'),
  policyCase('minRSASize below 1024', { certificates: { minRSASize: 512 } }, 'spec.certificates.minRSASize'),
  policyCase('a zero expiryWarning', { alerts: { expiryWarning: '0h' } }, 'spec.alerts.expiryWarning', 'must be a positive duration'),
  policyCase('an unknown managedCertificates rule', { alerts: { managedCertificates: 'Never' } }, 'spec.alerts.managedCertificates', 'Unsupported value'),
  policyCase('a renewal grace of 0 %', { alerts: { renewalGracePercentage: 0 } }, 'spec.alerts.renewalGracePercentage', 'greater than or equal to 1'),
  policyCase('a renewal grace above 50 %', { alerts: { renewalGracePercentage: 51 } }, 'spec.alerts.renewalGracePercentage', 'less than or equal to 50'),
  policyCase(
    'profile old from TLSRef 6.0, which retired it',
    { endpoints: { serviceSelector: {}, profile: 'old', guidelines: 'TLSRef-6.0' } },
    'spec.endpoints',
    'TLSRef-6.0 has no "old" profile',
  ),
  policyCase('unknown guidelines', { endpoints: { serviceSelector: {}, guidelines: 'Mozilla-5.8' } }, 'spec.endpoints.guidelines', 'Unsupported value: "Mozilla-5.8"'),
];

describe('admission: refused with HTTP 422 and a message naming the field', () => {
  it.each(rejections)('$kind with $what', async ({ kind, spec, expected }) => {
    let response: KubeResponse;
    let readBack: string;
    if (kind === 'Certificate') {
      const { name: namespace } = await createTestNamespace('crd-reject');
      response = await createCertificate(namespace, 'rejected', spec);
      readBack = `${certificatesPath(namespace)}/rejected`;
    } else {
      const name = unique('admission-reject');
      response = await createPolicy(name, spec);
      readBack = `${POLICIES_PATH}/${name}`;
    }
    expectStatus(response, 422);
    const message = statusMessage(response);
    expect(jsonObject(response).reason).toBe('Invalid');
    for (const part of expected) expect(message).toContain(part);
    expect((await kubeRequest(kc, readBack)).status, 'a refused object must not exist').toBe(404);
  });
});

describe('printer columns and discovery', () => {
  it('serves the Certificate as a Table with Ready, Secret, Expires and Age columns filled from the object', async () => {
    const { name: namespace } = await createTestNamespace('crd-table');
    expectStatus(await createCertificate(namespace, 'web', minimalCertificate()), 201);
    const patched = await kubeRequest(kc, `${certificatesPath(namespace)}/web/status`, {
      method: 'PATCH',
      headers: MERGE_PATCH,
      body: {
        status: {
          notAfter: '2031-01-01T00:00:00Z',
          conditions: [
            { type: 'Ready', status: 'True', reason: 'Issued', message: 'issued', lastTransitionTime: '2030-10-03T00:00:00Z' },
            { type: 'EndpointsVerified', status: 'False', reason: 'StaleCertificate', message: 'stale', lastTransitionTime: '2030-10-03T00:00:00Z' },
          ],
        },
      },
    });
    expectStatus(patched, 200);

    const response = await kubeRequest(kc, `${certificatesPath(namespace)}/web`, {
      headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
    });
    expectStatus(response, 200);
    const table = jsonObject(response);
    expect(table.kind).toBe('Table');
    const columns = (table.columnDefinitions as Array<{ name: string; priority: number }>).map((c) => ({ name: c.name, priority: c.priority }));
    const names = columns.map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['Ready', 'Secret', 'Expires', 'Age']));
    // What `kubectl get` shows without -o wide: priority 0, in this order.
    expect(columns.filter((c) => c.priority === 0).map((c) => c.name)).toEqual(['Name', 'Ready', 'Secret', 'Endpoints', 'Expires', 'Age']);
    expect(columns.filter((c) => c.priority > 0).map((c) => c.name)).toEqual(['Reason', 'Policy', 'Issuer', 'Renewal']);

    const rows = table.rows as Array<{ cells: unknown[] }>;
    expect(rows).toHaveLength(1);
    const cells = Object.fromEntries(names.map((name, i) => [name, rows[0]?.cells[i]]));
    expect(cells).toMatchObject({ Name: 'web', Ready: 'True', Reason: 'Issued', Secret: 'web-tls', Endpoints: 'False', Expires: '2031-01-01T00:00:00Z' });
    expect(cells.Age).toMatch(/^\d+s$/);
  });

  it('announces short names and the certkeeper category in discovery', async () => {
    const discovery = await getJson(GROUP_PATH);
    expect(discovery.kind).toBe('APIResourceList');
    expect(discovery.groupVersion).toBe(API_VERSION);
    const resources = discovery.resources as Array<{ name: string; kind: string; namespaced: boolean; shortNames?: string[]; categories?: string[] }>;
    const byName = new Map(resources.map((r) => [r.name, r]));
    expect(byName.get('certificates')).toMatchObject({ kind: 'Certificate', namespaced: true, categories: ['certkeeper'] });
    expect(byName.get('certificates')?.shortNames).toEqual(expect.arrayContaining(['ckcert', 'ckcerts']));
    expect(byName.get('tlspolicies')).toMatchObject({ kind: 'TLSPolicy', namespaced: false, categories: ['certkeeper'], shortNames: ['tlspol'] });
    expect(byName.has('certificates/status')).toBe(true);
    expect(byName.has('tlspolicies/status')).toBe(true);

    // Resolving "ckcert" the way kubectl does: the resource whose shortNames contain it.
    const resolved = resources.filter((r) => r.shortNames?.includes('ckcert')).map((r) => r.name);
    expect(resolved).toEqual(['certificates']);
    const inCategory = resources.filter((r) => r.categories?.includes('certkeeper')).map((r) => r.name).sort();
    expect(inCategory).toEqual(['certificates', 'tlspolicies']);
  });
});

describe('status subresource', () => {
  it('ignores status in a spec patch, and takes a status patch without bumping generation', async () => {
    const { name: namespace } = await createTestNamespace('crd-status');
    expectStatus(await createCertificate(namespace, 'web', minimalCertificate()), 201);
    const path = `${certificatesPath(namespace)}/web`;

    const specPatch = await kubeRequest(kc, path, {
      method: 'PATCH',
      headers: MERGE_PATCH,
      body: { spec: { duration: '720h' }, status: { policy: 'sneaked-in', revision: 7 } },
    });
    expectStatus(specPatch, 200);
    const afterSpec = jsonObject(specPatch);
    expect(record(afterSpec.spec, 'spec').duration).toBe('720h');
    expect(afterSpec.status).toBeUndefined();
    expect(record(afterSpec.metadata, 'metadata').generation).toBe(2);

    const statusPatch = await kubeRequest(kc, `${path}/status`, {
      method: 'PATCH',
      headers: MERGE_PATCH,
      body: { spec: { duration: '1h' }, status: { policy: 'platform-default', revision: 1, observedGeneration: 2, renewalBasis: 'Default' } },
    });
    expectStatus(statusPatch, 200);
    const afterStatus = await getJson(path);
    expect(afterStatus.status).toEqual({ policy: 'platform-default', revision: 1, observedGeneration: 2, renewalBasis: 'Default' });
    expect(record(afterStatus.spec, 'spec').duration).toBe('720h');
    expect(record(afterStatus.metadata, 'metadata').generation).toBe(2);
  });

  it('validates status against its schema too', async () => {
    const { name: namespace } = await createTestNamespace('crd-status-invalid');
    expectStatus(await createCertificate(namespace, 'web', minimalCertificate()), 201);
    const response = await kubeRequest(kc, `${certificatesPath(namespace)}/web/status`, {
      method: 'PATCH',
      headers: MERGE_PATCH,
      body: { status: { renewalBasis: 'Whenever', revision: -1 } },
    });
    expectStatus(response, 422);
    expect(statusMessage(response)).toContain('status.renewalBasis');
    expect(statusMessage(response)).toContain('status.revision');
  });
});
