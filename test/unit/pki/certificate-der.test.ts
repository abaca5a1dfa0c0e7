import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCertificateChainPem } from '../../../src/pki/certificate-der.js';
import {
  authorityKeyIdOf,
  keyMatchesCertificate,
  keyMatchesDerCertificate,
  parseCertificateChainPem,
  privateKeyPemMatchesCertificate,
  summarizeCertificate,
  summarizeDerCertificate,
} from '../../../src/pki/certificates.js';
import { encodePrivateKeyPem, subjectPublicKeyInfo } from '../../../src/pki/keys.js';
import { x509 } from '../../../src/pki/x509.js';
import { selfSignCertificate, signCertificateWithCa } from '../../../src/pki/sign.js';
import type { CertificateTemplateSpec } from '../../../src/pki/spec.js';
import { DAY_MS, FAST_KEY_CASES, KEY_CASES, TEST_NOW, makeTestCa, mutations, preloadTestKeys, testKey } from '../../support/pki.js';

// The native reader must say exactly what the library says: same summary,
// same key match, for every kind of certificate certkeeper issues or finds.

const SPECS: readonly CertificateTemplateSpec[] = [
  { commonName: 'web.example', dnsNames: ['web.example', '*.web.example'], durationMs: 30 * DAY_MS },
  { dnsNames: ['only-san.example'], ipAddresses: ['10.0.0.1', '::ffff:10.0.0.2', '2001:db8::1'], uris: ['spiffe://td/ns/a'], emailAddresses: ['ops@example.com'] },
  { commonName: ' lead, "quoted" + <tricky>; #x ', subject: { organizations: ['Ünïcode GmbH', 'a\\b'], countries: ['DE'], serialNumber: '42', streetAddresses: ['Main St 1'], postalCodes: ['12345'] } },
  { commonName: 'ca', isCA: true, usages: ['cert sign', 'crl sign', 'digital signature'], durationMs: 3650 * DAY_MS },
  { commonName: 'client', usages: ['client auth', 'server auth', 'key encipherment', 'key agreement', 'email protection'], durationMs: 40 * 365 * DAY_MS },
];

// RSA 4096 alone can take over 5 s on a busy 2-core machine (CI timed out
// here once): generate every key up front, in parallel, under a long timeout.
beforeAll(async () => {
  await preloadTestKeys(KEY_CASES, [0]);
  await preloadTestKeys(FAST_KEY_CASES, [3, 4, 5]);
}, 60_000);

describe('the native certificate reader', () => {
  it('builds the SubjectPublicKeyInfo OpenSSL encodes, for every key type', async () => {
    for (const keyCase of KEY_CASES) {
      const key = await testKey(keyCase.spec, 0);
      expect(subjectPublicKeyInfo(key).toString('hex')).toBe(createPublicKey(key.keyObject).export({ format: 'der', type: 'spki' }).toString('hex'));
    }
  });

  it('summarises like the library, for every key type and spec', async () => {
    const ca = await makeTestCa();
    for (const keyCase of FAST_KEY_CASES) {
      const key = await testKey(keyCase.spec, 3);
      for (const spec of SPECS) {
        const leaf = await signCertificateWithCa({ spec, subjectKey: key, ca, now: TEST_NOW });
        const self = await selfSignCertificate({ spec, privateKey: key, now: TEST_NOW });
        for (const pem of [leaf.pem, self.pem]) {
          const [native] = readCertificateChainPem(pem);
          const [library] = parseCertificateChainPem(pem);
          if (native === undefined || library === undefined) throw new Error('no certificate');
          expect(summarizeDerCertificate(native)).toEqual(summarizeCertificate(library));
          expect(keyMatchesDerCertificate(key, native)).toBe(true);
          expect(privateKeyPemMatchesCertificate(encodePrivateKeyPem(key, 'PKCS8'), native)).toBe(true);
          expect(privateKeyPemMatchesCertificate(encodePrivateKeyPem(key, 'PKCS1'), native)).toBe(true);
        }
        const [native] = readCertificateChainPem(leaf.pem);
        if (native === undefined) throw new Error('no certificate');
        expect(authorityKeyIdOf(native)).toBe(authorityKeyIdentifierHex(leaf.pem));
      }
    }
  });

  it('tells a key that is not the certificate\'s, in every encoding', async () => {
    const ca = await makeTestCa();
    for (const keyCase of FAST_KEY_CASES) {
      const key = await testKey(keyCase.spec, 4);
      const other = await testKey(keyCase.spec, 5);
      const leaf = await signCertificateWithCa({ spec: SPECS[0] as CertificateTemplateSpec, subjectKey: key, ca, now: TEST_NOW });
      const [native] = readCertificateChainPem(leaf.pem);
      if (native === undefined) throw new Error('no certificate');
      expect(keyMatchesDerCertificate(other, native)).toBe(keyMatchesCertificate(other, leaf.certificate));
      for (const encoding of ['PKCS8', 'PKCS1'] as const) {
        expect(privateKeyPemMatchesCertificate(encodePrivateKeyPem(other, encoding), native)).toBe(false);
      }
    }
  });

  it('reads what OpenSSL writes (RSA-PSS, secp256k1, Ed448, GeneralizedTime, multi-valued RDNs) like the library', () => {
    const dir = mkdtempSync(join(tmpdir(), 'der-'));
    try {
      const make = (name: string, keyArgs: string[], extra: string[]): string => {
        const key = join(dir, `${name}.key`);
        const crt = join(dir, `${name}.crt`);
        execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key], { stdio: 'pipe' });
        execFileSync('openssl', ['req', '-x509', '-key', key, '-out', crt, '-days', '20000', ...extra], { stdio: 'pipe' });
        return readFileSync(crt, 'utf8');
      };
      const pems = [
        make('pss', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'], ['-subj', '/CN=pss/O=x+OU=y', '-addext', 'subjectAltName=DNS:a.example,IP:127.0.0.1']),
        make('k1', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:secp256k1'], ['-subj', '/CN=k1/emailAddress=a@b.example/DC=example']),
        make('ed448', ['-algorithm', 'ED448'], ['-subj', '/CN=ed448\\, with comma', '-addext', 'extendedKeyUsage=serverAuth,codeSigning']),
      ];
      for (const pem of pems) {
        const [native] = readCertificateChainPem(pem);
        const [library] = parseCertificateChainPem(pem);
        if (native === undefined || library === undefined) throw new Error('no certificate');
        expect(summarizeDerCertificate(native)).toEqual(summarizeCertificate(library));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never throws anything but a PkiError on mutated certificates, and reads their names, times and keys like the library', async () => {
    const ca = await makeTestCa();
    const leaf = await signCertificateWithCa({ spec: SPECS[1] as CertificateTemplateSpec, subjectKey: await testKey({ algorithm: 'ECDSA' }, 1), ca, now: TEST_NOW });
    for (const bytes of mutations(leaf.der, 300)) {
      const pem = `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64')}\n-----END CERTIFICATE-----\n`;
      let nativeSummary: unknown;
      try {
        const [native] = readCertificateChainPem(pem);
        nativeSummary = native === undefined ? undefined : summarizeDerCertificate(native);
      } catch (error) {
        expect((error as Error).name).toBe('PkiError');
        continue;
      }
      let librarySummary: unknown;
      try {
        const [library] = parseCertificateChainPem(pem);
        librarySummary = library === undefined ? undefined : summarizeCertificate(library);
      } catch {
        continue; // the native reader may accept what asn1js refuses; OpenSSL accepted it either way
      }
      // A corrupted extension the library silently keeps as an opaque one still counts here: usages and the CA flag may differ.
      expect(withoutExtensionReadings(nativeSummary)).toEqual(withoutExtensionReadings(librarySummary));
    }
  });
});

function authorityKeyIdentifierHex(pem: string): string | undefined {
  const [c] = parseCertificateChainPem(pem);
  const extension = c === undefined ? null : c.getExtension(x509.AuthorityKeyIdentifierExtension);
  return extension?.keyId?.toLowerCase();
}

function withoutExtensionReadings(summary: unknown): unknown {
  if (typeof summary !== 'object' || summary === null) return summary;
  const { usages: _usages, isCA: _isCA, ...rest } = summary as Record<string, unknown>;
  return rest;
}
