import { describe, expect, it } from 'vitest';
import { bucketsBetween, histogramBuckets, histogramQuantile, observations } from '../../../hack/bench/histogram.js';
import { scenarioArgs } from '../../../hack/bench/scenario.js';

// The bench's reading of the operator's probe-duration histogram: summed over
// series, differenced between scrapes, quantiles interpolated like PromQL's
// histogram_quantile.

const FAMILY = 'certkeeper_endpoint_probe_duration_seconds';

function scrape(series: Record<string, number[]>, bounds = ['0.1', '0.5', '1', '+Inf']): string {
  const lines = [`# TYPE ${FAMILY} histogram`];
  for (const [labels, counts] of Object.entries(series)) {
    bounds.forEach((le, i) => lines.push(`${FAMILY}_bucket{${labels}${labels === '' ? '' : ','}le="${le}"} ${counts[i] ?? 0}`));
    lines.push(`${FAMILY}_count{${labels}} ${counts.at(-1) ?? 0}`, `${FAMILY}_sum{${labels}} 1.5`);
  }
  return `${lines.join('\n')}\n`;
}

describe('histogram quantiles from /metrics', () => {
  it('sums the buckets of every series and ignores _count, _sum and other families', () => {
    const text = `${scrape({ 'kind="leaf"': [2, 4, 4, 4], 'kind="full"': [0, 1, 5, 6] })}other_bucket{le="0.1"} 99\n`;
    const buckets = histogramBuckets(text, FAMILY);
    expect([...buckets]).toEqual([
      [0.1, 2],
      [0.5, 5],
      [1, 9],
      [Number.POSITIVE_INFINITY, 10],
    ]);
    expect(observations(buckets)).toBe(10);
  });

  it('interpolates inside the bucket that holds the rank', () => {
    // 10 observations: 2 under 0.1, 3 in (0.1, 0.5], 4 in (0.5, 1], 1 above 1.
    const buckets = histogramBuckets(scrape({ '': [2, 5, 9, 10] }), FAMILY);
    expect(histogramQuantile(buckets, 0.1)).toBeCloseTo(0.05, 10);
    expect(histogramQuantile(buckets, 0.5)).toBeCloseTo(0.1 + 0.4 * (3 / 3), 10);
    expect(histogramQuantile(buckets, 0.7)).toBeCloseTo(0.5 + 0.5 * (2 / 4), 10);
    // In the +Inf bucket: the highest finite bound, as histogram_quantile answers.
    expect(histogramQuantile(buckets, 0.95)).toBe(1);
  });

  it('measures one phase by subtracting the scrape taken before it', () => {
    const before = histogramBuckets(scrape({ '': [5, 5, 5, 5] }), FAMILY);
    const after = histogramBuckets(scrape({ '': [5, 5, 9, 9] }), FAMILY);
    const phase = bucketsBetween(before, after);
    expect(observations(phase)).toBe(4);
    expect(histogramQuantile(phase, 0.5)).toBeCloseTo(0.75, 10);
  });

  it('has no quantile without observations', () => {
    expect(histogramQuantile(histogramBuckets(scrape({ '': [0, 0, 0, 0] }), FAMILY), 0.5)).toBeUndefined();
    expect(histogramQuantile(new Map(), 0.5)).toBeUndefined();
  });
});

describe('--scenario', () => {
  it('picks its own scenario and hands on the remaining flags, in both spellings', () => {
    expect(scenarioArgs(['--scenario', 'endpoints', '--services', '5'], 'endpoints')).toEqual(['--services', '5']);
    expect(scenarioArgs(['--json', 'x', '--scenario=probe', '--runs', '3'], 'probe')).toEqual(['--json', 'x', '--runs', '3']);
    expect(scenarioArgs(['--scenario', 'inventory'], 'endpoints')).toBeUndefined();
    expect(scenarioArgs(['--count', '10'], 'endpoints')).toBeUndefined();
  });
});
