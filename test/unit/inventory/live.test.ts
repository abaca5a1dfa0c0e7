import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TlsSecretSummary } from '../../../src/model/secret.js';
import { OperatorHttpServer } from '../../../src/http/server.js';
import type { InventoryJson } from '../../../src/inventory/json.js';
import { InventoryNotReady, LiveInventory } from '../../../src/inventory/live.js';
import { inventoryRoute } from '../../../src/inventory/route.js';
import { createRegistry } from '../../../src/metrics/registry.js';
import { FakeClock } from '../../support/fake-clock.js';
import { silentLog } from '../kube/fake-lister-watcher.js';
import { secretOf, testWorld, type World } from './world.js';

let w: World;
beforeAll(async () => {
  w = await testWorld();
}, 60_000);

function live(clock: FakeClock, secrets: TlsSecretSummary[], synced = { value: true }) {
  return new LiveInventory(
    { secrets: { list: () => secrets }, certificates: { list: () => [] }, policies: { list: () => [] }, namespaceLabels: () => ({}), synced: () => synced.value },
    clock,
  );
}

describe('LiveInventory', () => {
  it('refuses to answer before the caches synced', () => {
    const synced = { value: false };
    const l = live(new FakeClock(), [], synced);
    expect(() => l.snapshot()).toThrow(InventoryNotReady);
    synced.value = true;
    expect(l.snapshot().inventory.entries).toEqual([]);
  });

  it('reuses a build until a cache changes, or 30 s passed', async () => {
    const clock = new FakeClock();
    const secrets = [secretOf(w.fine, { namespace: 'n', name: 'a' })];
    const l = live(clock, secrets);
    const first = l.snapshot();
    await clock.advance(29_999);
    expect(l.snapshot()).toBe(first);
    await clock.advance(1);
    const second = l.snapshot();
    expect(second).not.toBe(first);
    secrets.push(secretOf(w.expired, { namespace: 'n', name: 'b' }));
    expect(l.snapshot()).toBe(second);
    l.invalidate();
    expect(l.snapshot().inventory.entries).toHaveLength(2);
    expect(l.buildCount).toBe(3);
  });

  it('rebuilds the moment a certificate crosses a threshold, without any cache event', async () => {
    const clock = new FakeClock();
    const l = live(clock, [secretOf(w.expiring, { namespace: 'n', name: 'a' })]);
    const inv = l.snapshot().inventory;
    expect(inv.entries[0]?.problems.map((p) => p.severity)).toEqual(['warning']);
    // 10 days left: critical at 7 days, i.e. in 3 days.
    expect(inv.validUntil?.toISOString()).toBe('2026-01-04T00:00:00.000Z');
    const live2 = new LiveInventory(
      { secrets: { list: () => [secretOf(w.expiring, { namespace: 'n', name: 'a' })] }, certificates: { list: () => [] }, policies: { list: () => [] }, namespaceLabels: () => ({}), synced: () => true },
      clock,
      Number.POSITIVE_INFINITY,
    );
    live2.snapshot();
    await clock.advance(3 * 86_400_000 - 1);
    expect(live2.snapshot().inventory.entries[0]?.problems.map((p) => p.severity)).toEqual(['warning']);
    await clock.advance(1);
    expect(live2.snapshot().inventory.entries[0]?.problems.map((p) => p.severity)).toEqual(['critical']);
    expect(live2.buildCount).toBe(2);
  });
});

describe('GET /inventory', () => {
  let server: OperatorHttpServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(l: LiveInventory) {
    server = new OperatorHttpServer({ log: silentLog, registry: createRegistry() });
    server.addRoute('/inventory', inventoryRoute(l, new FakeClock()));
    const port = await server.start(0, '127.0.0.1');
    return async (path: string, init?: RequestInit) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, init);
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) };
    };
  }

  it('answers JSON, filtered', async () => {
    const get = await serve(live(new FakeClock(), [secretOf(w.fine, { namespace: 'a', name: 'x' }), secretOf(w.expired, { namespace: 'b', name: 'y' })]));
    const all = await get('/inventory');
    expect(all.status).toBe(200);
    expect(all.type).toBe('application/json; charset=utf-8');
    expect((all.body as InventoryJson).entries).toHaveLength(2);
    const b = await get('/inventory?namespace=b&problem=expired');
    expect((b.body as InventoryJson).entries.map((e) => e.commonName)).toEqual(['expired']);
    expect(((await get('/inventory?expiringWithin=30d')).body as InventoryJson).entries.map((e) => e.commonName)).toEqual(['expired']);
  });

  it('answers a CycloneDX CBOM, its library loaded on that first request', async () => {
    const get = await serve(live(new FakeClock(), [secretOf(w.fine, { namespace: 'a', name: 'x' })]));
    const bom = await get('/inventory?format=cyclonedx');
    expect(bom.status).toBe(200);
    expect(bom.type).toBe('application/vnd.cyclonedx+json; version=1.6');
    expect(bom.body).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6' });
    expect(JSON.stringify(bom.body)).toContain('"fine"');
  });

  it('400 for a bad filter, 405 for a write, 503 before sync', async () => {
    const synced = { value: false };
    const get = await serve(live(new FakeClock(), [], synced));
    expect(await get('/inventory')).toMatchObject({ status: 503, body: { error: expect.stringContaining('not synced') as string } });
    synced.value = true;
    expect(await get('/inventory?expiringWithin=soon')).toMatchObject({ status: 400, body: { error: expect.stringContaining('"soon" is not a duration') as string } });
    expect((await get('/inventory', { method: 'POST' })).status).toBe(405);
  });
});
