import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../../src/probe/jobs/outcome.js';
import { classifyHandshakeError } from '../../../src/probe/jobs/tls-handshake.js';
import { parseHttpHead } from '../../../src/probe/jobs/hsts.js';
import { nodeCanOffer } from '../../../src/probe/jobs/cipher-suites.js';
import { hostnameMatches } from '../../../src/probe/hostname.js';
import { ALL_SUITES, LEGACY_SUITES, TLS13_SUITES, suiteById, suiteByName, suitesForVersion } from '../../../src/probe/suites.js';
import { nominalGroupBits, rsaEquivalentOfEcBits } from '../../../src/probe/groups.js';

describe('cipher suite catalogue', () => {
  it('has unique code points and names, ascending', () => {
    expect(new Set(ALL_SUITES.map((s) => s.id)).size).toBe(ALL_SUITES.length);
    expect(new Set(ALL_SUITES.map((s) => s.name)).size).toBe(ALL_SUITES.length);
    expect(new Set(LEGACY_SUITES.map((s) => s.openssl)).size).toBe(LEGACY_SUITES.length);
    expect(LEGACY_SUITES.map((s) => s.id)).toEqual([...LEGACY_SUITES.map((s) => s.id)].sort((a, b) => a - b));
  });

  it.each([
    ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', { id: 0xc02f, openssl: 'ECDHE-RSA-AES128-GCM-SHA256', keyExchange: 'ECDHE', authentication: 'RSA', mode: 'AEAD', strengthBits: 128, forwardSecrecy: true, minVersion: 'TLSv1.2' }],
    ['TLS_RSA_WITH_3DES_EDE_CBC_SHA', { id: 0x000a, openssl: 'DES-CBC3-SHA', keyExchange: 'RSA', mode: 'CBC', strengthBits: 112, forwardSecrecy: false, minVersion: 'SSLv3' }],
    ['TLS_RSA_WITH_RC4_128_MD5', { id: 0x0004, mode: 'stream', strengthBits: 128, export: false }],
    ['TLS_RSA_EXPORT_WITH_DES40_CBC_SHA', { id: 0x0008, export: true, strengthBits: 40 }],
    ['TLS_DH_anon_WITH_AES_256_GCM_SHA384', { id: 0x00a7, keyExchange: 'DHE', anonymous: true, forwardSecrecy: true }],
    ['TLS_ECDH_RSA_WITH_AES_128_CBC_SHA', { id: 0xc00e, keyExchange: 'ECDH', forwardSecrecy: false }],
    ['TLS_RSA_WITH_NULL_SHA256', { id: 0x003b, mode: 'none', strengthBits: 0, minVersion: 'TLSv1.2' }],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8', { id: 0xc0ae, authentication: 'ECDSA', aead: true }],
    ['TLS_CHACHA20_POLY1305_SHA256', { id: 0x1303, tls13: true, keyExchange: 'TLS13', strengthBits: 256, minVersion: 'TLSv1.3' }],
  ])('derives %s', (name, expected) => {
    expect(suiteByName(name)).toMatchObject(expected);
  });

  it('finds suites by OpenSSL name and code point', () => {
    expect(suiteByName('ECDHE-ECDSA-CHACHA20-POLY1305')?.id).toBe(0xcca9);
    expect(suiteById(0x1301)?.name).toBe('TLS_AES_128_GCM_SHA256');
    expect(suiteById(0xfefe)).toBeUndefined();
  });

  it('offers only pre-TLS 1.2 suites below TLS 1.2', () => {
    expect(suitesForVersion('TLSv1.0').every((s) => s.minVersion === 'SSLv3')).toBe(true);
    expect(suitesForVersion('SSLv3').some((s) => s.name === 'TLS_RSA_WITH_RC4_128_SHA')).toBe(true);
    expect(suitesForVersion('TLSv1.2')).toBe(LEGACY_SUITES);
    expect(suitesForVersion('TLSv1.3')).toBe(TLS13_SUITES);
  });

  it('knows what node can offer itself and what needs a hand-built hello', () => {
    expect(nodeCanOffer(suiteByName('ECDHE-RSA-AES128-GCM-SHA256') ?? ALL_SUITES[0]!)).toBe(true);
    for (const name of ['DES-CBC3-SHA', 'RC4-SHA', 'EXP-RC4-MD5', 'NULL-SHA256']) expect(nodeCanOffer(suiteByName(name) ?? ALL_SUITES[0]!), name).toBe(false);
  });
});

describe('hostnameMatches (RFC 6125)', () => {
  it.each([
    ['app.example', ['app.example'], true],
    ['APP.Example.', ['app.example'], true],
    ['a.app.example', ['*.app.example'], true],
    ['app.example', ['*.app.example'], false],
    ['a.b.app.example', ['*.app.example'], false],
    ['x.com', ['*.com'], false],
    ['other.example', ['app.example'], false],
    ['app.example', [], false],
  ])('%s against %j → %s', (name, dnsNames, expected) => {
    expect(hostnameMatches(name, dnsNames, [])).toBe(expected);
  });

  it('matches IP literals only against iPAddress names', () => {
    expect(hostnameMatches('127.0.0.1', ['127.0.0.1'], [])).toBe(false);
    expect(hostnameMatches('127.0.0.1', [], ['127.0.0.1'])).toBe(true);
    expect(hostnameMatches('::1', [], ['0:0:0:0:0:0:0:1'])).toBe(true);
  });
});

describe('small pure helpers', () => {
  it('classifies handshake errors after connecting', () => {
    const err = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });
    expect(classifyHandshakeError(err('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../x.c:1601:SSL alert number 40'))).toEqual({ refused: true, reason: 'alert handshake_failure' });
    expect(classifyHandshakeError(err('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../x.c:1601:SSL alert number 70'))).toEqual({ refused: true, reason: 'alert protocol_version' });
    expect(classifyHandshakeError(err('ECONNRESET', 'read ECONNRESET'))).toEqual({ refused: true, reason: 'connection closed during the handshake' });
    expect(classifyHandshakeError(err('ERR_SSL_EE_KEY_TOO_SMALL', 'ee key too small'))).toEqual({ refused: false, reason: 'ERR_SSL_EE_KEY_TOO_SMALL: ee key too small' });
  });

  it('reads an HTTP head', () => {
    expect(parseHttpHead('HTTP/1.1 200 OK\r\nServer: nginx\r\nstrict-transport-security:  max-age=63072000; preload')).toEqual({ status: 200, strictTransportSecurity: 'max-age=63072000; preload' });
    expect(parseHttpHead('HTTP/1.0 301 Moved\r\nLocation: /')).toEqual({ status: 301, strictTransportSecurity: undefined });
    expect(parseHttpHead('SSH-2.0-OpenSSH')).toBeUndefined();
  });

  it('knows nominal group sizes and RSA equivalents', () => {
    expect(nominalGroupBits('X25519', 253)).toBe(256);
    expect(nominalGroupBits('secp384r1', 384)).toBe(384);
    expect([160, 224, 256, 384, 521].map(rsaEquivalentOfEcBits)).toEqual([1024, 2048, 3072, 7680, 15360]);
  });

  it('limits concurrency and hands slots over in order', async () => {
    const limit = createLimiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        limit(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          order.push(i);
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
    expect(order).toHaveLength(8);
    expect(() => createLimiter(0)).toThrow(/positive/);
  });

  it('starts no task after its deadline: the rest reject, the one running finishes', async () => {
    // One slot; the first task holds it until the deadline has passed, so the others' turn comes after it.
    const deadline = performance.now() + 50;
    const limit = createLimiter(1, deadline);
    const started: number[] = [];
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) =>
        limit(async () => {
          started.push(i);
          while (performance.now() <= deadline) await new Promise((r) => setTimeout(r, 5));
          return i;
        }),
      ),
    );
    expect(started).toEqual([0]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 0 });
    expect(results.slice(1).map((r) => (r.status === 'rejected' ? (r.reason as Error).name : r.status))).toEqual(['ScanDeadlineError', 'ScanDeadlineError']);
  });
});
