import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../clock.js';
import type { RouteHandler } from '../http/server.js';
import { writeInventoryJson } from './json.js';
import { InventoryNotReady, type LiveInventory } from './live.js';
import { QueryError, filterInventory, queryFromSearchParams } from './query.js';

// GET /inventory[?namespace=NS][&expiringWithin=30d][&problem=expired,expiring][&managed=unmanaged]
// 200 JSON (see json.ts); 400 for a bad filter; 503 until the caches synced
// (a standby replica answers 503 too: only the leader keeps the caches).

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

export function inventoryRoute(live: LiveInventory, clock: Clock): RouteHandler {
  return (req: IncomingMessage, res: ServerResponse) => {
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
    const now = clock.now();
    const shown = filterInventory(snapshot.inventory, query, now);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    if (req.method === 'HEAD') return void res.end();
    writeInventoryJson(shown, new Date(now), (chunk) => res.write(chunk));
    res.end('\n');
  };
}
