import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCertificateDer } from '../../../src/pki/certificate-der.js';
import { decodePemBlocks } from '../../../src/pki/pem.js';
import { crlFacts, revocationInfo, tlsFeatureHasStatusRequest, type RevocationInfo } from '../../../src/pki/revocation.js';
import { usagesOfExtensions } from '../../../src/pki/usages.js';
import { x509 } from '../../../src/pki/x509.js';
import { crlFindings } from '../../../src/probe/analyse.js';
import { evaluateCompliance } from '../../../src/probe/compliance.js';
import type { CrlFindings } from '../../../src/probe/findings.js';
import { gradeFindings } from '../../../src/probe/grade.js';
import { fetchCrl } from '../../../src/probe/jobs/crl.js';
import { accepted, failed, rejected } from '../../../src/probe/jobs/outcome.js';
import { probeCrl, type CrlCheck } from '../../../src/probe/jobs/revocation.js';
import { maxPublicLifetimeDays } from '../../../src/probe/lifetimes.js';
import { customProfile, resolveProfile } from '../../../src/probe/profiles/index.js';
import { testCa, testCrl, testLeaf, type TestCa } from '../../support/revocation-pki.js';
import { findings, set, withCertificate, withLeaf } from './findings-builders.js';

// Revocation and EKU: what a certificate says (OCSP URL, CRL distribution
// point, Must-Staple, clientAuth), the CRL fetch and its bounds against a
// local HTTP server, and the judgements made of them.

const NOW = new Date();
const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const webcryptoKeys = () => crypto.subtle.generateKey(ECDSA, true, ['sign', 'verify']);
const HOUR = 3_600_000;
let ca: TestCa;

beforeAll(async () => {
  ca = await testCa();
});

/** The DER reader's view of a library-made certificate. */
const der = (certificate: x509.X509Certificate) => readCertificateDer(new Uint8Array(certificate.rawData));

/** The same facts as the X.509 library reads them: the reference the DER reader is held to. */
function libraryReading(certificate: x509.X509Certificate): RevocationInfo {
  const aia = certificate.getExtension(x509.AuthorityInfoAccessExtension);
  const cdp = certificate.getExtension(x509.CRLDistributionPointsExtension);
  const feature = certificate.extensions.find((e) => e.type === '1.3.6.1.5.5.7.1.24');
  const crlUrls: string[] = [];
  for (const point of cdp?.distributionPoints ?? []) {
    for (const name of point.distributionPoint?.fullName ?? []) if (name.uniformResourceIdentifier !== undefined) crlUrls.push(name.uniformResourceIdentifier);
  }
  return {
    ocspUrls: aia === null ? [] : aia.ocsp.filter((n) => n.type === 'url').map((n) => n.value),
    crlUrls,
    mustStaple: feature !== undefined && tlsFeatureHasStatusRequest(new Uint8Array(feature.value)),
    usages: usagesOfExtensions(certificate.extensions),
  };
}

describe('revocationInfo', () => {
  it('reads the OCSP responder, the CRL distribution point, Must-Staple and the usages', async () => {
    const leaf = await testLeaf(ca, { dnsName: 'a.test', serial: '0a', ocspUrl: 'http://ocsp.test/', crlUrl: 'http://crl.test/ca.crl', mustStaple: true, clientAuth: true });
    expect(revocationInfo(der(leaf.certificate))).toEqual({
      ocspUrls: ['http://ocsp.test/'],
      crlUrls: ['http://crl.test/ca.crl'],
      mustStaple: true,
      usages: ['digital signature', 'server auth', 'client auth'],
    });
  });

  it('reads a certificate without any of them', async () => {
    const leaf = await testLeaf(ca, { dnsName: 'b.test', serial: '0b' });
    expect(revocationInfo(der(leaf.certificate))).toEqual({ ocspUrls: [], crlUrls: [], mustStaple: false, usages: ['digital signature', 'server auth'] });
  });

  it('reads what the X.509 library reads: several responders and points, other access methods and names, every key usage bit, unknown purposes', async () => {
    const keys = await webcryptoKeys();
    const make = (extensions: x509.Extension[]) =>
      x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '02', name: 'CN=extensions', notBefore: NOW, notAfter: new Date(NOW.getTime() + HOUR), signingAlgorithm: ECDSA, keys, extensions });
    const allBits = Object.values(x509.KeyUsageFlags).filter((v): v is number => typeof v === 'number').reduce((a, b) => a | b, 0);
    const certificates = [
      await make([
        new x509.AuthorityInfoAccessExtension({
          ocsp: [new x509.GeneralName('url', 'http://ocsp-1.test/'), new x509.GeneralName('dns', 'ocsp.test'), new x509.GeneralName('url', 'https://ocsp-2.test/x')],
          caIssuers: [new x509.GeneralName('url', 'http://issuers.test/ca.der')],
        }),
        new x509.CRLDistributionPointsExtension(['http://crl-1.test/a.crl', 'ldap://crl.test/cn=ca', 'http://crl-2.test/b.crl']),
        new x509.KeyUsagesExtension(allBits, true),
        new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.9', '1.2.3.4.5', '2.5.29.37.0']),
        new x509.Extension('1.3.6.1.5.5.7.1.24', false, new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x11, 0x02, 0x01, 0x05])),
      ]),
      ...(await Promise.all(
        [x509.KeyUsageFlags.decipherOnly, x509.KeyUsageFlags.encipherOnly | x509.KeyUsageFlags.keyAgreement, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, x509.KeyUsageFlags.nonRepudiation].map((flags) =>
          make([new x509.KeyUsagesExtension(flags)]),
        ),
      )),
      await make([]),
    ];
    for (const certificate of certificates) expect(revocationInfo(der(certificate))).toEqual(libraryReading(certificate));
    expect(revocationInfo(der(certificates[0] as x509.X509Certificate)).ocspUrls).toEqual(['http://ocsp-1.test/', 'https://ocsp-2.test/x']);
  });

  it("reads OpenSSL's encoding too: one distribution point holding several names", () => {
    const dir = mkdtempSync(join(tmpdir(), 'certkeeper-revocation-'));
    try {
      const [key, crt] = [join(dir, 'key.pem'), join(dir, 'crt.pem')];
      execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], { stdio: 'pipe' });
      execFileSync(
        'openssl',
        ['req', '-x509', '-key', key, '-out', crt, '-days', '2', '-subj', '/CN=openssl', '-addext', 'crlDistributionPoints=URI:http://crl-a.test/,URI:http://crl-b.test/', '-addext', 'authorityInfoAccess=OCSP;URI:http://ocsp.test/,caIssuers;URI:http://ca.test/', '-addext', 'tlsfeature=status_request', '-addext', 'extendedKeyUsage=clientAuth'],
        { stdio: 'pipe' },
      );
      const [block] = decodePemBlocks(readFileSync(crt, 'utf8'), 'openssl');
      const bytes = new Uint8Array(block?.der ?? []);
      const native = revocationInfo(readCertificateDer(bytes));
      expect(native).toEqual(libraryReading(new x509.X509Certificate(bytes)));
      expect(native).toMatchObject({ ocspUrls: ['http://ocsp.test/'], crlUrls: ['http://crl-a.test/', 'http://crl-b.test/'], mustStaple: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a malformed extension reads as absent, and the rest of the certificate is still read', async () => {
    const keys = await webcryptoKeys();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '03',
      name: 'CN=broken',
      notBefore: NOW,
      notAfter: new Date(NOW.getTime() + HOUR),
      signingAlgorithm: ECDSA,
      keys,
      extensions: [
        new x509.Extension('1.3.6.1.5.5.7.1.1', false, new Uint8Array([0x30, 0x09, 0x30])),
        new x509.Extension('2.5.29.31', false, new Uint8Array([0x04, 0x00])),
        new x509.Extension('2.5.29.15', true, new Uint8Array([0x30, 0x00])),
        new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.2']),
      ],
    });
    expect(revocationInfo(der(certificate))).toEqual({ ocspUrls: [], crlUrls: [], mustStaple: false, usages: ['client auth'] });
  });

  it('finds status_request among the TLS features, and nothing in other features or bad DER', () => {
    expect(tlsFeatureHasStatusRequest(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]))).toBe(true);
    expect(tlsFeatureHasStatusRequest(new Uint8Array([0x30, 0x06, 0x02, 0x01, 0x11, 0x02, 0x01, 0x05]))).toBe(true);
    expect(tlsFeatureHasStatusRequest(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x11]))).toBe(false);
    expect(tlsFeatureHasStatusRequest(new Uint8Array([0x04, 0x01, 0x05]))).toBe(false);
    expect(() => tlsFeatureHasStatusRequest(new Uint8Array([0x30, 0x09]))).toThrow(RangeError);
  });

  it('reads a CRL and checks its signature with the issuer', async () => {
    const der = await testCrl(ca, { revoked: ['0a', '1f'], thisUpdate: new Date(NOW.getTime() - HOUR), nextUpdate: new Date(NOW.getTime() + HOUR) });
    const facts = await crlFacts(der, ca.certificate);
    expect(facts).toMatchObject({ issuer: 'CN=revocation test CA', revokedSerials: ['a', '1f'], signatureValid: true });
    const forged = await testCrl(ca, { thisUpdate: NOW, nextUpdate: NOW, signer: (await testCa('other')).keys });
    expect((await crlFacts(forged, ca.certificate)).signatureValid).toBe(false);
    expect((await crlFacts(der, undefined)).signatureValid).toBeUndefined();
  });
});

describe('fetchCrl: bounded in size and time, http only, no redirects', () => {
  let server: Server;
  let base: string;
  let crl: Buffer;
  beforeAll(async () => {
    crl = await testCrl(ca, { thisUpdate: NOW, nextUpdate: new Date(NOW.getTime() + HOUR) });
    server = createServer((req, res) => {
      switch (req.url) {
        case '/ca.crl':
          res.end(crl);
          return;
        case '/big':
          res.writeHead(200, { 'content-length': String(5 * 1024 * 1024) });
          res.end();
          return;
        case '/endless': {
          res.writeHead(200);
          const chunk = Buffer.alloc(64 * 1024, 1);
          const pump = (): void => {
            if (res.write(chunk)) setImmediate(pump);
            else res.once('drain', pump);
          };
          pump();
          res.on('close', () => undefined);
          return;
        }
        case '/slow':
          res.writeHead(200);
          res.write(Buffer.from([0x30]));
          return; // never ends
        case '/moved':
          res.writeHead(302, { location: '/ca.crl' });
          res.end();
          return;
        default:
          res.writeHead(404);
          res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fetches a CRL', async () => {
    const outcome = await fetchCrl(`${base}/ca.crl`);
    expect(outcome).toMatchObject({ status: 'accepted', value: { url: `${base}/ca.crl`, bytes: crl.length } });
  });

  it.each([
    ['a declared size over the bound', '/big', 'error', /more than the 1048576 bytes|5242880 bytes/],
    ['a body that never ends', '/endless', 'error', /more than the 1048576 bytes/],
    ['a body that never completes', '/slow', 'error', /within 300 ms/],
    ['a redirect', '/moved', 'rejected', /HTTP 302/],
    ['a missing file', '/nope', 'rejected', /HTTP 404/],
  ])('stops at %s', async (_what, path, status, reason) => {
    const outcome = await fetchCrl(`${base}${path}`, { timeoutMs: 300, maxBytes: 1024 * 1024 });
    expect(outcome.status).toBe(status);
    expect(outcome.status === 'accepted' ? '' : outcome.status === 'rejected' ? outcome.reason : outcome.error).toMatch(reason);
  });

  it('does not fetch https, ldap or nonsense', async () => {
    expect(await fetchCrl('https://127.0.0.1/ca.crl')).toMatchObject({ status: 'rejected' });
    expect(await fetchCrl('ldap://dir.test/cn=CA')).toMatchObject({ status: 'rejected' });
    expect(await fetchCrl('not a url')).toMatchObject({ status: 'error' });
  });

  it('checks a leaf against the CRL it names: listed or not', async () => {
    const listed = await testLeaf(ca, { dnsName: 'r.test', serial: '0bad', crlUrl: `${base}/ca.crl` });
    const chain = (l: typeof listed) => [Buffer.from(l.certificate.rawData).toString('base64'), Buffer.from(ca.certificate.rawData).toString('base64')];
    crl = await testCrl(ca, { revoked: ['0bad'], thisUpdate: NOW, nextUpdate: new Date(NOW.getTime() + HOUR) });
    expect(await probeCrl(chain(listed))).toMatchObject({ status: 'accepted', value: { listsLeaf: true, signatureValid: true, issuer: 'CN=revocation test CA' } });
    const fine = await testLeaf(ca, { dnsName: 'f.test', serial: '0f00', crlUrl: `${base}/ca.crl` });
    expect(await probeCrl(chain(fine))).toMatchObject({ status: 'accepted', value: { listsLeaf: false } });
    const none = await testLeaf(ca, { dnsName: 'n.test', serial: '0e' });
    expect(await probeCrl(chain(none))).toMatchObject({ status: 'rejected', reason: 'the certificate names no http CRL distribution point' });
    const garbage = await testLeaf(ca, { dnsName: 'g.test', serial: '0d', crlUrl: `${base}/slow` });
    expect((await probeCrl(chain(garbage), { timeoutMs: 200, maxBytes: 1024 })).status).toBe('error');
  });
});

const check = (over: Partial<CrlCheck> = {}): CrlCheck => ({
  url: 'http://crl.test/ca.crl',
  bytes: 300,
  thisUpdate: new Date(NOW.getTime() - HOUR).toISOString(),
  nextUpdate: new Date(NOW.getTime() + HOUR).toISOString(),
  listsLeaf: false,
  signatureValid: true,
  issuer: 'CN=CA',
  ...over,
});

describe('crlFindings', () => {
  it.each<[string, Parameters<typeof crlFindings>[0], CrlFindings['status']]>([
    ['not fetched', undefined, 'not-tested'],
    ['no distribution point', rejected('the certificate names no http CRL distribution point', 0), 'not-tested'],
    ['fetch failed', failed('no complete CRL within 3000 ms', 3000), 'unavailable'],
    ['current', accepted(check(), 5), 'current'],
    ['nextUpdate passed', accepted(check({ nextUpdate: new Date(NOW.getTime() - 1000).toISOString() }), 5), 'stale'],
    ['no nextUpdate at all', accepted(check({ nextUpdate: undefined }), 5), 'current'],
    ['lists the leaf', accepted(check({ listsLeaf: true }), 5), 'revoked'],
    ['signed by someone else', accepted(check({ signatureValid: false, listsLeaf: true }), 5), 'unavailable'],
    ['issuer not served', accepted(check({ signatureValid: undefined }), 5), 'current'],
  ])('%s', (_what, outcome, status) => {
    expect(crlFindings(outcome, NOW).status).toBe(status);
  });
});

describe('judgements', () => {
  const intermediate = resolveProfile('intermediate');
  const ids = (f: ReturnType<typeof findings>, profile = intermediate) => {
    const r = evaluateCompliance(f, profile);
    return { violations: r.violations.map((v) => v.id), advisories: r.advisories.map((v) => v.id) };
  };

  it('advises OCSP stapling only when the certificate names a responder', () => {
    expect(ids(findings(set({ ocspStapling: { support: 'no' } })))).toEqual({ violations: [], advisories: ['ocsp-stapling-missing'] });
    expect(ids(findings(set({ ocspStapling: { support: 'no' } }), withLeaf({ ocspUrls: [] })))).toEqual({ violations: [], advisories: [] });
    const required = customProfile({ requireOCSPStapling: true });
    const noResponder = evaluateCompliance(findings(set({ ocspStapling: { support: 'no' } }), withLeaf({ ocspUrls: [] })), required).violations;
    expect(noResponder.map((v) => v.message)).toEqual(['no OCSP response is stapled, and none can be: the certificate names no OCSP responder']);
  });

  it('flags Must-Staple without a staple as a certificate problem, whatever the profile', () => {
    const f = findings(set({ ocspStapling: { support: 'no' } }), withLeaf({ mustStaple: true }));
    expect(ids(f, customProfile({})).violations).toEqual(['ocsp-must-staple-not-stapled']);
    expect(evaluateCompliance(f, customProfile({})).certificateValid).toBe(false);
    expect(ids(findings(withLeaf({ mustStaple: true })), customProfile({})).violations).toEqual([]);
  });

  it('advises against clientAuth on a publicly trusted server certificate only', () => {
    const clientAuth = withLeaf({ usages: ['digital signature', 'server auth', 'client auth'] });
    const publicChain = withCertificate({ trust: { anchors: 'system', chainsToAnchor: true, publiclyTrusted: true } });
    expect(ids(findings(publicChain, clientAuth), customProfile({})).advisories).toEqual(['client-auth-on-public-server-certificate']);
    expect(ids(findings(clientAuth), customProfile({})).advisories).toEqual([]);
    expect(ids(findings(publicChain), customProfile({})).advisories).toEqual([]);
  });

  it('fails a revoked certificate and a stale CRL, and only advises when the CRL could not be checked', () => {
    expect(ids(findings(set({ crl: { status: 'revoked', url: 'http://crl.test/', detail: 'the CRL of CN=CA lists the certificate' } })), customProfile({})).violations).toEqual(['certificate-revoked']);
    expect(ids(findings(set({ crl: { status: 'stale', url: 'http://crl.test/', detail: 'nextUpdate passed' } })), customProfile({})).violations).toEqual(['crl-stale']);
    expect(ids(findings(set({ crl: { status: 'unavailable', detail: 'timeout' } })), customProfile({}))).toEqual({ violations: [], advisories: ['crl-unavailable'] });
    expect(gradeFindings(findings(set({ crl: { status: 'revoked' } })))).toMatchObject({ grade: 'F', ignoringTrust: 'A+' });
  });
});

describe('SC-081 lifetimes of publicly trusted certificates', () => {
  it.each([
    ['2026-03-14T23:59:59Z', 398],
    ['2026-03-15T00:00:00Z', 200],
    ['2027-03-14T12:00:00Z', 200],
    ['2027-03-15T00:00:00Z', 100],
    ['2029-03-15T00:00:00Z', 47],
    ['2031-01-01T00:00:00Z', 47],
  ])('issued %s: at most %i days', (notBefore, days) => {
    expect(maxPublicLifetimeDays(new Date(notBefore))).toBe(days);
  });

  const publicChain = withCertificate({ trust: { anchors: 'system', chainsToAnchor: true, publiclyTrusted: true }, validity: { state: 'valid', daysRemaining: 100, lifetimeDays: 210 } });
  it('flags a public 210-day certificate issued after 2026-03-15, not one issued before, nor a private one', () => {
    const ids = (...changes: Parameters<typeof findings>) => evaluateCompliance(findings(...changes), customProfile({})).violations.map((x) => x.id);
    expect(ids(publicChain, withLeaf({ notBefore: '2026-04-01T00:00:00.000Z' }))).toEqual(['certificate-lifetime-exceeds-cabf-limit']);
    expect(ids(publicChain, withLeaf({ notBefore: '2026-03-01T00:00:00.000Z' }))).toEqual([]);
    expect(ids(withCertificate({ validity: { state: 'valid', daysRemaining: 100, lifetimeDays: 210 } }), withLeaf({ notBefore: '2026-04-01T00:00:00.000Z' }))).toEqual([]);
  });
});
