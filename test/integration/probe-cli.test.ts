import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSet, type FixtureName, type FixtureSet } from '../../hack/tls/fixtures.js';

// `certkeeper probe` as a person or a CI job runs it: the real entry point
// (src/main.ts) in its own process, against real servers. The exit code
// follows the profile and the certificate, not the grade.

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let set: FixtureSet;

beforeAll(async () => {
  set = await startFixtureSet(['modern', 'old', 'expired']);
}, 120_000);

afterAll(async () => {
  await set?.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function certkeeper(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: REPO, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function probe(name: FixtureName, ...args: string[]): Promise<Run> {
  const { server, serverName } = set.fixture(name);
  return certkeeper('probe', `${server.host}:${server.port}`, '--sni', serverName, ...args);
}

describe('certkeeper probe', () => {
  it('exits 0 for a compliant endpoint with a valid certificate, and says why it is A+', async () => {
    const run = await probe('modern', '--profile', 'modern', '--ca-file', set.caFile, '--http');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Grade        A+  score 93 (protocol 100, key exchange 90, cipher 90)');
    // TLSRef 6.0 by default: this nginx (Debian's OpenSSL 3.0) has no post-quantum group, which 6.0 only advises.
    expect(run.stdout).toContain('Profile      modern (TLSRef 6.0): compliant');
    expect(run.stdout).toMatch(/ {2}post-quantum-key-exchange-missing +no post-quantum key exchange/);
    expect(run.stdout).toContain('Certificate  valid');
    expect(run.stdout).toContain('  TLSv1.3  0x1301  TLS_AES_128_GCM_SHA256');
    expect(run.stdout).toContain('  Name      modern.probe.test matches');
    expect(run.stdout).toContain('  A+: HSTS max-age 63072000 s');
  });

  it('exits 1 when the profile is violated, listing each violation', async () => {
    const run = await probe('old', '--profile', 'intermediate', '--guidelines', 'Mozilla-5.7', '--ca-file', set.caFile);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('Profile      intermediate (Mozilla server-side TLS 5.7): 14 violations');
    expect(run.stdout).toMatch(/ {2}protocol-not-allowed +TLSv1\.0 is accepted; the profile allows TLSv1\.2, TLSv1\.3/);
    expect(run.stdout).toContain('  cap B  tls10-tls11');
  });

  it('exits 0 for the same server against the profile it was built for, though it grades B', async () => {
    const run = await probe('old', '--profile', 'old', '--ca-file', set.caFile);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Grade        B  score 91.5');
  });

  it('exits 1 for an expired certificate, and -o json carries the whole report', async () => {
    const run = await probe('expired', '--ca-file', set.caFile, '-o', 'json');
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { findings: { certificate: { validity: { state: string } } }; compliance: { violations: { id: string }[]; certificateValid: boolean }; grade: { grade: string; ignoringTrust: string } };
    expect(report.findings.certificate.validity.state).toBe('expired');
    expect(report.compliance.violations.map((v) => v.id)).toEqual(['certificate-expired']);
    expect(report.compliance.certificateValid).toBe(false);
    expect(report.grade).toMatchObject({ grade: 'F', ignoringTrust: 'A' });
  });

  it('exits 1 when the chain does not lead to the system roots (no --ca-file)', async () => {
    const run = await probe('modern', '--profile', 'modern');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/certificate-untrusted +the served chain does not lead to the system roots/);
  });

  it('exits 2 on a usage error or when nothing listens', async () => {
    const usage = await certkeeper('probe', 'no-port-here');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: certkeeper probe HOST:PORT');
    const closed = await certkeeper('probe', '127.0.0.1:1', '--timeout', '1000');
    expect(closed.code).toBe(2);
    expect(closed.stderr).toContain('cannot connect to 127.0.0.1:1');
  });
});
