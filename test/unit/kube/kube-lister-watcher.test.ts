import type { ServerResponse } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realClock } from '../../../src/clock.js';
import { statusCodeOf } from '../../../src/kube/errors.js';
import { Informer } from '../../../src/kube/informer.js';
import { kubeListerWatcher, resourcePath } from '../../../src/kube/kube-lister-watcher.js';
import type { WatchEvent } from '../../../src/kube/lister-watcher.js';
import { flushPromises } from '../../support/fake-clock.js';
import { FakeApiServer, json, statusBody } from './fake-api-server.js';
import { obj, silentLog, type TestObject } from './fake-lister-watcher.js';

const api = new FakeApiServer();
let kc: KubeConfig;

beforeAll(async () => {
  kc = await api.start();
});
afterAll(() => api.stop());

function streamLines(res: ServerResponse, events: unknown[], end = true): void {
  res.writeHead(200, { 'Content-Type': 'application/json' });
  for (const e of events) res.write(`${JSON.stringify(e)}\n`);
  if (end) res.end();
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('resourcePath', () => {
  it.each([
    { loc: { version: 'v1', plural: 'secrets' }, want: '/api/v1/secrets' },
    { loc: { group: '', version: 'v1', plural: 'secrets', namespace: 'ns' }, want: '/api/v1/namespaces/ns/secrets' },
    { loc: { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'certificates' }, want: '/apis/certkeeper.dev/v1alpha1/certificates' },
    { loc: { group: 'certkeeper.dev', version: 'v1alpha1', plural: 'certificates', namespace: 'a' }, want: '/apis/certkeeper.dev/v1alpha1/namespaces/a/certificates' },
  ])('$want', ({ loc, want }) => {
    expect(resourcePath(loc)).toBe(want);
  });
});

describe('kubeListerWatcher', () => {
  const lw = () => kubeListerWatcher<TestObject>(kc, '/api/v1/secrets');

  it('lists a page with limit, continue and selectors, authenticated', async () => {
    api.handler = (_req, res) => json(res, 200, { kind: 'SecretList', metadata: { resourceVersion: '42', continue: 'next' }, items: [obj('a', '40')] });
    const page = await lw().list({ limit: 2, continue: 'tok', fieldSelector: 'type=kubernetes.io/tls', labelSelector: 'app=x' }, new AbortController().signal);
    expect(page).toEqual({ items: [obj('a', '40')], resourceVersion: '42', continue: 'next' });
    const req = api.requests.at(-1);
    expect(req?.path).toBe('/api/v1/secrets');
    expect(Object.fromEntries(req?.query ?? [])).toEqual({ limit: '2', continue: 'tok', fieldSelector: 'type=kubernetes.io/tls', labelSelector: 'app=x' });
    expect(req?.headers.authorization).toBe('Bearer test-token');
  });

  it('decodes a page whose multi-byte characters are split across chunks', async () => {
    const item = { ...obj('a', '40'), data: { note: 'ünïcödé €𝄞'.repeat(50) } };
    const body = Buffer.from(JSON.stringify({ kind: 'SecretList', metadata: { resourceVersion: '42' }, items: [item] }));
    // Cut inside a multi-byte character, the second part sent later: two chunks for the client.
    const cut = body.indexOf(Buffer.from('€')) + 1;
    api.handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(body.subarray(0, cut));
      setTimeout(() => res.end(body.subarray(cut)), 50);
    };
    const page = await lw().list({ limit: 2 }, new AbortController().signal);
    expect(page.items).toEqual([item]);
  });

  it('rejects with the status code and server message on an expired continue token', async () => {
    api.handler = (_req, res) => json(res, 410, statusBody(410, 'Expired', 'The provided continue parameter is too old'));
    const failure = await lw().list({ limit: 2, continue: 'old' }, new AbortController().signal).catch((e: unknown) => e);
    expect(statusCodeOf(failure)).toBe(410);
    expect(String(failure)).toContain('The provided continue parameter is too old');
  });

  it('streams watch events: objects, bookmarks and ERROR statuses', async () => {
    api.handler = (_req, res) =>
      streamLines(res, [
        { type: 'ADDED', object: obj('a', '43') },
        { type: 'BOOKMARK', object: { kind: 'Secret', metadata: { resourceVersion: '50' } } },
        { type: 'ERROR', object: statusBody(410, 'Expired', 'too old resource version') },
      ]);
    const events = await collect(
      lw().watch({ resourceVersion: '42', timeoutSeconds: 300, allowWatchBookmarks: true, fieldSelector: 'type=kubernetes.io/tls' }, new AbortController().signal),
    );
    expect(events).toEqual<WatchEvent<TestObject>[]>([
      { type: 'ADDED', object: obj('a', '43') },
      { type: 'BOOKMARK', resourceVersion: '50' },
      { type: 'ERROR', status: { code: 410, reason: 'Expired', message: 'too old resource version' } },
    ]);
    expect(Object.fromEntries(api.requests.at(-1)?.query ?? [])).toEqual({
      watch: 'true',
      resourceVersion: '42',
      timeoutSeconds: '300',
      allowWatchBookmarks: 'true',
      fieldSelector: 'type=kubernetes.io/tls',
    });
  });

  it('throws a 410 when the watch itself is refused as too old', async () => {
    api.handler = (_req, res) => json(res, 410, statusBody(410, 'Gone', 'too old'));
    const failure = await collect(lw().watch({ resourceVersion: '1', timeoutSeconds: 5, allowWatchBookmarks: true }, new AbortController().signal)).catch(
      (e: unknown) => e,
    );
    expect(statusCodeOf(failure)).toBe(410);
  });

  it('ends an open watch promptly when aborted', async () => {
    api.handler = (_req, res) => streamLines(res, [{ type: 'ADDED', object: obj('a', '43') }], false);
    const abort = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const ev of lw().watch({ resourceVersion: '42', timeoutSeconds: 300, allowWatchBookmarks: true }, abort.signal)) {
        seen.push(ev.type);
        abort.abort(new Error('stall'));
      }
    })().catch(() => undefined);
    await done;
    expect(seen).toEqual(['ADDED']);
  });

  it('a consumer that stops early leaves no uncaught "aborted" behind', async () => {
    // The server keeps streaming; breaking out destroys the request mid-response.
    let timer: NodeJS.Timeout | undefined;
    api.handler = (_req, res) => {
      streamLines(res, [{ type: 'ADDED', object: obj('a', '43') }], false);
      timer = setInterval(() => res.write(`${JSON.stringify({ type: 'ADDED', object: obj('b', '44') })}\n`), 5);
      res.on('close', () => clearInterval(timer));
    };
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => {
      uncaught.push(err);
    };
    process.on('uncaughtException', onUncaught);
    try {
      for await (const ev of lw().watch({ resourceVersion: '42', timeoutSeconds: 300, allowWatchBookmarks: true }, new AbortController().signal)) {
        expect(ev.type).toBe('ADDED');
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      process.off('uncaughtException', onUncaught);
      clearInterval(timer);
    }
    expect(uncaught).toEqual([]);
  });

  it('drives an Informer end to end over HTTP', async () => {
    api.handler = (req, res) => {
      if (req.query.get('watch') === 'true') return streamLines(res, [{ type: 'MODIFIED', object: obj('a', '61') }], false);
      json(res, 200, { metadata: { resourceVersion: '60' }, items: [obj('a', '59')] });
    };
    const informer = new Informer<TestObject>({ name: 'secrets', listerWatcher: lw(), clock: realClock, log: silentLog });
    const updated = new Promise<string>((resolve) => informer.on('update', (_k, o) => resolve(o.metadata.resourceVersion)));
    informer.start();
    await informer.waitForSync();
    expect(await updated).toBe('61');
    await flushPromises(); // the cache changes right after the handler returned
    expect(informer.get('default/a')?.metadata.resourceVersion).toBe('61');
    await informer.stop();
    expect(informer.state).toBe('stopped');
  });
});
