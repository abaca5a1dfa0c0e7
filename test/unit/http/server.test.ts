import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorHttpServer } from '../../../src/http/server.js';
import { createRegistry } from '../../../src/metrics/registry.js';
import { FakeClock } from '../../support/fake-clock.js';
import { silentLog } from '../kube/fake-lister-watcher.js';

let server: OperatorHttpServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function started(options: { clock?: FakeClock } = {}) {
  const registry = createRegistry();
  server = new OperatorHttpServer({ log: silentLog, registry, ...options });
  const s = server;
  const port = await s.start(0, '127.0.0.1');
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };
  return { server: s, port, registry, get };
}

describe('OperatorHttpServer', () => {
  it('binds a free port when asked for port 0', async () => {
    const { port } = await started();
    expect(port).toBeGreaterThan(0);
  });

  it('reports liveness from its checks', async () => {
    const { server: s, get } = await started();
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    let alive = true;
    s.addLivenessCheck('controller/certificates', () => alive || 'worker loop exited');
    s.addLivenessCheck('informer/secrets', () => true);
    expect((await get('/healthz')).status).toBe(200);
    alive = false;
    expect(await get('/healthz')).toEqual({
      status: 500,
      type: 'text/plain; charset=utf-8',
      body: '[-]controller/certificates failed: worker loop exited\n[+]informer/secrets ok\nhealthz check failed\n',
    });
  });

  it.each([
    { name: 'every check passes', synced: true, leader: true, status: 200, body: 'ok\n' },
    {
      name: 'one check fails',
      synced: false,
      leader: true,
      status: 503,
      body: '[-]informer/secrets failed\n[+]leader ok\nreadyz check failed\n',
    },
    {
      name: 'two checks fail',
      synced: false,
      leader: false,
      status: 503,
      body: '[-]informer/secrets failed\n[-]leader failed: not the leader\nreadyz check failed\n',
    },
  ])('readyz when $name', async ({ synced, leader, status, body }) => {
    const { server: s, get } = await started();
    s.addReadinessCheck('informer/secrets', () => synced);
    s.addReadinessCheck('leader', () => Promise.resolve(leader || 'not the leader'));
    expect(await get('/readyz')).toMatchObject({ status, body });
  });

  it('lists passing checks with ?verbose', async () => {
    const { server: s, get } = await started();
    s.addReadinessCheck('informer/secrets', () => true);
    expect(await get('/readyz?verbose')).toMatchObject({ status: 200, body: '[+]informer/secrets ok\nok\n' });
  });

  it('fails a check that throws, and one that does not answer in time', async () => {
    const clock = new FakeClock();
    const { server: s, get } = await started({ clock });
    let called: () => void = () => undefined;
    const checkCalled = new Promise<void>((resolve) => (called = resolve));
    s.addReadinessCheck('throws', () => {
      throw new Error('cache corrupt');
    });
    s.addReadinessCheck('hangs', () => {
      called();
      return new Promise<boolean>(() => undefined);
    });
    const pending = get('/readyz');
    await checkCalled;
    await clock.advance(5_000);
    expect(await pending).toMatchObject({
      status: 503,
      body: '[-]throws failed: cache corrupt\n[-]hangs failed: timed out after 5000 ms\nreadyz check failed\n',
    });
  });

  it('serves the metrics registry, default process metrics included', async () => {
    const { registry, get } = await started();
    new Counter({ name: 'certkeeper_test_total', help: 'test', registers: [registry] }).inc(3);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toBe(registry.contentType);
    expect(res.body).toContain('certkeeper_test_total 3');
    expect(res.body).toContain('certkeeper_process_cpu_user_seconds_total');
  });

  it('routes mounted paths and prefixes, 404s the rest, 405s writes to probes', async () => {
    const { server: s, get } = await started();
    s.addRoute('/inventory', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('[]');
    });
    s.addRoute('/.well-known/acme-challenge/', (req, res) => {
      res.writeHead(200);
      res.end(req.url?.split('/').at(-1));
    }, { prefix: true });
    expect(await get('/inventory')).toMatchObject({ status: 200, body: '[]' });
    expect(await get('/.well-known/acme-challenge/tok123')).toMatchObject({ status: 200, body: 'tok123' });
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/healthz', { method: 'POST' })).status).toBe(405);
  });

  it('answers 500 when a mounted handler throws', async () => {
    const { server: s, get } = await started();
    s.addRoute('/boom', () => Promise.reject(new Error('boom')));
    expect(await get('/boom')).toMatchObject({ status: 500, body: 'internal error\n' });
  });

  it('stops accepting connections on close', async () => {
    const { server: s, get } = await started();
    expect((await get('/healthz')).status).toBe(200);
    await s.close();
    await expect(get('/healthz')).rejects.toThrow();
  });
});
