import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../../src/clock.js';
import { AlertmanagerClient, AlertmanagerError, displayUrl } from '../../../src/alerts/alertmanager-client.js';
import type { PostableAlert } from '../../../src/alerts/model.js';
import { FakeClock } from '../../support/fake-clock.js';
import { signedLeaf } from '../../support/inventory-fixtures.js';
import { makeTestCa } from '../../support/pki.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  type: string | undefined;
  body: unknown;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(server: Server, seen: Seen[], reply: (res: ServerResponse) => void = (res) => res.writeHead(200).end()): Promise<number> {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(body) as unknown });
      reply(res);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const alerts: PostableAlert[] = [{ labels: { alertname: 'A' }, annotations: { summary: 's' }, startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-01-01T00:04:00.000Z' }];

describe('AlertmanagerClient', () => {
  it('POSTs the alerts as JSON to /api/v2/alerts under the URL path', async () => {
    const seen: Seen[] = [];
    const port = await listen(createHttpServer(), seen);
    await new AlertmanagerClient({ url: `http://127.0.0.1:${port}/alertmanager/` }, realClock).post(alerts);
    expect(seen).toEqual([{ method: 'POST', url: '/alertmanager/api/v2/alerts', auth: undefined, type: 'application/json', body: alerts }]);
  });

  it('sends basic auth (explicit or from the URL) and bearer tokens, and never shows them', async () => {
    const seen: Seen[] = [];
    const port = await listen(createHttpServer(), seen);
    const fromUrl = new AlertmanagerClient({ url: `http://ops:s%3Acret@127.0.0.1:${port}` }, realClock);
    expect(fromUrl.name).toBe(`http://127.0.0.1:${port}`);
    await fromUrl.post(alerts);
    await new AlertmanagerClient({ url: `http://127.0.0.1:${port}`, auth: { type: 'basic', username: 'a', password: 'b' } }, realClock).post(alerts);
    await new AlertmanagerClient({ url: `http://127.0.0.1:${port}`, auth: { type: 'bearer', token: 't0k' } }, realClock).post(alerts);
    expect(seen.map((s) => s.auth)).toEqual([`Basic ${Buffer.from('ops:s:cret').toString('base64')}`, `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer t0k']);
    expect(displayUrl('https://u:p@am.example:9093/x/?q=1')).toBe('https://am.example:9093/x');
  });

  it('rejects with the status and the start of the body on an error answer', async () => {
    const port = await listen(createHttpServer(), [], (res) => res.writeHead(400).end('{"code":400,"message":"start must be before end"}'));
    const error = await new AlertmanagerClient({ url: `http://127.0.0.1:${port}` }, realClock).post(alerts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlertmanagerError);
    expect((error as AlertmanagerError).status).toBe(400);
    expect((error as Error).message).toBe(`POST http://127.0.0.1:${port}/api/v2/alerts: HTTP 400: {"code":400,"message":"start must be before end"}`);
  });

  it('rejects when nothing listens, and when the answer does not come in time', async () => {
    const refused = await new AlertmanagerClient({ url: 'http://127.0.0.1:1' }, realClock).post(alerts).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/ECONNREFUSED/);
    const port = await listen(createHttpServer(), [], () => undefined);
    const clock = new FakeClock();
    const pending = new AlertmanagerClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 5_000 }, clock).post(alerts).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await clock.advance(5_000);
    expect(((await pending) as Error).message).toMatch(/no answer within 5000 ms/);
  });

  it('trusts the given CA for https', async () => {
    const ca = await makeTestCa({ commonName: 'alertmanager test CA' });
    const leaf = await signedLeaf(ca, { dnsNames: ['localhost'], notBefore: new Date(Date.now() - 60_000), slot: 7 });
    const seen: Seen[] = [];
    const port = await listen(createHttpsServer({ cert: leaf.certPem, key: leaf.keyPem }), seen);
    await new AlertmanagerClient({ url: `https://localhost:${port}`, ca: ca['ca.crt'] }, realClock).post(alerts);
    expect(seen).toHaveLength(1);
    const untrusted = await new AlertmanagerClient({ url: `https://localhost:${port}` }, realClock).post(alerts).catch((e: unknown) => e);
    expect((untrusted as Error).message).toMatch(/certificate/i);
  });

  it('refuses URLs that are not http(s)', () => {
    expect(() => new AlertmanagerClient({ url: 'ftp://am' }, realClock)).toThrow(/only http and https/);
  });
});
