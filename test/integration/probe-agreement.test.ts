import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeFindings } from '../../src/probe/findings.js';
import { probeEndpoint } from '../../src/probe/probe.js';
import type { ProtocolVersion } from '../../src/probe/protocols.js';
import { FIXTURE_NAMES, startFixtureSet, type FixtureName, type FixtureSet } from '../../hack/tls/fixtures.js';
import { runSslscan, runTestssl, type ScannerView } from '../../hack/tls/scanners.js';

// Agreement with independent scanners: for every server, the protocol
// versions and the suites per version (TLS 1.2 above all) the prober finds
// equal what Debian's sslscan and testssl.sh find on the same server.
// testssl.sh is slow (tens of seconds a server): all seven runs start
// together in beforeAll and each test awaits its own.

let set: FixtureSet;
const ours = new Map<FixtureName, ProbeFindings>();
const sslscan = new Map<FixtureName, Promise<ScannerView>>();
const testssl = new Map<FixtureName, Promise<ScannerView>>();

beforeAll(async () => {
  set = await startFixtureSet();
  for (const name of FIXTURE_NAMES) {
    const { server } = set.fixture(name);
    const run = runTestssl(server.port, join(set.dir, 'testssl', name));
    run.catch(() => undefined); // awaited by its test; never an unhandled rejection meanwhile
    testssl.set(name, run);
  }
  const caPem = await readFile(set.caFile, 'utf8');
  for (const name of FIXTURE_NAMES) {
    const { server, serverName } = set.fixture(name);
    ours.set(name, await probeEndpoint({ host: server.host, port: server.port, serverName }, { caPem }));
    sslscan.set(name, runSslscan(server.port, serverName));
  }
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([...testssl.values()]);
  await set?.stop();
}, 300_000);

function view(name: FixtureName): { protocols: ProtocolVersion[]; suites: Partial<Record<ProtocolVersion, number[]>> } {
  const f = ours.get(name);
  if (f === undefined) throw new Error(`no scan of ${name}`);
  const suites: Partial<Record<ProtocolVersion, number[]>> = {};
  for (const s of f.cipherSuites) suites[s.version] = [...(suites[s.version] ?? []), s.id].sort((a, b) => a - b);
  return { protocols: f.protocols.filter((p) => p.status === 'accepted').map((p) => p.version), suites };
}

async function scanner(runs: Map<FixtureName, Promise<ScannerView>>, name: FixtureName): Promise<ScannerView> {
  const run = runs.get(name);
  if (run === undefined) throw new Error(`scanner did not run against ${name}`);
  return run;
}

describe.each(FIXTURE_NAMES)('%s', (name) => {
  it('agrees with sslscan on versions and on the suites of every version', async () => {
    const theirs = await scanner(sslscan, name);
    const mine = view(name);
    expect(mine.protocols).toEqual(theirs.protocols);
    expect(mine.suites['TLSv1.2'] ?? []).toEqual(theirs.suites['TLSv1.2'] ?? []);
    expect(mine.suites).toEqual(theirs.suites);
  });

  it('agrees with testssl.sh on versions and on the suites of every version', async () => {
    const theirs = await scanner(testssl, name);
    const mine = view(name);
    expect(mine.protocols).toEqual(theirs.protocols);
    expect(mine.suites['TLSv1.2'] ?? []).toEqual(theirs.suites['TLSv1.2'] ?? []);
    expect(mine.suites).toEqual(theirs.suites);
  }, 300_000);
});
