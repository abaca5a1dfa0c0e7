import { createPublicKey, generateKeyPairSync, KeyObject, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeSession } from '../../../src/issuers/acme/session.js';
import { realClock } from '../../../src/clock.js';

// The JWS an AcmeSession sends (RFC 8555 6.2): signed with the account key
// (which the session hands acme-client already parsed), verifiable with its
// public key, for every request, RSA and EC alike. A local server plays the CA.

interface Jws {
  protected: string;
  payload: string;
  signature: string;
}

const keys = {
  EC: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  RSA: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
};

let server: Server;
let base: string;
const received: Jws[] = [];
let nonce = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const headers = { 'Replay-Nonce': `n-${++nonce}`, 'Content-Type': 'application/json' };
      if (req.url === '/dir') {
        res.writeHead(200, headers);
        res.end(JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/acct`, newOrder: `${base}/order` }));
        return;
      }
      if (req.method === 'HEAD') {
        res.writeHead(200, headers);
        res.end();
        return;
      }
      received.push(JSON.parse(body) as Jws);
      res.writeHead(201, { ...headers, Location: `${base}/order/1` });
      res.end(JSON.stringify({ status: 'pending', identifiers: [{ type: 'dns', value: 'a.example' }], authorizations: [], finalize: `${base}/order/1/finalize` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('AcmeSession requests', () => {
  it.each([
    ['EC', 'ES256'],
    ['RSA', 'RS256'],
  ] as const)('%s account key: every request is a JWS the account key verifies (%s)', async (kind, alg) => {
    const pem = keys[kind];
    const session = await AcmeSession.open(`${base}/dir`, `${base}/acct/${kind}`, pem, realClock);
    received.length = 0;
    for (let i = 0; i < 3; i++) await session.createOrder({ identifiers: [{ type: 'dns', value: 'a.example' }] });
    expect(received).toHaveLength(3);
    for (const jws of received) {
      const header = JSON.parse(Buffer.from(jws.protected, 'base64url').toString()) as { alg: string; kid: string; url: string };
      expect(header).toMatchObject({ alg, kid: `${base}/acct/${kind}`, url: `${base}/order` });
      const ok = verify(
        'sha256',
        Buffer.from(`${jws.protected}.${jws.payload}`),
        { key: createPublicKey(pem), ...(kind === 'EC' ? { dsaEncoding: 'ieee-p1363' as const } : {}) },
        Buffer.from(jws.signature, 'base64url'),
      );
      expect(ok).toBe(true);
    }
  });

  it('signs with the parsed account key, not the PEM acme-client would decode for every request', async () => {
    const session = await AcmeSession.open(`${base}/dir`, `${base}/acct/EC`, keys.EC, realClock);
    // acme-client's internals: if they change, this says the speed-up is gone (the signatures above still hold).
    const http = (session as unknown as { client: { http: { accountKey: unknown } } }).client.http;
    expect(http.accountKey).toBeInstanceOf(KeyObject);
  });
});
