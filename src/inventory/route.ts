import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { RouteHandler } from '../http/server.js';
import { writeInventoryJson } from './json.js';
import type { SeenGroup, SeenProtocol } from './seen.js';
import { InventoryNotReady, type LiveInventory } from './live.js';
import { QueryError, filterInventory, queryFromSearchParams } from './query.js';

// GET /inventory[?namespace=NS][&expiringWithin=30d][&problem=expired,expiring][&managed=unmanaged][&format=cyclonedx]
// 200 JSON (see json.ts), or a CycloneDX 1.6 CBOM with the TLS versions endpoints accepted (cbom.ts); 400 for a bad filter; 503 until the caches synced
// (a standby replica answers 503 too: only the leader keeps the caches).

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

export interface InventoryRouteOptions {
  /** TLS versions seen at endpoints, for the CBOM. */
  protocols?: () => SeenProtocol[];
  /** Key exchange groups seen at endpoints, for the CBOM. */
  groups?: () => SeenGroup[];
  /** certkeeper's version, for the CBOM's metadata. */
  version?: string;
}

export function inventoryRoute(live: LiveInventory, clock: Clock, o: InventoryRouteOptions = {}): RouteHandler {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendJson(res, 405, { error: 'method not allowed' });
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    let query;
    try {
      query = queryFromSearchParams(url.searchParams);
    } catch (err) {
      if (err instanceof QueryError) return sendJson(res, 400, { error: err.message });
      throw err;
    }
    let snapshot;
    try {
      snapshot = live.snapshot();
    } catch (err) {
      if (err instanceof InventoryNotReady) {
        res.setHeader('Retry-After', '5');
        return sendJson(res, 503, { error: err.message });
      }
      throw err;
    }
    const format = url.searchParams.get('format') ?? 'json';
    if (format !== 'json' && format !== 'cyclonedx') return sendJson(res, 400, { error: `format must be json or cyclonedx, not "${format}"` });
    const now = clock.now();
    const shown = filterInventory(snapshot.inventory, query, now);
    if (format === 'cyclonedx') {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': 'application/vnd.cyclonedx+json; version=1.6', 'Cache-Control': 'no-store' });
        return void res.end();
      }
      // Loaded on the first CBOM request: the CycloneDX library costs the operator memory it needs for nothing else.
      const { inventoryCbom } = await import('./cbom.js');
      const bom = inventoryCbom(shown, { now: new Date(now), version: o.version ?? 'unknown', protocols: o.protocols?.() ?? [], groups: o.groups?.() ?? [] });
      res.writeHead(200, { 'Content-Type': 'application/vnd.cyclonedx+json; version=1.6', 'Cache-Control': 'no-store' });
      return void res.end(`${JSON.stringify(bom)}\n`);
    }
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') return void res.end();
    writeInventoryJson(shown, new Date(now), (chunk) => res.write(chunk));
    res.end('\n');
  };
}
