import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateCompliance } from '../../src/probe/compliance.js';
import { gradeFindings } from '../../src/probe/grade.js';
import { probeEndpoint } from '../../src/probe/probe.js';
import { customProfile, resolveProfile } from '../../src/probe/profiles/index.js';
import { testCa, testCrl, testLeaf, type TestCa, type TestLeaf } from '../support/revocation-pki.js';

// Revocation against real servers: a private CA whose CRL a local HTTP server
// serves (made here, swapped between scans), TLS servers on loopback serving
// leaves that name it, one with Must-Staple and no staple. The scan fetches
// the CRL itself, bounded, only because the chain is private and it was asked to.

const HOUR = 3_600_000;
let ca: TestCa;
let http: HttpServer;
let crl: Buffer = Buffer.alloc(0);
let crlRequests = 0;
const tlsServers: TlsServer[] = [];

async function listen(server: HttpServer | TlsServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function serve(leaf: TestLeaf): Promise<number> {
  const server = createTlsServer({ cert: leaf.pem + ca.pem, key: leaf.keyPem, minVersion: 'TLSv1.2' }, (socket) => socket.end());
  server.on('tlsClientError', () => undefined);
  tlsServers.push(server);
  return listen(server);
}

let crlUrl: string;
let plainPort: number;
let mustStaplePort: number;
let revokedSerial: string;

beforeAll(async () => {
  ca = await testCa('certkeeper revocation CA');
  http = createHttpServer((req, res) => {
    crlRequests++;
    if (req.url !== '/ca.crl') {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/pkix-crl' });
    res.end(crl);
  });
  crlUrl = `http://127.0.0.1:${await listen(http)}/ca.crl`;
  revokedSerial = '7e57';
  const plain = await testLeaf(ca, { dnsName: 'crl.probe.test', serial: revokedSerial, crlUrl, clientAuth: true });
  const mustStaple = await testLeaf(ca, { dnsName: 'staple.probe.test', serial: '5747', crlUrl, mustStaple: true, ocspUrl: 'http://127.0.0.1:9/ocsp' });
  plainPort = await serve(plain);
  mustStaplePort = await serve(mustStaple);
}, 60_000);

afterAll(async () => {
  await Promise.all(tlsServers.map((s) => new Promise((resolve) => s.close(resolve))));
  http?.closeAllConnections();
  await new Promise((resolve) => http?.close(resolve));
});

const scan = (port: number, serverName: string, crlMode: 'private' | 'off' = 'private') => probeEndpoint({ host: '127.0.0.1', port, serverName }, { caPem: ca.pem, crl: crlMode });

describe('CRL of a private CA', () => {
  it('is fetched and current: nothing to say, the leaf keeps its grade', async () => {
    crl = await testCrl(ca, { thisUpdate: new Date(Date.now() - HOUR), nextUpdate: new Date(Date.now() + HOUR) });
    const before = crlRequests;
    const f = await scan(plainPort, 'crl.probe.test');
    expect(crlRequests - before).toBe(1);
    expect(f.crl).toMatchObject({ status: 'current', url: crlUrl, signatureValid: true });
    expect(f.certificate?.leaf.crlUrls).toEqual([crlUrl]);
    expect(f.certificate?.trust).toMatchObject({ chainsToAnchor: true, publiclyTrusted: false });
    expect(evaluateCompliance(f, customProfile({})).violations).toEqual([]);
  });

  it('finds the leaf revoked when the CRL lists it: a validity violation and F', async () => {
    crl = await testCrl(ca, { revoked: [revokedSerial], thisUpdate: new Date(Date.now() - HOUR), nextUpdate: new Date(Date.now() + HOUR) });
    const f = await scan(plainPort, 'crl.probe.test');
    expect(f.crl).toMatchObject({ status: 'revoked', detail: 'the CRL of CN=certkeeper revocation CA lists the certificate' });
    const compliance = evaluateCompliance(f, resolveProfile('intermediate'));
    expect(compliance.violations.map((v) => v.id)).toContain('certificate-revoked');
    expect(compliance.certificateValid).toBe(false);
    expect(gradeFindings(f).caps.map((c) => c.id)).toContain('certificate-revoked');
  });

  it('finds the CRL stale when its nextUpdate has passed', async () => {
    crl = await testCrl(ca, { thisUpdate: new Date(Date.now() - 3 * HOUR), nextUpdate: new Date(Date.now() - HOUR) });
    const f = await scan(plainPort, 'crl.probe.test');
    expect(f.crl.status).toBe('stale');
    expect(evaluateCompliance(f, customProfile({})).violations.map((v) => v.id)).toEqual(['crl-stale']);
  });

  it('says so when the CRL is not one the issuer signed', async () => {
    crl = await testCrl(ca, { thisUpdate: new Date(Date.now() - HOUR), nextUpdate: new Date(Date.now() + HOUR), signer: (await testCa('forger')).keys });
    const f = await scan(plainPort, 'crl.probe.test');
    expect(f.crl).toMatchObject({ status: 'unavailable', signatureValid: false });
    expect(evaluateCompliance(f, customProfile({})).advisories.map((a) => a.id)).toEqual(['crl-unavailable']);
  });

  it('fetches nothing when asked not to', async () => {
    const before = crlRequests;
    const f = await scan(plainPort, 'crl.probe.test', 'off');
    expect(crlRequests).toBe(before);
    expect(f.crl.status).toBe('not-tested');
  });

  it('does not flag clientAuth on a private server certificate', async () => {
    crl = await testCrl(ca, { thisUpdate: new Date(Date.now() - HOUR), nextUpdate: new Date(Date.now() + HOUR) });
    const f = await scan(plainPort, 'crl.probe.test');
    expect(f.certificate?.leaf.usages).toContain('client auth');
    expect(evaluateCompliance(f, customProfile({})).advisories).toEqual([]);
  });
});

describe('Must-Staple', () => {
  it('without a staple is a certificate problem', async () => {
    crl = await testCrl(ca, { thisUpdate: new Date(Date.now() - HOUR), nextUpdate: new Date(Date.now() + HOUR) });
    const f = await scan(mustStaplePort, 'staple.probe.test');
    expect(f.certificate?.leaf).toMatchObject({ mustStaple: true, ocspUrls: ['http://127.0.0.1:9/ocsp'] });
    expect(f.ocspStapling.support).toBe('no');
    const compliance = evaluateCompliance(f, resolveProfile('intermediate'));
    expect(compliance.violations.map((v) => v.id)).toContain('ocsp-must-staple-not-stapled');
    // The leaf names a responder: the missing staple is advised as well.
    expect(compliance.advisories.map((v) => v.id)).toContain('ocsp-stapling-missing');
  });
});
