import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseHostPort, parseProbeArgs, runProbe } from '../../../src/cli/probe.js';
import { evaluateCompliance } from '../../../src/probe/compliance.js';
import { gradeFindings } from '../../../src/probe/grade.js';
import { mozillaProfile } from '../../../src/probe/profiles/index.js';
import { renderJson, type ProbeReport } from '../../../src/probe/render/json.js';
import { renderTable } from '../../../src/probe/render/table.js';
import { findings, protocols, withCertificate, type Change } from './findings-builders.js';

function report(...changes: Change[]): ProbeReport {
  const f = findings(...changes);
  return { findings: f, compliance: evaluateCompliance(f, mozillaProfile('intermediate')), grade: gradeFindings(f) };
}

describe('renderTable', () => {
  it('puts the verdicts first, then the evidence', () => {
    const text = renderTable(report());
    const lines = text.split('\n');
    expect(lines[0]).toBe('certkeeper probe 127.0.0.1:443 (SNI app.example) — 2026-02-01T00:00:00.000Z, 100 ms');
    expect(lines.slice(2, 5)).toEqual([
      'Grade        A+  score 93 (protocol 100, key exchange 90, cipher 90); SSL Labs rating guide 2009r',
      'Profile      intermediate (Mozilla server-side TLS 5.7): compliant',
      'Certificate  valid',
    ]);
    expect(text).toContain('  TLSv1.2  0xc02f  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256        128 bits  AEAD  FS  X25519');
    expect(text).toContain('  Chain     leaf + 1 intermediate sent; leads to the CA bundle');
    expect(text).toContain('  HSTS                    max-age=63072000');
    expect(text).toContain('  Extended master secret  yes');
    expect(text).toContain('  TLS_FALLBACK_SCSV       not tested (reported, not graded)');
    expect(text).toContain('  Heartbleed              not vulnerable');
    expect(text).toMatch(/ {2}Post-quantum +ready: accepts X25519MLKEM768\n {4}browser offer +X25519MLKEM768 \+ X25519 shares get X25519MLKEM768/);
    expect(text.indexOf('Grade        A+')).toBeLessThan(text.indexOf('Protocols'));
  });

  it('lists violations, caps and what the grade would be without certificate problems', () => {
    const text = renderTable(report(protocols('TLSv1.0', 'TLSv1.2', 'TLSv1.3'), withCertificate({ hostname: { name: 'app.example', matches: false } })));
    expect(text).toContain('Grade        F  score 91.5 (protocol 95, key exchange 90, cipher 90), B if certificate problems are set aside');
    expect(text).toContain('Profile      intermediate (Mozilla server-side TLS 5.7): 2 violations');
    expect(text).toContain('Certificate  INVALID');
    expect(text).toContain('  protocol-not-allowed           TLSv1.0 is accepted; the profile allows TLSv1.2, TLSv1.3');
    expect(text).toContain('  certificate-hostname-mismatch  the certificate does not cover app.example (it names app.example)');
    expect(text).toContain('  cap B  tls10-tls11');
    expect(text).toContain('  Name      app.example does NOT match');
  });

  it('prints only the verdicts when nothing speaks TLS', () => {
    const text = renderTable(report(protocols()));
    expect(text).toContain('no-tls');
    expect(text).not.toContain('Cipher suites');
  });
});

describe('renderJson', () => {
  it('is the report, losslessly', () => {
    const r = report();
    expect(JSON.parse(renderJson(r))).toEqual(JSON.parse(JSON.stringify(r)));
  });
});

describe('certkeeper probe arguments', () => {
  it('parses a full command line', () => {
    expect(parseProbeArgs(['web.example:8443', '--sni', 'app.example', '--profile', 'modern', '--guidelines', 'Mozilla-5.7', '--crl', 'off', '--ca-file', 'ca.pem', '-o', 'json', '--http', '--timeout', '2500'])).toEqual({
      host: 'web.example',
      port: 8443,
      serverName: 'app.example',
      profile: 'modern',
      guidelines: 'Mozilla-5.7',
      crl: 'off',
      profileFile: undefined,
      caFile: 'ca.pem',
      http: true,
      output: 'json',
      timeoutMs: 2500,
    });
  });

  it('defaults SNI to a host name, never to an IP, and the profile to intermediate', () => {
    expect(parseProbeArgs(['web.example:443'])).toMatchObject({ serverName: 'web.example', profile: 'intermediate', guidelines: undefined, crl: 'private', output: 'table', timeoutMs: 4000 });
    expect(parseProbeArgs(['10.0.0.1:443']).serverName).toBeUndefined();
    expect(parseHostPort('[::1]:8443')).toEqual({ host: '::1', port: 8443 });
  });

  it.each([
    [[], /exactly one HOST:PORT/],
    [['a', 'b'], /exactly one HOST:PORT/],
    [['a:1', '--guidelines', 'Mozilla-5.8'], /unknown guidelines "Mozilla-5.8"/],
    [['a:1', '--crl', 'all'], /unknown --crl "all"/],
    [['web.example'], /not HOST:PORT/],
    [['web.example:0'], /not HOST:PORT/],
    [['web.example:70000'], /not HOST:PORT/],
    [['h:1', '--profile', 'strict'], /unknown profile "strict"/],
    [['h:1', '--profile', 'custom'], /needs --profile-file/],
    [['h:1', '-o', 'yaml'], /unknown output "yaml"/],
    [['h:1', '--timeout', 'soon'], /--timeout/],
    [['h:1', '--bogus'], /Unknown option/],
  ])('refuses %j', (args, message) => {
    expect(() => parseProbeArgs(args)).toThrow(message);
  });

  it('exits 2 on a usage error and on a port nothing listens on', async () => {
    const err: string[] = [];
    const io = { stdout: () => undefined, stderr: (t: string) => err.push(t) };
    expect(await runProbe(['nope'], io)).toBe(2);
    expect(err.join('')).toMatch(/Usage: certkeeper probe/);
    expect(await runProbe(['h:1', '--ca-file', '/nonexistent/ca.pem'], io)).toBe(2);
    expect(err.join('')).toMatch(/cannot read CA file/);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const address = server.address();
    const port = address !== null && typeof address === 'object' ? address.port : 0;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const out: string[] = [];
    expect(await runProbe([`127.0.0.1:${port}`, '-o', 'json'], { stdout: (t) => out.push(t), stderr: (t) => err.push(t) })).toBe(2);
    expect(JSON.parse(out.join(''))).toMatchObject({ findings: { reachable: false, tls: false }, grade: { grade: 'F' } });
    expect(err.join('')).toMatch(/cannot connect to 127\.0\.0\.1/);
  });
});
