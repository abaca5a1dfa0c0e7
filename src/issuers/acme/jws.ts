import { createHash, createHmac, createPublicKey } from 'node:crypto';

// The few JOSE pieces certkeeper computes itself rather than through
// acme-client: the account key's thumbprint (status, key authorizations) and
// the External Account Binding JWS for every HMAC algorithm RFC 8555 allows
// (acme-client only signs HS256).

export type EabAlgorithm = 'HS256' | 'HS384' | 'HS512';

const HMAC_HASH: Record<EabAlgorithm, string> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

/** The public JWK of a PEM key (private or public), members in lexicographic order (RFC 7638 3.3). */
export function publicJwk(keyPem: string): Record<string, string> {
  const exported = createPublicKey(keyPem).export({ format: 'jwk' }) as Record<string, unknown>;
  const members = exported.kty === 'RSA' ? ['e', 'kty', 'n'] : exported.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['crv', 'kty', 'x'];
  const out: Record<string, string> = {};
  for (const m of members) {
    const v = exported[m];
    if (typeof v === 'string') out[m] = v;
  }
  return out;
}

/** RFC 7638 thumbprint (SHA-256, base64url) of the key's public JWK. */
export function jwkThumbprint(keyPem: string): string {
  return createHash('sha256').update(JSON.stringify(publicJwk(keyPem))).digest('base64url');
}

/** RFC 8555 8.1: token "." thumbprint. */
export function keyAuthorization(token: string, thumbprint: string): string {
  return `${token}.${thumbprint}`;
}

/** RFC 8555 8.4: the TXT value of a DNS-01 challenge. */
export function dns01TxtValue(keyAuth: string): string {
  return createHash('sha256').update(keyAuth).digest('base64url');
}

/**
 * RFC 8555 7.3.4: a JWS over the account's public JWK, MACed with the key the
 * CA handed out, bound to the newAccount URL. `hmacKey` is base64url as CAs
 * publish it (padding and standard base64 accepted too).
 */
export function externalAccountBinding(input: { keyID: string; hmacKey: string; algorithm: EabAlgorithm; url: string; accountKeyPem: string }): {
  protected: string;
  payload: string;
  signature: string;
} {
  const header = Buffer.from(JSON.stringify({ alg: input.algorithm, kid: input.keyID, url: input.url })).toString('base64url');
  const payload = Buffer.from(JSON.stringify(publicJwk(input.accountKeyPem))).toString('base64url');
  const key = Buffer.from(input.hmacKey.trim().replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
  if (key.length === 0) throw new Error('the External Account Binding key is empty');
  const signature = createHmac(HMAC_HASH[input.algorithm], key).update(`${header}.${payload}`).digest('base64url');
  return { protected: header, payload, signature };
}
