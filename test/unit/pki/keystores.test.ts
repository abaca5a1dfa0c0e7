import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJksCertificates, readPkcs12Certificates, DEFAULT_KEYSTORE_LIMITS } from '../../../src/pki/keystores.js';
import { PkiError } from '../../../src/pki/errors.js';

const dir = join(import.meta.dirname, '..', '..', 'fixtures', 'keystores');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(dir, name)));
const fingerprint = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');
const pemFingerprint = (name: string): string => fingerprint(new Uint8Array(new X509Certificate(readFileSync(join(dir, name))).raw));

const EC = pemFingerprint('ec.crt');
const CA = pemFingerprint('rsa-ca.crt');

describe('readPkcs12Certificates', () => {
  it.each([
    ['modern-aes.p12', 'changeit', [EC, CA]],
    ['legacy-rc2.p12', 'changeit', [EC, CA]],
    ['truststore-empty-password.p12', '', [CA]],
    ['java-truststore.p12', 'changeit', [CA]],
  ])('%s: every certificate, none of the keys', (name, password, expected) => {
    const contents = readPkcs12Certificates(fixture(name), password);
    expect(contents.certificates.map((c) => fingerprint(c.der)).sort()).toEqual([...expected].sort());
    expect(contents.omitted).toBe(0);
  });

  it('keeps the friendlyName as the alias', () => {
    const aliases = readPkcs12Certificates(fixture('modern-aes.p12'), 'changeit').certificates.map((c) => c.alias);
    expect(aliases).toContain('web');
  });

  it('says "wrong password" for a wrong password, and never echoes it', () => {
    for (const name of ['modern-aes.p12', 'legacy-rc2.p12']) {
      let caught: unknown;
      try {
        readPkcs12Certificates(fixture(name), 'not-the-password');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(PkiError);
      expect(String((caught as Error).message)).toMatch(/wrong password/);
      expect(String((caught as Error).message)).not.toContain('not-the-password');
    }
  });

  it('refuses a key derivation cost above the limit before running it', () => {
    const started = process.hrtime.bigint();
    expect(() => readPkcs12Certificates(fixture('costly.p12'), 'changeit')).toThrow(/5000000 key derivation iterations/);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(500);
  });

  it('counts certificates beyond the limit instead of returning them', () => {
    const contents = readPkcs12Certificates(fixture('modern-aes.p12'), 'changeit', { ...DEFAULT_KEYSTORE_LIMITS, maxCertificates: 1 });
    expect(contents.certificates).toHaveLength(1);
    expect(contents.omitted).toBe(1);
  });

  it('refuses what is too large, and never throws anything but PkiError on garbage', () => {
    expect(() => readPkcs12Certificates(new Uint8Array(DEFAULT_KEYSTORE_LIMITS.maxBytes + 1), '')).toThrow(/at most/);
    const good = fixture('modern-aes.p12');
    let seed = 7;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 300; i++) {
      const mutated = Uint8Array.from(good);
      for (let j = 0; j < 4; j++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256);
      const cut = mutated.subarray(0, random() < 0.3 ? Math.floor(random() * mutated.length) : mutated.length);
      try {
        readPkcs12Certificates(cut, 'changeit');
      } catch (err) {
        expect(err).toBeInstanceOf(PkiError);
      }
    }
    // 300 key derivations and MAC checks: seconds of CPU on a busy shared machine, not a time limit.
  }, 60_000);
});

describe('readJksCertificates', () => {
  it('reads trusted certificate entries with their alias', () => {
    const contents = readJksCertificates(fixture('truststore.jks'));
    expect(contents.certificates.map((c) => [c.alias, fingerprint(c.der)])).toEqual([['test-ca', CA]]);
  });

  it('reads the chain of a private key entry without the key or the password', () => {
    const contents = readJksCertificates(fixture('keystore.jks'));
    expect(contents.certificates).toHaveLength(1);
    expect(new X509Certificate(contents.certificates[0]?.der ?? new Uint8Array()).subject).toBe('CN=jks.keystore.example');
    expect(contents.certificates[0]?.alias).toBe('server');
  });

  it('refuses what is not a keystore, and survives garbage', () => {
    expect(() => readJksCertificates(fixture('modern-aes.p12'))).toThrow(/not a Java keystore/);
    const good = fixture('truststore.jks');
    for (let cut = 0; cut < good.length; cut += 7) {
      try {
        readJksCertificates(good.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(PkiError);
      }
    }
    const liar = Uint8Array.from(good);
    liar.set([0x7f, 0xff, 0xff, 0xff], 8);
    expect(() => readJksCertificates(liar)).toThrow(/claims/);
  });
});
