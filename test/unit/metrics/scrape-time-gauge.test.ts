import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ScrapeTimeGauge } from '../../../src/metrics/registry.js';

// Gauges computed at scrape time keep no series between scrapes: at 10,000
// Certificates those are ~100,000 label objects nothing reads.

/** How many series the gauge holds right now (prom-client keeps them in `hashMap`). */
function held(gauge: ScrapeTimeGauge): number {
  return Object.keys((gauge as unknown as { hashMap: Record<string, unknown> }).hashMap).length;
}

describe('ScrapeTimeGauge', () => {
  it('serves what collect() set at each scrape and holds none of it afterwards', async () => {
    const registry = new Registry();
    let names = ['a', 'b', 'c'];
    const gauge = new ScrapeTimeGauge({
      name: 'demo_series',
      help: 'demo',
      labelNames: ['name'],
      registers: [registry],
      collect() {
        this.reset();
        names.forEach((name, i) => this.set({ name }, i));
      },
    });
    const first = await registry.metrics();
    expect(first).toContain('demo_series{name="a"} 0');
    expect(first).toContain('demo_series{name="c"} 2');
    expect(held(gauge)).toBe(0);

    names = ['d'];
    const second = await registry.metrics();
    expect(second).toContain('demo_series{name="d"} 0');
    expect(second).not.toContain('name="a"');
    expect(held(gauge)).toBe(0);
    expect((await registry.getMetricsAsJSON())[0]?.values).toEqual([{ value: 0, labels: { name: 'd' } }]);
    expect(held(gauge)).toBe(0);
  });
});
