import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { NameConstraints } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { selfSignCertificate, signCertificateWithCa } from '../../../src/pki/sign.js';
import { x509 } from '../../../src/pki/x509.js';
import { TEST_NOW, testKey } from '../../support/pki.js';

// A CA a policy allows is issued bounded: it may sign leaves only (pathLen 0)
// and only for the names the policy allows (permitted subtrees).

describe('CA constraints', () => {
  it('puts pathLen 0 and permitted DNS, IP and email subtrees into the CA certificate, critical', async () => {
    const key = await testKey({ algorithm: 'ECDSA', size: 256 });
    const { certificate } = await selfSignCertificate({
      spec: {
        commonName: 'team-a sub CA',
        isCA: true,
        durationMs: 86_400_000,
        caConstraints: { pathLength: 0, permittedDNSDomains: ['team-a.example.com'], permittedIPRanges: ['10.0.0.0/8'], permittedEmailDomains: ['team-a.example.com'] },
      },
      privateKey: key,
      now: TEST_NOW,
    });
    const basic = certificate.getExtension(x509.BasicConstraintsExtension);
    expect([basic?.ca, basic?.pathLength, basic?.critical]).toEqual([true, 0, true]);
    const ext = certificate.getExtension('2.5.29.30');
    expect(ext?.critical).toBe(true);
    const parsed = AsnConvert.parse(ext?.value ?? new ArrayBuffer(0), NameConstraints);
    const permitted = (parsed.permittedSubtrees ?? []).map((t) => t.base);
    expect(permitted.map((g) => g.dNSName ?? g.iPAddress ?? g.rfc822Name)).toEqual(['team-a.example.com', '10.0.0.0/8', '.team-a.example.com']);
    expect(parsed.excludedSubtrees).toBeUndefined();
  });

  it('is what OpenSSL enforces: a leaf the CA signs outside its subtree does not verify', async () => {
    const rootKey = await testKey({ algorithm: 'ECDSA', size: 256 }, 1);
    const root = await selfSignCertificate({ spec: { commonName: 'root', isCA: true, durationMs: 86_400_000 }, privateKey: rootKey, now: TEST_NOW });
    const subKey = await testKey({ algorithm: 'ECDSA', size: 256 }, 2);
    const sub = await signCertificateWithCa({
      spec: { commonName: 'sub', isCA: true, durationMs: 86_400_000, caConstraints: { pathLength: 0, permittedDNSDomains: ['team-a.example.com'] } },
      subjectKey: subKey,
      ca: { certificate: root.certificate, privateKey: rootKey },
      now: TEST_NOW,
    });
    const leafKey = await testKey({ algorithm: 'ECDSA', size: 256 }, 3);
    const sign = (dnsName: string) =>
      signCertificateWithCa({ spec: { dnsNames: [dnsName], durationMs: 3_600_000 }, subjectKey: leafKey, ca: { certificate: sub.certificate, privateKey: subKey }, now: TEST_NOW });
    const dir = mkdtempSync(join(tmpdir(), 'ck-nc-'));
    writeFileSync(join(dir, 'root.pem'), root.pem);
    writeFileSync(join(dir, 'sub.pem'), sub.pem);
    const verify = async (dnsName: string): Promise<string> => {
      writeFileSync(join(dir, 'leaf.pem'), (await sign(dnsName)).pem);
      try {
        const at = String(Math.floor(TEST_NOW.getTime() / 1000) + 60);
        return execFileSync('openssl', ['verify', '-attime', at, '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'sub.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        return String((err as { stdout?: string; stderr?: string }).stdout ?? '') + String((err as { stderr?: string }).stderr ?? '');
      }
    };
    expect(await verify('web.team-a.example.com')).toMatch(/: OK/);
    expect(await verify('api.team-b.example.com')).toMatch(/name constraint|permitted subtree/i);
  });
});
