import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_NAMES, startFixtureSet, type FixtureName, type FixtureSet } from '../../hack/tls/fixtures.js';
import { startNodeTlsServer, type NodeTlsServer } from '../../hack/tls/node-tls-server.js';
import { createTlsTestPki, issueServerCertificate } from '../../hack/tls/server-pki.js';
import { runSslyze, sslyzeMozillaIssues, type SslyzeView } from '../../hack/tls/sslyze.js';
import { evaluateCompliance, type ViolationId } from '../../src/probe/compliance.js';
import type { ProbeFindings } from '../../src/probe/findings.js';
import { EC_GROUPS } from '../../src/probe/jobs/features.js';
import { probeEndpoint } from '../../src/probe/probe.js';
import type { ProtocolVersion } from '../../src/probe/protocols.js';
import { mozillaProfile } from '../../src/probe/profiles/index.js';

// Agreement with sslyze 6.3 (PyPI, hack/install-sslyze.sh) on ten server
// configurations — the seven nginx/haproxy fixtures and three Node 24
// (OpenSSL 3.5) servers: versions, suites per version, curves, extended
// master secret, secure and client-initiated renegotiation, TLS_FALLBACK_SCSV,
// Heartbleed and CCS injection equal certkeeper's findings; and for the
// nginx/haproxy fixtures, sslyze's Mozilla 5.7 verdict equals certkeeper's
// (certificate trust set aside: sslyze knows only its own trust store).
// sslyze cannot see ML-KEM groups; certkeeper's post-quantum findings are
// proven against OpenSSL 3.5 itself (probe-post-quantum.test.ts).

interface Config {
  name: string;
  port: number;
  serverName: string;
  /** The Mozilla configuration it was built for (fixtures only). */
  mozilla?: 'modern' | 'intermediate' | 'old';
}

let set: FixtureSet;
let dir: string;
const nodeServers: NodeTlsServer[] = [];
const configs: Config[] = [];
const ours = new Map<string, ProbeFindings>();
const theirs = new Map<string, SslyzeView>();
const timings: { name: string; ours: number; sslyze: number }[] = [];

const MOZILLA: Readonly<Partial<Record<FixtureName, 'modern' | 'intermediate' | 'old'>>> = { modern: 'modern', intermediate: 'intermediate', old: 'old', rsa1024: 'old' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certkeeper-sslyze-'));
  set = await startFixtureSet();
  for (const name of FIXTURE_NAMES) {
    const { server, serverName } = set.fixture(name);
    configs.push({ name, port: server.port, serverName, ...(MOZILLA[name] === undefined ? {} : { mozilla: MOZILLA[name] }) });
  }
  const pki = await createTlsTestPki();
  const certificate = await issueServerCertificate({ dnsNames: ['node.probe.test'], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate });
  const node = [
    { name: 'node24-hybrid', ecdhCurve: 'X25519MLKEM768:X25519:prime256v1' },
    { name: 'node24-tls13-p384', ecdhCurve: 'secp384r1:X25519', minVersion: 'TLSv1.3' as const },
    { name: 'node24-tls12', ecdhCurve: 'prime256v1:secp521r1', maxVersion: 'TLSv1.2' as const },
  ];
  for (const n of node) {
    const { name, ...config } = n;
    const server = await startNodeTlsServer({ ...config, chainPem: certificate.chainPem, keyPem: certificate.keyPem }, dir);
    nodeServers.push(server);
    configs.push({ name, port: server.port, serverName: 'node.probe.test' });
  }
  const caPem = await readFile(set.caFile, 'utf8');
  for (const c of configs) {
    const start = performance.now();
    ours.set(c.name, await probeEndpoint({ host: '127.0.0.1', port: c.port, serverName: c.serverName }, { caPem }));
    const mine = performance.now() - start;
    const { view, ms } = await runSslyze(c.port, c.serverName, join(dir, c.name));
    theirs.set(c.name, view);
    timings.push({ name: c.name, ours: mine, sslyze: ms });
  }
}, 600_000);

afterAll(async () => {
  process.stderr.write(`[sslyze agreement] one full scan each (ms), certkeeper vs sslyze: ${timings.map((t) => `${t.name} ${t.ours.toFixed(0)}/${t.sslyze.toFixed(0)}`).join(', ')}\n`);
  await Promise.all(nodeServers.map((s) => s.stop()));
  await set?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
}, 60_000);

function both(name: string): { f: ProbeFindings; s: SslyzeView } {
  const f = ours.get(name);
  const s = theirs.get(name);
  if (f === undefined || s === undefined) throw new Error(`no scans of ${name}`);
  return { f, s };
}

/** What certkeeper says in sslyze's terms: a check it did not run because only TLS 1.3 is spoken counts as sslyze's answer for TLS 1.3. */
function view(f: ProbeFindings): Omit<SslyzeView, 'heartbleed' | 'ccsInjection' | 'extendedMasterSecret' | 'secureRenegotiation' | 'fallbackScsv' | 'clientRenegotiation'> {
  const suites: Partial<Record<ProtocolVersion, number[]>> = {};
  for (const s of f.cipherSuites) suites[s.version] = [...(suites[s.version] ?? []), s.id].sort((a, b) => a - b);
  return {
    protocols: f.protocols.filter((p) => p.status === 'accepted').map((p) => p.version),
    suites,
    curves: f.keyExchange.groups.filter((g) => !g.name.startsWith('ffdhe')).map((g) => g.name).sort(),
  };
}

const ALL = ['modern', 'intermediate', 'old', 'expired', 'wrongSan', 'missingIntermediate', 'rsa1024', 'node24-hybrid', 'node24-tls13-p384', 'node24-tls12'];

describe.each(ALL)('%s', (name) => {
  it('agrees on versions, suites per version and curves', () => {
    const { f, s } = both(name);
    const mine = view(f);
    expect(mine.protocols).toEqual(s.protocols);
    expect(mine.suites).toEqual(s.suites);
    // certkeeper probes the five groups browsers and servers use; sslyze also tries brainpool and the 160-bit curves.
    expect(mine.curves).toEqual(s.curves.filter((c) => EC_GROUPS.some((g) => g === c)));
  });

  it('agrees on EMS, renegotiation, TLS_FALLBACK_SCSV, Heartbleed and CCS injection', () => {
    const { f, s } = both(name);
    const tls13Only = f.protocols.every((p) => p.version === 'TLSv1.3' || p.status !== 'accepted');
    const yes = (support: string) => support === 'yes';
    expect(f.vulnerabilities).toEqual({ heartbleed: { status: tls13Only ? 'not-tested' : s.heartbleed ? 'vulnerable' : 'not-vulnerable' }, ccsInjection: { status: tls13Only ? 'not-tested' : s.ccsInjection ? 'vulnerable' : 'not-vulnerable' } });
    expect(yes(f.clientRenegotiation.support)).toBe(s.clientRenegotiation);
    if (tls13Only) {
      // TLS 1.3 has all three built in; sslyze answers yes for them, certkeeper does not test what cannot be missing.
      expect([f.extendedMasterSecret.support, f.secureRenegotiation.support, f.fallbackScsv.support]).toEqual(['not-tested', 'not-tested', 'not-tested']);
      expect([s.extendedMasterSecret, s.secureRenegotiation]).toEqual([true, true]);
      return;
    }
    expect(yes(f.extendedMasterSecret.support)).toBe(s.extendedMasterSecret);
    expect(yes(f.secureRenegotiation.support)).toBe(s.secureRenegotiation);
    expect(yes(f.fallbackScsv.support)).toBe(s.fallbackScsv);
  });
});

/** certkeeper's violation ids in sslyze's issue names (sslyze reports one issue per profile field). */
const SSLYZE_ISSUE: Readonly<Partial<Record<ViolationId, string>>> = {
  'protocol-not-allowed': 'tls_versions',
  'no-allowed-protocol': 'tls_versions',
  'cipher-suite-not-allowed': 'ciphers',
  'tls13-cipher-suite-not-allowed': 'ciphersuites',
  'tls-curve-not-allowed': 'tls_curves',
  'rsa-key-too-small': 'rsa_key_size',
  'dh-parameters-too-small': 'dh_param_size',
  'ecdh-parameters-too-small': 'ecdh_param_size',
  'certificate-type-not-allowed': 'certificate_types',
  'certificate-curve-not-allowed': 'certificate_curves',
  'certificate-signature-not-allowed': 'certificate_signatures',
  'certificate-lifespan-too-long': 'maximum_certificate_lifespan',
};

describe.each(['modern', 'intermediate', 'old', 'rsa1024'] as const)('Mozilla 5.7 compliance of %s', (name) => {
  it("agrees with sslyze's verdict, issue by issue (certificate trust set aside)", async () => {
    const c = configs.find((x) => x.name === name);
    if (c?.mozilla === undefined) throw new Error(name);
    const theirIssues = (await sslyzeMozillaIssues(c.port, c.serverName, c.mozilla)).filter((i) => !i.startsWith('certificate_path_validation') && !i.startsWith('certificate_hostname_validation'));
    const { f } = both(name);
    const mine = evaluateCompliance(f, mozillaProfile(c.mozilla))
      .violations.filter((v) => v.category !== 'validity' && SSLYZE_ISSUE[v.id] !== undefined)
      .map((v) => SSLYZE_ISSUE[v.id] ?? v.id);
    expect([...new Set(mine)].sort()).toEqual(theirIssues);
  }, 120_000);
});
