import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyAcmeFailure } from '../../../src/issuers/acme/classify.js';
import { AcmeError, describeProblem, failureKind, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../../src/issuers/acme/problem.js';
import { acmeGet, commonJsExports, loadOnce, onAcmeExchange, recordExchanges, type AcmeClientModule, type AcmeExchange } from '../../../src/issuers/acme/transport.js';

describe('problem documents', () => {
  it('shows the CA detail, the short type and the status, and subproblems', () => {
    expect(describeProblem({ type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'blocked-domain.example is forbidden', status: 400 })).toBe(
      'blocked-domain.example is forbidden (rejectedIdentifier, HTTP 400)',
    );
    expect(
      describeProblem({
        type: 'urn:ietf:params:acme:error:compound',
        detail: 'two problems',
        subproblems: [{ identifier: { type: 'dns', value: 'a.example' }, detail: 'CAA forbids' }],
      }, 403),
    ).toBe('two problems (compound, HTTP 403); a.example: CAA forbids');
    expect(describeProblem({})).toBe('no detail given');
  });

  it.each<[number | undefined, string | undefined, string]>([
    [undefined, undefined, 'transient'],
    [429, undefined, 'rateLimited'],
    [403, 'urn:ietf:params:acme:error:rateLimited', 'rateLimited'],
    [503, undefined, 'transient'],
    [400, 'urn:ietf:params:acme:error:badNonce', 'transient'],
    [400, 'urn:ietf:params:acme:error:malformed', 'final'],
    [403, 'urn:ietf:params:acme:error:unauthorized', 'final'],
    [404, undefined, 'final'],
  ])('HTTP %s %s is %s', (status, type, kind) => {
    expect(failureKind(status, type)).toBe(kind);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('caps what a CA may ask for at a day, and never returns a number a Date cannot hold', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('999999999999999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
    const retryAt = new Date(now + (parseRetryAfter('1e400', now) ?? 0));
    expect(Number.isNaN(retryAt.getTime())).toBe(false);
  });
});

describe('classifying what acme-client threw', () => {
  const base = { method: 'POST', url: 'https://ca/x', action: 'order' as const, durationMs: 1 };
  it('by the last failed exchange: kind, CA text, Retry-After', () => {
    const err = classifyAcmeFailure('creating the order', new Error('rate'), [
      { ...base, status: 200 },
      { ...base, status: 429, retryAfter: '30', problem: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders' } },
    ], 0);
    expect(err).toBeInstanceOf(AcmeError);
    expect(err).toMatchObject({ kind: 'rateLimited', message: 'creating the order: too many new orders (rateLimited, HTTP 429)', details: { status: 429, retryAfterMs: 30_000 } });
  });

  it('a network failure is transient and says where', () => {
    const err = classifyAcmeFailure('reading order', new TypeError('x'), [{ ...base, error: 'connect ECONNREFUSED 127.0.0.1:1' }], 0);
    expect(err).toMatchObject({ kind: 'transient', message: 'reading order: POST https://ca/x: connect ECONNREFUSED 127.0.0.1:1' });
  });

  it('acme-client refusing on its own is final', () => {
    expect(classifyAcmeFailure('x', new Error('Unable to download certificate, URL not found'), [{ ...base, status: 200 }], 0)).toMatchObject({ kind: 'final' });
  });
});

describe('loading acme-client on first use', () => {
  it("finds its exports under `default` (the bundle's chunk exports nothing else) and by name (Node's loader)", async () => {
    const namespace = await import('acme-client');
    const bundled = { default: namespace.default } as unknown as AcmeClientModule;
    for (const m of [commonJsExports(bundled), commonJsExports(namespace)]) {
      expect(typeof m.Client).toBe('function');
      expect(typeof m.axios.get).toBe('function');
    }
  });
});

describe('the ACME transport', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/limited') {
        res.writeHead(429, { 'Content-Type': 'application/problem+json', 'Retry-After': '7' });
        res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ newNonce: 'n', newAccount: 'a', newOrder: 'o' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('records every exchange with its action for the metric, without sleeping on 429', async () => {
    const seen: AcmeExchange[] = [];
    const off = onAcmeExchange((e) => seen.push(e));
    const ok = await recordExchanges('directory', () => acmeGet(`${base}/dir`));
    const limited = await recordExchanges('renewal_info', () => acmeGet(`${base}/limited`));
    off();
    expect(ok).toMatchObject({ ok: true, value: { status: 200 } });
    expect(limited).toMatchObject({ ok: true, value: { status: 429, headers: { 'retry-after': '7' } } });
    expect(seen.map((e) => [e.action, e.status])).toEqual([
      ['directory', 200],
      ['renewal_info', 429],
    ]);
    expect(seen[1]?.problem).toMatchObject({ detail: 'slow down' });
  });

  it('keeps the network error when there is no response', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const result = await recordExchanges('directory', () => acmeGet(`http://127.0.0.1:${port}/dir`));
    expect(result.ok).toBe(false);
    expect(result.exchanges).toHaveLength(1);
    expect(result.exchanges[0]?.error).toContain('ECONNREFUSED');
    const classified = result.ok ? undefined : classifyAcmeFailure('fetching', result.error, result.exchanges, 0);
    expect(classified?.kind).toBe('transient');
    expect(classified?.message).toContain('ECONNREFUSED');
  });
});

describe('loadOnce', () => {
  it('shares one load among callers, and forgets a failed one so the next caller tries again', async () => {
    let calls = 0;
    const load = loadOnce(async () => {
      calls++;
      await Promise.resolve();
      if (calls === 1) throw new Error('not installed');
      return `module ${calls}`;
    });
    const [first, second] = await Promise.allSettled([load(), load()]);
    expect(first).toMatchObject({ status: 'rejected', reason: { message: 'not installed' } });
    expect(second).toMatchObject({ status: 'rejected' });
    expect(calls).toBe(1);
    expect(await load()).toBe('module 2');
    expect(await load()).toBe('module 2');
    expect(calls).toBe(2);
  });
});
