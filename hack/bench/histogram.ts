import { parsePrometheusText } from './metrics.js';

// Quantiles of a Prometheus histogram from /metrics, between two scrapes:
// the buckets of every series of the family are summed, the earlier scrape's
// counts subtracted, and the quantile interpolated inside its bucket the way
// PromQL's histogram_quantile does.

/** Cumulative count per upper bound (`le`), summed over the family's series. */
export type Buckets = Map<number, number>;

export function histogramBuckets(metricsText: string, family: string): Buckets {
  const buckets: Buckets = new Map();
  for (const sample of parsePrometheusText(metricsText)) {
    if (sample.name !== `${family}_bucket`) continue;
    const le = sample.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
    if (Number.isNaN(le)) continue;
    buckets.set(le, (buckets.get(le) ?? 0) + sample.value);
  }
  return buckets;
}

export function bucketsBetween(before: Buckets, after: Buckets): Buckets {
  return new Map([...after].map(([le, count]) => [le, count - (before.get(le) ?? 0)]));
}

/** Observations in the buckets (the +Inf bucket's count). */
export function observations(buckets: Buckets): number {
  return buckets.get(Number.POSITIVE_INFINITY) ?? 0;
}

/** The q-quantile (0..1) in seconds, or undefined without observations. Beyond the last finite bound: that bound. */
export function histogramQuantile(buckets: Buckets, q: number): number | undefined {
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = observations(buckets);
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of sorted) {
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket <= 0 ? le : lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
