import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axios as acmeAxios } from 'acme-client';
import { retryOnTransportErrors } from '../../../src/kube/transport-retry.js';
import { acmeGet, recordExchanges } from '../../../src/issuers/acme/transport.js';

describe('Kubernetes calls of the ACME parts', () => {
  it('are repeated when the connection failed under them, and only then', async () => {
    let calls = 0;
    const flaky = {
      read: (): Promise<string> => {
        calls++;
        return calls < 3 ? Promise.reject(new Error('Invalid response body while trying to fetch https://x: Premature close')) : Promise.resolve('ok');
      },
      refuse: (): Promise<string> => Promise.reject(Object.assign(new Error('forbidden'), { code: 403 })),
      constant: 7,
    };
    const wrapped = retryOnTransportErrors(flaky);
    expect(await wrapped.read()).toBe('ok');
    expect(calls).toBe(3);
    await expect(wrapped.refuse()).rejects.toThrow('forbidden');
    expect(wrapped.constant).toBe(7);
    calls = -10;
    await expect(wrapped.read()).rejects.toThrow(/Premature close/);
  });
});

describe('Replay-Nonce reuse', () => {
  let server: Server;
  let base: string;
  let heads = 0;
  let issued = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.method === 'HEAD') heads++;
      res.writeHead(200, { 'Replay-Nonce': `nonce-${++issued}`, 'Content-Type': 'application/json' });
      res.end(req.method === 'HEAD' ? undefined : '{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('answers newNonce from nonces the CA already sent, each once, then asks the CA again', async () => {
    await recordExchanges('directory', () => acmeGet(`${base}/dir`));
    await recordExchanges('directory', () => acmeGet(`${base}/dir`));
    const nonce = async () => (await acmeAxios.head(`${base}/nonce`, { validateStatus: null })).headers['replay-nonce'] as unknown;
    expect(await nonce()).toBe('nonce-2');
    expect(await nonce()).toBe('nonce-1');
    expect(heads).toBe(0);
    expect(await nonce()).toBe('nonce-3');
    expect(heads).toBe(1);
  });
});
