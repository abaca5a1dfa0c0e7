import { generatePrivateKey, encodePrivateKeyPem, type PrivateKey } from '../../src/pki/keys.js';
import { selfSignCertificate, signCertificateWithCa } from '../../src/pki/sign.js';
import { encodeCertificateChainPem } from '../../src/pki/certificates.js';
import type { CertificateTemplateSpec, KeyAlgorithm, PrivateKeySpec, UsageName } from '../../src/pki/spec.js';
import type { x509 } from '../../src/pki/x509.js';

// Test PKI built at test time: no key file is ever committed. Keys are cached
// per test file (vitest isolates module state per file), because RSA 4096
// takes a second or more to generate and most tests do not care which key
// they get.

/** The fixed "now" of PKI unit tests (matches FakeClock's default start). */
export const TEST_NOW = new Date('2026-01-01T00:00:00Z');
export const DAY_MS = 24 * 60 * 60 * 1000;

export interface KeyCase {
  label: string;
  spec: PrivateKeySpec;
}

/** One key per supported type; RSA 8192 is left out (15+ s to generate). */
export const KEY_CASES: readonly KeyCase[] = [
  { label: 'RSA 2048', spec: { algorithm: 'RSA', size: 2048 } },
  { label: 'RSA 4096', spec: { algorithm: 'RSA', size: 4096 } },
  { label: 'ECDSA P-256', spec: { algorithm: 'ECDSA', size: 256 } },
  { label: 'ECDSA P-384', spec: { algorithm: 'ECDSA', size: 384 } },
  { label: 'ECDSA P-521', spec: { algorithm: 'ECDSA', size: 521 } },
  { label: 'Ed25519', spec: { algorithm: 'Ed25519' } },
];

/** The same cases without RSA 4096, for tests where a slow key adds nothing. */
export const FAST_KEY_CASES: readonly KeyCase[] = KEY_CASES.filter((c) => c.label !== 'RSA 4096');

const keyCache = new Map<string, Promise<PrivateKey>>();

/** A key of the given type, generated once per test file per `slot` (use distinct slots for distinct keys). */
export function testKey(spec: PrivateKeySpec, slot = 0): Promise<PrivateKey> {
  const id = `${spec.algorithm}/${spec.size ?? 'default'}/${slot}`;
  let key = keyCache.get(id);
  if (key === undefined) {
    key = generatePrivateKey(spec);
    keyCache.set(id, key);
  }
  return key;
}

/**
 * Generates the keys of `cases` for each slot concurrently (libuv runs them in
 * parallel), so a file's first tests do not pay for them one by one. Call
 * from beforeAll with a generous timeout.
 */
export async function preloadTestKeys(cases: readonly KeyCase[], slots: readonly number[] = [0]): Promise<void> {
  await Promise.all(cases.flatMap((c) => slots.map((slot) => testKey(c.spec, slot))));
}

export interface TestCaOptions {
  algorithm?: KeyAlgorithm;
  size?: number;
  /** notBefore of the CA; default TEST_NOW minus one day. */
  notBefore?: Date;
  /** Default one year. */
  durationMs?: number;
  /** Default true; false makes a leaf-looking certificate, for negative tests. */
  isCA?: boolean;
  usages?: UsageName[];
  commonName?: string;
  /** Sign the CA by this one instead of itself (makes an intermediate). */
  parent?: TestCa;
  /** Key slot for testKey, so two CAs of one type can have different keys. */
  slot?: number;
}

/** A CA as its Secret holds it, plus the parsed pieces. */
export interface TestCa {
  'tls.crt': string;
  'tls.key': string;
  'ca.crt': string;
  certificate: x509.X509Certificate;
  privateKey: PrivateKey;
}

/**
 * A CA key pair generated now: self-signed by default, or an intermediate
 * signed by `parent` (then tls.crt = intermediate + parent's tls.crt and
 * ca.crt = parent's ca.crt, the way an intermediate CA Secret looks).
 */
export async function makeTestCa(options: TestCaOptions = {}): Promise<TestCa> {
  const privateKey = await testKey({ algorithm: options.algorithm ?? 'ECDSA', size: options.size }, options.slot ?? 100);
  const spec: CertificateTemplateSpec = {
    commonName: options.commonName ?? `certkeeper test ${options.parent ? 'intermediate' : 'root'} CA`,
    subject: { organizations: ['certkeeper tests'] },
    isCA: options.isCA ?? true,
    usages: options.usages,
    durationMs: options.durationMs ?? 365 * DAY_MS,
  };
  const now = options.notBefore ?? new Date(TEST_NOW.getTime() - DAY_MS);
  const signed = options.parent
    ? await signCertificateWithCa({ spec, subjectKey: privateKey, ca: options.parent, now })
    : await selfSignCertificate({ spec, privateKey, now });
  return {
    'tls.crt': options.parent ? signed.pem + options.parent['tls.crt'] : signed.pem,
    'tls.key': encodePrivateKeyPem(privateKey, 'PKCS8'),
    'ca.crt': options.parent ? options.parent['ca.crt'] : signed.pem,
    certificate: signed.certificate,
    privateKey,
  };
}

/** PEM of the certificates, in order. */
export function chainPem(...certificates: x509.X509Certificate[]): string {
  return encodeCertificateChainPem(certificates);
}

/** Deterministic PRNG (mulberry32), so a failing fuzz round reproduces. */
export function seededRandom(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `rounds` corruptions of `der`: a few random bytes overwritten, sometimes truncated. */
export function* mutations(der: Uint8Array, rounds: number, seed = 42): Generator<Buffer> {
  const next = seededRandom(seed);
  for (let round = 0; round < rounds; round++) {
    const mutated = Buffer.from(der);
    const flips = 1 + Math.floor(next() * 4);
    for (let i = 0; i < flips; i++) mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
    yield next() < 0.2 ? mutated.subarray(0, Math.floor(next() * mutated.length)) : mutated;
  }
}
