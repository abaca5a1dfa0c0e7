import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crypto as acmeCrypto } from 'acme-client';
import { dns01TxtValue, externalAccountBinding, jwkThumbprint, keyAuthorization, publicJwk } from '../../../src/issuers/acme/jws.js';

const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

describe('JWK thumbprints (RFC 7638)', () => {
  it.each([
    ['EC', ecPem, ['crv', 'kty', 'x', 'y']],
    ['RSA', rsaPem, ['e', 'kty', 'n']],
  ])('%s: only the required members, in order; the same digest acme-client signs key authorizations with', (_name, pem, members) => {
    const jwk = publicJwk(pem);
    expect(Object.keys(jwk)).toEqual(members);
    const theirs = createHash('sha256').update(JSON.stringify(acmeCrypto.getJwk(pem))).digest('base64url');
    expect(jwkThumbprint(pem)).toBe(theirs);
    expect(JSON.stringify(jwk)).not.toContain('"d"');
  });

  it('key authorizations: token.thumbprint, and for DNS-01 its SHA-256 in base64url', () => {
    const ka = keyAuthorization('tok', 'thumb');
    expect(ka).toBe('tok.thumb');
    expect(dns01TxtValue(ka)).toBe(createHash('sha256').update('tok.thumb').digest('base64url'));
    expect(dns01TxtValue(ka)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('External Account Binding (RFC 8555 7.3.4)', () => {
  const hmacKey = Buffer.from('an hmac key the CA handed out....').toString('base64url');
  it.each([
    ['HS256', 'sha256'],
    ['HS384', 'sha384'],
    ['HS512', 'sha512'],
  ] as const)('%s: protected {alg, kid, url}, payload = the account JWK, MAC over "protected.payload"', (algorithm, hash) => {
    const eab = externalAccountBinding({ keyID: 'kid-1', hmacKey, algorithm, url: 'https://ca/new-acct', accountKeyPem: ecPem });
    expect(JSON.parse(Buffer.from(eab.protected, 'base64url').toString())).toEqual({ alg: algorithm, kid: 'kid-1', url: 'https://ca/new-acct' });
    expect(JSON.parse(Buffer.from(eab.payload, 'base64url').toString())).toEqual(publicJwk(ecPem));
    const mac = createHmac(hash, Buffer.from(hmacKey, 'base64url')).update(`${eab.protected}.${eab.payload}`).digest('base64url');
    expect(eab.signature).toBe(mac);
  });

  it('accepts the key in standard base64 with padding too, and refuses an empty one', () => {
    const std = Buffer.from('an hmac key the CA handed out....').toString('base64');
    const a = externalAccountBinding({ keyID: 'k', hmacKey, algorithm: 'HS256', url: 'u', accountKeyPem: ecPem });
    const b = externalAccountBinding({ keyID: 'k', hmacKey: `${std}\n`, algorithm: 'HS256', url: 'u', accountKeyPem: ecPem });
    expect(b.signature).toBe(a.signature);
    expect(() => externalAccountBinding({ keyID: 'k', hmacKey: '', algorithm: 'HS256', url: 'u', accountKeyPem: ecPem })).toThrow(/empty/);
  });
});
