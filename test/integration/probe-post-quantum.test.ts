import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeTlsServer, type NodeTlsServer, type NodeTlsServerConfig } from '../../hack/tls/node-tls-server.js';
import { createTlsTestPki, issueServerCertificate, type TlsTestPki } from '../../hack/tls/server-pki.js';
import { REPO_ROOT } from '../../hack/env/tools.js';
import { evaluateCompliance } from '../../src/probe/compliance.js';
import type { ProbeFindings } from '../../src/probe/findings.js';
import { createLimiter } from '../../src/probe/jobs/outcome.js';
import { probePostQuantum } from '../../src/probe/jobs/post-quantum.js';
import { analysePostQuantum } from '../../src/probe/post-quantum-analysis.js';
import { probeEndpoint } from '../../src/probe/probe.js';
import { resolveProfile } from '../../src/probe/profiles/index.js';

// Post-quantum key exchange against real OpenSSL 3.5 servers (Node.js 24,
// hack/install-node-pq.sh): the hand-built hellos must see what OpenSSL
// really does with X25519MLKEM768, the NIST hybrids and pure ML-KEM, and a
// classical server on the same OpenSSL must read as classical. Node 24 is
// installed on first use; if it cannot be, the file fails.

interface Server {
  name: string;
  groups: string;
  minVersion?: 'TLSv1.3';
  maxVersion?: 'TLSv1.2';
}

// OpenSSL's group list syntax: ':' separates groups of one tuple (the server
// takes whichever share it got), '/' separates tuples (an earlier tuple is
// worth a HelloRetryRequest).
const SERVERS = [
  { name: 'hybrid', groups: 'X25519MLKEM768:X25519' },
  { name: 'hybrid-retry', groups: 'X25519MLKEM768/X25519', minVersion: 'TLSv1.3' },
  { name: 'all-classical-first', groups: 'X25519:prime256v1:SecP256r1MLKEM768:SecP384r1MLKEM1024:MLKEM512:MLKEM768:MLKEM1024' },
  { name: 'classical', groups: 'X25519:prime256v1' },
  { name: 'tls12', groups: 'X25519MLKEM768:X25519', maxVersion: 'TLSv1.2' },
] as const satisfies readonly Server[];
type ServerName = (typeof SERVERS)[number]['name'];

let pki: TlsTestPki;
let dir: string;
const servers = new Map<ServerName, NodeTlsServer>();
const scans = new Map<ServerName, ProbeFindings>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-pq-'));
  pki = await createTlsTestPki();
  const certificate = await issueServerCertificate({ dnsNames: ['pq.probe.test'], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate });
  for (const s of SERVERS) {
    const config: NodeTlsServerConfig = { ecdhCurve: s.groups, chainPem: certificate.chainPem, keyPem: certificate.keyPem, ...('maxVersion' in s ? { maxVersion: s.maxVersion } : {}), ...('minVersion' in s ? { minVersion: s.minVersion } : {}) };
    servers.set(s.name, await startNodeTlsServer(config, dir));
  }
  await Promise.all(
    SERVERS.map(async (s) => {
      const server = servers.get(s.name);
      if (server === undefined) throw new Error(s.name);
      scans.set(s.name, await probeEndpoint({ host: server.host, port: server.port, serverName: 'pq.probe.test' }, { caPem: pki.caPem }));
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.stop()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function scan(name: ServerName): ProbeFindings {
  const f = scans.get(name);
  if (f === undefined) throw new Error(`no scan of ${name}`);
  return f;
}
const acceptedGroups = (f: ProbeFindings) => f.postQuantum.groups.filter((g) => g.status === 'accepted').map((g) => g.name);

describe('post-quantum key exchange against OpenSSL 3.5', () => {
  it('runs on OpenSSL 3.5 or newer', () => {
    for (const server of servers.values()) expect(server.openssl).toMatch(/^3\.([5-9]|\d\d)\./);
  });

  it('sees X25519MLKEM768:X25519 as ready: the hybrid alone, for a browser, and over the client order; no retry', () => {
    const f = scan('hybrid');
    expect(f.postQuantum).toMatchObject({ readiness: 'ready', tested: true, browserChoice: 'X25519MLKEM768', serverPick: 'X25519MLKEM768', serverPrefersPostQuantum: true, withoutShare: { group: 'X25519MLKEM768', answer: 'classical' } });
    expect(acceptedGroups(f)).toEqual(['X25519MLKEM768']);
    for (const g of f.postQuantum.groups.filter((g) => g.name !== 'X25519MLKEM768')) expect(g).toMatchObject({ status: 'rejected', detail: 'alert handshake_failure' });
    // The classical groups are still found as before.
    expect(f.keyExchange.groups.map((g) => g.name)).toEqual(['X25519']);
  });

  it('sees a retry for the hybrid when it sits in a tuple of its own', () => {
    expect(scan('hybrid-retry').postQuantum).toMatchObject({ readiness: 'ready', withoutShare: { group: 'X25519MLKEM768', answer: 'retry' } });
  });

  it('sees every NIST hybrid and pure ML-KEM group, and that a server listing X25519 first gives a browser X25519', () => {
    const f = scan('all-classical-first');
    expect(acceptedGroups(f)).toEqual(['SecP256r1MLKEM768', 'SecP384r1MLKEM1024', 'MLKEM512', 'MLKEM768', 'MLKEM1024']);
    expect(f.postQuantum).toMatchObject({ readiness: 'partial', browserChoice: 'X25519', serverPick: 'X25519', serverPrefersPostQuantum: false });
  });

  it('sees a classical server on the same OpenSSL as classical', () => {
    const f = scan('classical');
    expect(f.postQuantum).toMatchObject({ readiness: 'classical', tested: true, browserChoice: 'X25519', serverPick: undefined, withoutShare: undefined });
    expect(acceptedGroups(f)).toEqual([]);
  });

  it('does not probe without TLS 1.3, where post-quantum groups do not exist', () => {
    expect(scan('tls12').postQuantum).toMatchObject({ readiness: 'classical', tested: false, groups: [] });
  });

  it('sees that Node takes a few renegotiations a client starts, then hangs up (nginx and haproxy refuse the first)', () => {
    expect(scan('tls12').clientRenegotiation).toMatchObject({ support: 'no', detail: expect.stringMatching(/^the server stopped after 3 renegotiations/) as unknown });
  });

  it('decides every probe: no post-quantum check left undecided', () => {
    for (const s of SERVERS) expect(scan(s.name).errors.filter((e) => e.check.startsWith('post-quantum'))).toEqual([]);
  });

  it('judges by TLSRef 6.0: an advisory for a classical server, a violation when the policy requires it', () => {
    const advised = evaluateCompliance(scan('classical'), resolveProfile('modern'));
    expect(advised.advisories.map((a) => a.id)).toContain('post-quantum-key-exchange-missing');
    expect(advised.violations.map((v) => v.id)).not.toContain('post-quantum-key-exchange-missing');
    const required = resolveProfile('modern', { overrides: { requirePostQuantum: true } });
    expect(evaluateCompliance(scan('classical'), required).violations.map((v) => v.id)).toContain('post-quantum-key-exchange-missing');
    expect(evaluateCompliance(scan('hybrid'), required).violations.map((v) => v.id)).not.toContain('post-quantum-key-exchange-missing');
    // ML-KEM groups TLSRef 6.0 does not list are judged like any curve it does not list.
    expect(evaluateCompliance(scan('all-classical-first'), resolveProfile('modern')).violations.filter((v) => v.id === 'tls-curve-not-allowed').map((v) => v.subject)).toEqual(['SecP256r1MLKEM768', 'SecP384r1MLKEM1024', 'MLKEM512', 'MLKEM768', 'MLKEM1024']);
  });

  it('repeats: ten runs of the job give the same answer', async () => {
    const server = servers.get('hybrid');
    if (server === undefined) throw new Error('hybrid');
    const runs = await Promise.all(Array.from({ length: 10 }, () => probePostQuantum({ host: server.host, port: server.port, serverName: 'pq.probe.test' }, 4000, createLimiter(2))));
    expect(new Set(runs.map((r) => JSON.stringify(analysePostQuantum(r))))).toHaveProperty('size', 1);
  });
});

describe('certkeeper probe on a post-quantum server', () => {
  it('prints the readiness, what a browser gets and the server pick', async () => {
    const server = servers.get('hybrid-retry');
    if (server === undefined) throw new Error('hybrid-retry');
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, pki.caPem);
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', 'probe', `${server.host}:${server.port}`, '--sni', 'pq.probe.test', '--ca-file', caFile, '--profile', 'modern'], { cwd: REPO_ROOT, timeout: 60_000 }, (error, out, err) => {
        if (error !== null && typeof error.code !== 'number') reject(new Error(`${error.message}\n${err}`));
        else resolve(out);
      });
    });
    expect(stdout).toContain('Profile      modern (TLSRef 6.0): compliant');
    expect(stdout).toMatch(/Post-quantum +ready: accepts X25519MLKEM768/);
    expect(stdout).toMatch(/browser offer +X25519MLKEM768 \+ X25519 shares get X25519MLKEM768/);
    expect(stdout).toMatch(/no PQ share +asks for X25519MLKEM768 with a HelloRetryRequest/);
  });
});
