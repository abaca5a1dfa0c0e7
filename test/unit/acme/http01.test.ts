import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Secret } from '@kubernetes/client-node';
import { Http01Solver, http01ChallengeName } from '../../../src/issuers/acme/http01-solver.js';
import { http01SelfCheck } from '../../../src/issuers/acme/self-check.js';
import { createLogger } from '../../../src/log.js';
import { FakeClock } from '../../support/fake-clock.js';

// The HTTP-01 responder reads key authorizations from Secrets (here a fake
// API holding them), so any replica answers; the self-check fetches the
// challenge URL the way the CA will.

const token = 'Zm9vYmFyYmF6X3Rva2VuLXRva2VuX3Rva2Vu';
const keyAuth = `${token}.thumbprint`;
const store = new Map<string, V1Secret>();
let reads = 0;
const secrets = {
  readNamespacedSecret: ({ name }: { name: string; namespace: string }): Promise<V1Secret> => {
    reads++;
    const s = store.get(name);
    return s === undefined ? Promise.reject(Object.assign(new Error('not found'), { code: 404 })) : Promise.resolve(s);
  },
};
const b64 = (s: string) => Buffer.from(s).toString('base64');
const clock = new FakeClock();
const solver = new Http01Solver({ secrets, namespace: 'certkeeper', clock, log: createLogger('silent') });
let port = 0;

beforeAll(async () => {
  store.set(http01ChallengeName(token), { data: { token: b64(token), keyAuthorization: b64(keyAuth), identifier: b64('web.example.com') } });
  port = await solver.start(0, '127.0.0.1');
});
afterAll(() => solver.close());

// fetch() may not set Host; node:http can, the way the CA's validator sends it.
const get = (path: string, host = 'web.example.com') =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('HTTP-01 responder', () => {
  it('answers the key authorization for the challenge host', async () => {
    expect(await get(`/.well-known/acme-challenge/${token}`)).toEqual({ status: 200, body: keyAuth });
    expect(await get(`/.well-known/acme-challenge/${token}`, 'web.example.com:80')).toEqual({ status: 200, body: keyAuth });
  });

  it.each<[string, string, string]>([
    ['another host', `/.well-known/acme-challenge/${token}`, 'evil.example.com'],
    ['an unknown token', '/.well-known/acme-challenge/unknownToken', 'web.example.com'],
    ['a token with odd characters', '/.well-known/acme-challenge/..%2Fetc', 'web.example.com'],
    ['another path', '/healthz', 'web.example.com'],
  ])('404 for %s', async (_name, path, host) => {
    expect((await get(path, host)).status).toBe(404);
  });

  it('keeps an answer a few seconds, then looks again (a removed challenge stops being answered)', async () => {
    const before = reads;
    await get(`/.well-known/acme-challenge/${token}`);
    expect(reads).toBe(before);
    store.delete(http01ChallengeName(token));
    await clock.advance(6_000);
    expect((await get(`/.well-known/acme-challenge/${token}`)).status).toBe(404);
    store.set(http01ChallengeName(token), { data: { token: b64(token), keyAuthorization: b64(keyAuth), identifier: b64('web.example.com') } });
  });

  it('answers a challenge this replica presented (primed) without reading its Secret, until it is taken down', async () => {
    const primed = 'cHJpbWVkLXRva2VuLXByaW1lZC10b2tlbg';
    const before = reads;
    solver.prime({ token: primed, keyAuthorization: `${primed}.thumbprint`, identifier: 'web.example.com' });
    expect(await get(`/.well-known/acme-challenge/${primed}`)).toEqual({ status: 200, body: `${primed}.thumbprint` });
    expect((await get(`/.well-known/acme-challenge/${primed}`, 'evil.example.com')).status).toBe(404);
    expect(reads).toBe(before);
    solver.forget(primed);
    expect((await get(`/.well-known/acme-challenge/${primed}`)).status).toBe(404);
    expect(reads).toBe(before + 1);
  });

  it('names its Secret after the token only', () => {
    expect(http01ChallengeName(token)).toMatch(/^certkeeper-http01-[0-9a-f]{20}$/);
    expect(http01ChallengeName(token)).toBe(http01ChallengeName(token));
    expect(http01ChallengeName(`${token}x`)).not.toBe(http01ChallengeName(token));
  });
});

describe('HTTP-01 self-check', () => {
  it('passes when the URL answers the key authorization, and says what it saw otherwise', async () => {
    // Names that are IPv4 literals resolve to themselves through the system resolver.
    const config = { http01Port: port, timeoutMs: 2_000 };
    expect(await http01SelfCheck('127.0.0.1', token, keyAuth, config)).toMatch(/answered HTTP 404/); // the Host does not match
    store.set(http01ChallengeName(token), { data: { token: b64(token), keyAuthorization: b64(keyAuth), identifier: b64('127.0.0.1') } });
    await clock.advance(6_000);
    expect(await http01SelfCheck('127.0.0.1', token, keyAuth, config)).toBeUndefined();
    expect(await http01SelfCheck('127.0.0.1', token, 'other', config)).toMatch(/something other than the key authorization/);
    expect(await http01SelfCheck('127.0.0.1', token, keyAuth, { ...config, http01Port: 1 })).toMatch(/ECONNREFUSED/);
  });

  it('gives up on a server that trickles its answer, and stops reading a huge one', async () => {
    // A tenant's pod can answer the challenge URL of its own name: it must not hold the self-check forever.
    const server = createServer((req, res) => {
      res.writeHead(200);
      if (req.url?.endsWith('/huge') === true) {
        res.end('x'.repeat(1 << 20));
        return;
      }
      const drip = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(drip));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const trickling = (server.address() as AddressInfo).port;
    try {
      const config = { http01Port: trickling, timeoutMs: 300 };
      expect(await http01SelfCheck('127.0.0.1', token, keyAuth, config)).toMatch(/no complete answer within 300 ms/);
      expect(await http01SelfCheck('127.0.0.1', '../huge', keyAuth, config)).toMatch(/something other than the key authorization/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
