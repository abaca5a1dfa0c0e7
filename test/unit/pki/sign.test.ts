import { X509Certificate as NodeX509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { x509 } from '../../../src/pki/x509.js';
import { summarizeCertificate, verifyChain } from '../../../src/pki/certificates.js';
import { PkiError } from '../../../src/pki/errors.js';
import type { PrivateKey } from '../../../src/pki/keys.js';
import { selfSignCertificate, signCertificateWithCa, type SignedCertificate } from '../../../src/pki/sign.js';
import {
  DEFAULT_DURATION_MS,
  EXTENDED_KEY_USAGE_NAMES,
  KEY_USAGE_NAMES,
  type CertificateTemplateSpec,
  type KeyAlgorithm,
  type UsageName,
} from '../../../src/pki/spec.js';
import { DAY_MS, KEY_CASES, TEST_NOW, makeTestCa, preloadTestKeys, testKey } from '../../support/pki.js';

// Builders: a spec from small modifiers, so each case states only what it is about.
type SpecChange = (spec: CertificateTemplateSpec) => CertificateTemplateSpec;
const certificate = (...changes: SpecChange[]): CertificateTemplateSpec =>
  changes.reduce((spec, change) => change(spec), { commonName: 'web.example' } as CertificateTemplateSpec);
const withDnsNames = (...dnsNames: string[]): SpecChange => (s) => ({ ...s, dnsNames });
const withIps = (...ipAddresses: string[]): SpecChange => (s) => ({ ...s, ipAddresses });
const withUris = (...uris: string[]): SpecChange => (s) => ({ ...s, uris });
const withEmails = (...emailAddresses: string[]): SpecChange => (s) => ({ ...s, emailAddresses });
const withUsages = (...usages: UsageName[]): SpecChange => (s) => ({ ...s, usages });
const withoutCommonName: SpecChange = ({ commonName: _cn, ...s }) => s;
const asCA: SpecChange = (s) => ({ ...s, isCA: true });
const withDuration = (durationMs: number): SpecChange => (s) => ({ ...s, durationMs });

// Canonical names in keyUsage bit order ('signing' is an alias of 'digital signature').
beforeAll(() => preloadTestKeys(KEY_CASES, [0, 1]), 60_000);

const ALL_KEY_USAGES: UsageName[] = [
  'digital signature',
  'content commitment',
  'key encipherment',
  'data encipherment',
  'key agreement',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
];
// Requested order; 's/mime' is an alias of 'email protection'.
const ALL_EKUS: UsageName[] = EXTENDED_KEY_USAGE_NAMES.filter((u) => u !== 's/mime');

const EXPECTED_SIGNATURE: Record<string, string> = {
  'RSA 2048': 'SHA256-RSA',
  'RSA 4096': 'SHA256-RSA',
  'ECDSA P-256': 'ECDSA-SHA256',
  'ECDSA P-384': 'ECDSA-SHA384',
  'ECDSA P-521': 'ECDSA-SHA512',
  Ed25519: 'Ed25519',
};

function node(signed: SignedCertificate): NodeX509Certificate {
  return new NodeX509Certificate(signed.pem);
}

function extension<T extends x509.Extension>(cert: x509.X509Certificate, type: new (raw: ArrayBuffer) => T): T {
  const found = cert.getExtension(type);
  if (found === null) throw new Error(`certificate has no ${type.name}`);
  return found;
}

async function selfSigned(spec: CertificateTemplateSpec, algorithm: KeyAlgorithm = 'ECDSA'): Promise<SignedCertificate> {
  return selfSignCertificate({ spec, privateKey: await testKey({ algorithm }), now: TEST_NOW });
}

describe('self-signed certificates verify for every key type', () => {
  const cases = KEY_CASES.flatMap((keyCase) => [
    { ...keyCase, kind: 'leaf', spec: certificate(withDnsNames('a.example')) },
    { ...keyCase, kind: 'CA', spec: certificate(asCA) },
  ]);

  it.each(cases)('$label $kind', async ({ label, kind, spec }) => {
    const key = await testKey(KEY_CASES.find((c) => c.label === label)?.spec ?? { algorithm: 'ECDSA' });
    const signed = await selfSignCertificate({ spec, privateKey: key, now: TEST_NOW });
    expect(verifyChain({ chainPem: signed.pem, caPem: signed.pem, at: TEST_NOW })).toEqual({ valid: true });
    expect(node(signed).verify(node(signed).publicKey)).toBe(true);
    // OpenSSL only calls a certificate its own issuer when its keyUsage allows cert signing.
    expect(node(signed).checkIssued(node(signed))).toBe(kind === 'CA');
    expect(await signed.certificate.verify({ signatureOnly: true })).toBe(true);
    const summary = summarizeCertificate(signed.certificate);
    expect(summary.signatureAlgorithm).toBe(EXPECTED_SIGNATURE[label]);
    expect({ algorithm: summary.keyAlgorithm, size: summary.keySize }).toEqual({ algorithm: key.algorithm, size: key.size });
    expect(signed.certificate.getExtension(x509.AuthorityKeyIdentifierExtension)).toBeNull();
  });
});

describe('CA-issued certificates verify for every subject key x signer key pair', () => {
  const pairs = KEY_CASES.flatMap((signer) => KEY_CASES.map((subject) => ({ signer, subject })));

  it.each(pairs)('$subject.label signed by $signer.label', async ({ signer, subject }) => {
    const ca = await makeTestCa({ algorithm: signer.spec.algorithm, size: signer.spec.size, slot: 0 });
    const subjectKey: PrivateKey = await testKey(subject.spec, 1);
    const leaf = await signCertificateWithCa({
      spec: certificate(withDnsNames('a.example')),
      subjectKey,
      ca,
      now: TEST_NOW,
    });
    expect(verifyChain({ chainPem: leaf.pem, caPem: ca['ca.crt'], at: TEST_NOW })).toEqual({ valid: true });
    const caNode = new NodeX509Certificate(ca['tls.crt']);
    expect(node(leaf).checkIssued(caNode)).toBe(true);
    expect(node(leaf).verify(caNode.publicKey)).toBe(true);
    expect(await leaf.certificate.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true })).toBe(true);

    const summary = summarizeCertificate(leaf.certificate);
    expect(summary.signatureAlgorithm).toBe(EXPECTED_SIGNATURE[signer.label]);
    expect(summary.keyAlgorithm).toBe(subjectKey.algorithm);
    expect(summary.issuer).toBe(summarizeCertificate(ca.certificate).subject);
    expect(extension(leaf.certificate, x509.AuthorityKeyIdentifierExtension).keyId).toBe(
      extension(ca.certificate, x509.SubjectKeyIdentifierExtension).keyId,
    );
  });
});

describe('certificate contents follow the spec', () => {
  it('validity is [now, now + duration], whole seconds', async () => {
    const now = new Date('2026-03-04T05:06:07.890Z');
    const signed = await selfSignCertificate({
      spec: certificate(withDuration(30 * DAY_MS)),
      privateKey: await testKey({ algorithm: 'Ed25519' }),
      now,
    });
    expect(signed.certificate.notBefore.toISOString()).toBe('2026-03-04T05:06:07.000Z');
    expect(signed.certificate.notAfter.toISOString()).toBe('2026-04-03T05:06:07.000Z');
    const byDefault = await selfSigned(certificate());
    expect(byDefault.certificate.notAfter.getTime() - byDefault.certificate.notBefore.getTime()).toBe(DEFAULT_DURATION_MS);
  });

  it('serials are random, positive and at most 128 bits', async () => {
    const serials = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(async () => (await selfSigned(certificate())).certificate.serialNumber));
    expect(new Set(serials).size).toBe(serials.length);
    for (const serial of serials) {
      expect(serial).toMatch(/^[0-9a-f]+$/);
      expect(BigInt(`0x${serial}`) > 0n).toBe(true);
      expect(BigInt(`0x${serial}`) < 1n << 128n).toBe(true);
    }
  });

  it('names: subject fields in Go order, every SAN kind', async () => {
    const spec: CertificateTemplateSpec = {
      ...certificate(withDnsNames('a.example', '*.b.example'), withIps('10.0.0.1', '2001:DB8::1'), withUris('spiffe://td/ns/web'), withEmails('ops@example.com')),
      subject: {
        countries: ['DE'],
        provinces: ['Berlin'],
        localities: ['Berlin'],
        streetAddresses: ['Main St 1'],
        postalCodes: ['10115'],
        organizations: ['Example', 'Ünicode GmbH'],
        organizationalUnits: ['Platform'],
        serialNumber: 'ABC-1',
      },
    };
    const summary = summarizeCertificate((await selfSigned(spec)).certificate);
    expect(summary).toMatchObject({
      subject: 'C=DE, ST=Berlin, L=Berlin, STREET=Main St 1, postalCode=10115, O=Example, O=Ünicode GmbH, OU=Platform, CN=web.example, serialNumber=ABC-1',
      commonName: 'web.example',
      dnsNames: ['a.example', '*.b.example'],
      ipAddresses: ['10.0.0.1', '2001:db8::1'],
      uris: ['spiffe://td/ns/web'],
      emailAddresses: ['ops@example.com'],
    });
  });

  it.each([
    ['with a subject', certificate(withDnsNames('a.example')), false],
    ['with an empty subject', certificate(withoutCommonName, withDnsNames('a.example')), true],
  ])('SAN extension %s is critical=%s', async (_label, spec, critical) => {
    const cert = (await selfSigned(spec)).certificate;
    expect(extension(cert, x509.SubjectAlternativeNameExtension).critical).toBe(critical);
    expect(cert.subject === '').toBe(critical);
  });

  it('no SAN extension when no SAN is asked for', async () => {
    const cert = (await selfSigned(certificate())).certificate;
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)).toBeNull();
  });

  // [case, spec, subject key algorithm, usages in the certificate]
  it.each([
    ['RSA default', certificate(), 'RSA', ['digital signature', 'key encipherment', 'server auth']],
    ['ECDSA default drops key encipherment', certificate(), 'ECDSA', ['digital signature', 'server auth']],
    ['Ed25519 default drops key encipherment', certificate(), 'Ed25519', ['digital signature', 'server auth']],
    ['RSA CA default: cert sign, no server auth', certificate(asCA), 'RSA', ['digital signature', 'key encipherment', 'cert sign']],
    ['ECDSA CA default', certificate(asCA), 'ECDSA', ['digital signature', 'cert sign']],
    ['aliases, EKUs in requested order', certificate(withUsages('signing', 's/mime', 'client auth')), 'ECDSA', ['digital signature', 'email protection', 'client auth']],
    ['explicit CA usages get cert sign', certificate(asCA, withUsages('crl sign')), 'ECDSA', ['cert sign', 'crl sign']],
    ['only EKUs', certificate(withUsages('server auth', 'client auth')), 'ECDSA', ['server auth', 'client auth']],
    ['every key usage', certificate(withUsages(...ALL_KEY_USAGES)), 'RSA', ALL_KEY_USAGES],
    ['every EKU', certificate(withUsages(...ALL_EKUS, 's/mime')), 'Ed25519', ALL_EKUS],
  ] as [string, CertificateTemplateSpec, KeyAlgorithm, UsageName[]][])('usages: %s', async (_label, spec, algorithm, usages) => {
    const cert = (await selfSigned(spec, algorithm)).certificate;
    expect(summarizeCertificate(cert).usages).toEqual(usages);
    const wantsKeyUsage = usages.some((u) => (KEY_USAGE_NAMES as readonly string[]).includes(u));
    expect(cert.getExtension(x509.KeyUsagesExtension)?.critical ?? 'absent').toBe(wantsKeyUsage ? true : 'absent');
    const wantsEku = usages.some((u) => (EXTENDED_KEY_USAGE_NAMES as readonly string[]).includes(u));
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.critical ?? 'absent').toBe(wantsEku ? false : 'absent');
  });

  it.each([
    ['leaf', certificate(), false],
    ['CA', certificate(asCA), true],
  ])('basicConstraints of a %s is critical with CA=%s', async (_label, spec, isCA) => {
    const cert = (await selfSigned(spec)).certificate;
    const constraints = extension(cert, x509.BasicConstraintsExtension);
    expect({ critical: constraints.critical, ca: constraints.ca, pathLength: constraints.pathLength }).toEqual({
      critical: true,
      ca: isCA,
      pathLength: undefined,
    });
    expect(new NodeX509Certificate(cert.toString('pem')).ca).toBe(isCA);
    expect(summarizeCertificate(cert).isCA).toBe(isCA);
  });

  it('subjectKeyIdentifier is the SHA-1 key id of the subject key', async () => {
    const cert = (await selfSigned(certificate())).certificate;
    const expected = Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex');
    expect(extension(cert, x509.SubjectKeyIdentifierExtension).keyId).toBe(expected);
  });

  it('a CA-issued certificate may outlive its CA: capping is the caller\'s decision', async () => {
    const ca = await makeTestCa({ durationMs: 10 * DAY_MS });
    const leaf = await signCertificateWithCa({
      spec: certificate(withDuration(90 * DAY_MS)),
      subjectKey: await testKey({ algorithm: 'ECDSA' }, 1),
      ca,
      now: TEST_NOW,
    });
    expect(leaf.certificate.notAfter > ca.certificate.notAfter).toBe(true);
    expect(verifyChain({ chainPem: leaf.pem, caPem: ca['ca.crt'], at: new Date(TEST_NOW.getTime() + 20 * DAY_MS) })).toMatchObject({
      valid: false,
      reason: expect.stringContaining('expired') as unknown,
    });
  });
});

describe('invalid specs are refused with the field named', () => {
  it.each([
    ['no identity at all', { subject: { organizations: ['x'] } }, /at least one of commonName, dnsNames/],
    ['a long commonName', certificate((s) => ({ ...s, commonName: 'x'.repeat(65) })), /commonName is 65 characters long, the maximum is 64/],
    ['an unknown usage', certificate(withUsages('server auth', 'flying' as UsageName)), /unknown usages: "flying"/],
    ['a bad IP', certificate(withIps('10.0.0.256')), /ipAddress "10.0.0.256" is not an IPv4 or IPv6 address/],
    ['an IPv6 zone', certificate(withIps('fe80::1%eth0')), /zones are not allowed/],
    ['a relative URI', certificate(withUris('not a uri')), /uri "not a uri"/],
    ['a non-ASCII DNS name', certificate(withDnsNames('bücher.example')), /dnsName "bücher.example" must be non-empty printable ASCII/],
    ['an empty DNS name', certificate(withDnsNames('')), /dnsName "" must be non-empty/],
    ['a bad email', certificate(withEmails('nobody')), /emailAddress "nobody" is not of the form local@domain/],
    ['a zero duration', certificate(withDuration(0)), /duration must be a whole number of milliseconds >= 1s, got 0/],
  ] as [string, CertificateTemplateSpec, RegExp][])('%s', async (_label, spec, message) => {
    const error: unknown = await selfSigned(spec).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PkiError);
    expect(error).toMatchObject({ reason: 'InvalidTemplate', message: expect.stringMatching(message) as unknown });
  });
});
