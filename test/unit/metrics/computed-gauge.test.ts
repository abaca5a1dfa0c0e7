import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ComputedGauge, createRegistry, writeMetrics } from '../../../src/metrics/registry.js';

// A gauge computed at scrape time: each scrape shows exactly what the source
// says then, escaped like any gauge, and keeps nothing in between.

function gauge(source: () => { namespace: string; name: string; value: number }[]) {
  const registry = new Registry();
  const metric = new ComputedGauge({ name: 'test_expiry_seconds', help: 'A test gauge.', labelNames: ['namespace', 'name'], registers: [registry] }, (emit) => {
    for (const s of source()) emit({ namespace: s.namespace, name: s.name }, s.value);
  });
  return { registry, metric };
}

describe('ComputedGauge', () => {
  it('renders what the source holds at each scrape: a series gone from it is gone from the next scrape', async () => {
    let rows = [
      { namespace: 'a', name: 'one', value: 1 },
      { namespace: 'b', name: 'two', value: 2.5 },
    ];
    const { registry } = gauge(() => rows);
    expect(await registry.metrics()).toBe(
      '# HELP test_expiry_seconds A test gauge.\n# TYPE test_expiry_seconds gauge\ntest_expiry_seconds{namespace="a",name="one"} 1\ntest_expiry_seconds{namespace="b",name="two"} 2.5\n',
    );
    rows = [{ namespace: 'b', name: 'two', value: 3 }];
    expect(await registry.metrics()).toBe('# HELP test_expiry_seconds A test gauge.\n# TYPE test_expiry_seconds gauge\ntest_expiry_seconds{namespace="b",name="two"} 3\n');
  });

  it('escapes hostile label values as a plain gauge does', async () => {
    const { registry } = gauge(() => [{ namespace: 'x', name: 'a"b\\c\nd', value: 0 }]);
    expect(await registry.metrics()).toContain('test_expiry_seconds{namespace="x",name="a\\"b\\\\c\\nd"} 0\n');
  });

  it('keeps no series between scrapes: its own label map stays empty', async () => {
    const { registry, metric } = gauge(() => [{ namespace: 'a', name: 'one', value: 1 }]);
    await registry.metrics();
    const values = await metric.get();
    expect(values.values).toHaveLength(1);
    expect(values.type).toBe('gauge');
    // The Gauge's own store (what set() fills) holds nothing: the samples were computed, not stored.
    expect(Object.keys((metric as unknown as { hashMap: object }).hashMap)).toEqual([]);
  });
});

describe('writeMetrics', () => {
  it('writes the same bytes as registry.metrics(), one metric at a time', async () => {
    const registry = createRegistry();
    new Counter({ name: 'test_requests_total', help: 'Requests.', labelNames: ['code'], registers: [registry] }).inc({ code: '200' }, 3);
    new ComputedGauge({ name: 'test_expiry_seconds', help: 'A test gauge.', labelNames: ['name'], registers: [registry] }, (emit) => {
      emit({ name: 'a"b' }, 1);
      emit({ name: 'c' }, 2);
    });
    const writes: string[] = [];
    await writeMetrics(registry, (text) => {
      writes.push(text);
    });
    // Process metrics (CPU seconds, memory) move between two renders: compare the metric names and our own lines.
    const whole = await registry.metrics();
    const names = (text: string) => text.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(names(writes.join(''))).toEqual(names(whole));
    // Each metric, the blank line between two, and the last newline.
    expect(writes.length).toBe(2 * registry.getMetricsAsArray().length);
    expect(writes.join('')).toContain('\n\n# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\ntest_requests_total{code="200"} 3\n\n');
    expect(writes.join('').endsWith('test_expiry_seconds{name="a\\"b"} 1\ntest_expiry_seconds{name="c"} 2\n')).toBe(true);
  });

  it('is byte for byte registry.metrics() when nothing moves in between', async () => {
    const registry = new Registry();
    new Counter({ name: 'test_a_total', help: 'A.', registers: [registry] }).inc();
    new ComputedGauge({ name: 'test_b', help: 'B.', labelNames: ['x'], registers: [registry] }, (emit) => emit({ x: '1' }, 5));
    let text = '';
    await writeMetrics(registry, (t) => {
      text += t;
    });
    expect(text).toBe(await registry.metrics());
  });

  it('writes a large computed gauge in chunks, as prom-client renders it: escapes, no labels, Nan and infinities', async () => {
    const registry = new Registry();
    const rows = Array.from({ length: 5000 }, (_, i) => ({ namespace: `ns-${i % 7}`, name: i % 11 === 0 ? `odd"\\name\n${i}` : `cert-${i}`, value: i * 1.5 }));
    new ComputedGauge({ name: 'test_many', help: 'Many\\ lines\nhere.', labelNames: ['namespace', 'name'], registers: [registry] }, (emit) => {
      for (const r of rows) emit({ namespace: r.namespace, name: r.name }, r.value);
      emit({}, Number.NaN);
      emit({ name: 'up' }, Number.POSITIVE_INFINITY);
      emit({ name: 'down' }, Number.NEGATIVE_INFINITY);
    });
    const writes: string[] = [];
    await writeMetrics(registry, (text) => {
      writes.push(text);
    });
    expect(writes.join('')).toBe(await registry.metrics());
    const chunks = writes.filter((w) => w.length > 1);
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.length).toBeLessThan(17_000);
  });

  it('waits for a write that asks it to before it ends (a slow scraper)', async () => {
    const registry = new Registry();
    new ComputedGauge({ name: 'test_slow', help: 'Slow.', labelNames: ['i'], registers: [registry] }, (emit) => {
      for (let i = 0; i < 3000; i++) emit({ i: String(i) }, i);
    });
    const releases: (() => void)[] = [];
    let finished = false;
    const done = writeMetrics(registry, (text) =>
      text.length > 1 ? new Promise<void>((resolve) => releases.push(resolve)) : undefined,
    ).then(() => {
      finished = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(releases.length).toBeGreaterThan(1);
    expect(finished).toBe(false);
    for (const release of releases) release();
    await done;
    expect(finished).toBe(true);
  });
});

