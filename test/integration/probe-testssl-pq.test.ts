import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTestsslGroups, testssl32Dir, type TestsslGroups } from '../../hack/tls/scanners.js';
import { startNodeTlsServer, type NodeTlsServer } from '../../hack/tls/node-tls-server.js';
import { createTlsTestPki, issueServerCertificate } from '../../hack/tls/server-pki.js';
import type { ProbeFindings } from '../../src/probe/findings.js';
import { probeEndpoint } from '../../src/probe/probe.js';

// Agreement on post-quantum key exchange with testssl.sh 3.2 (Debian's next
// release's package, unpacked by hack/install-testssl.sh; Debian 12's 3.0.8
// and sslyze 6.3 cannot see ML-KEM groups): for OpenSSL 3.5 servers (Node.js
// 24) offering the hybrids, pure ML-KEM and classical groups, the ML-KEM groups
// and the classical curves testssl finds are the ones certkeeper finds. If
// testssl.sh 3.2 cannot be had, the file fails.

const SERVERS = [
  { name: 'x25519-hybrid', groups: 'X25519MLKEM768:X25519' },
  { name: 'nist-hybrids', groups: 'SecP256r1MLKEM768:SecP384r1MLKEM1024:prime256v1' },
  { name: 'pure-mlkem', groups: 'MLKEM512:MLKEM768:MLKEM1024:X25519' },
  { name: 'classical', groups: 'X25519:prime256v1:secp384r1' },
] as const;
type Name = (typeof SERVERS)[number]['name'];

let dir: string;
let version: string;
const servers: NodeTlsServer[] = [];
const results = new Map<Name, { testssl: TestsslGroups; certkeeper: ProbeFindings }>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-testssl32-'));
  const testssl = await testssl32Dir();
  version = (await readFile(join(testssl, 'VERSION'), 'utf8')).trim();
  const pki = await createTlsTestPki();
  const certificate = await issueServerCertificate({ dnsNames: ['pq.probe.test'], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate });
  await Promise.all(
    SERVERS.map(async (s) => {
      const server = await startNodeTlsServer({ ecdhCurve: s.groups, chainPem: certificate.chainPem, keyPem: certificate.keyPem }, dir);
      servers.push(server);
      // testssl runs one at a time per server but the servers in parallel: four scans of ~20 s each.
      const [fromTestssl, fromCertkeeper] = await Promise.all([
        runTestsslGroups(testssl, server.host, server.port, join(dir, s.name)),
        probeEndpoint({ host: server.host, port: server.port, serverName: 'pq.probe.test' }, { caPem: pki.caPem }),
      ]);
      results.set(s.name, { testssl: fromTestssl, certkeeper: fromCertkeeper });
    }),
  );
}, 280_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function result(name: Name) {
  const r = results.get(name);
  if (r === undefined) throw new Error(`no scan of ${name}`);
  return r;
}
const sorted = (list: readonly string[]) => [...list].sort();

describe('post-quantum groups: certkeeper and testssl.sh 3.2 agree', () => {
  it('runs testssl.sh 3.2', () => {
    expect(version).toMatch(/^3\.2\./);
  });

  it.each(SERVERS.map((s) => [s.name, s.groups] as const))('%s (%s): the same ML-KEM groups and the same classical curves', (name) => {
    const { testssl, certkeeper } = result(name);
    const accepted = certkeeper.postQuantum.groups.filter((g) => g.status === 'accepted').map((g) => g.name);
    expect(sorted(accepted)).toEqual(sorted(testssl.kems));
    expect(sorted(certkeeper.keyExchange.groups.map((g) => g.name))).toEqual(sorted(testssl.curves));
  });

  it('the cases are not trivial: testssl sees hybrids, pure ML-KEM and none', () => {
    expect(result('x25519-hybrid').testssl.kems).toEqual(['X25519MLKEM768']);
    expect(sorted(result('nist-hybrids').testssl.kems)).toEqual(['SecP256r1MLKEM768', 'SecP384r1MLKEM1024']);
    expect(sorted(result('pure-mlkem').testssl.kems)).toEqual(['MLKEM1024', 'MLKEM512', 'MLKEM768']);
    expect(result('classical').testssl.kems).toEqual([]);
  });
});
