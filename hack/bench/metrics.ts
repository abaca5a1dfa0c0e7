// A few figures from the operator's own /metrics (Prometheus text format):
// its heap next to the RSS Linux reports, and how many reconciles it ran.

export interface OperatorMetrics {
  heapUsedMB: number | undefined;
  heapTotalMB: number | undefined;
  externalMB: number | undefined;
  eventLoopLagP99Ms: number | undefined;
  /** controller -> reconciles so far (every result). */
  reconciles: Record<string, number>;
  /** Certificates in the operator's inventory (sum of certkeeper_inventory_certificates). */
  inventoryCertificates: number;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match?.[1] === undefined || match[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1] !== undefined && pair[2] !== undefined) labels[pair[1]] = pair[2];
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

const MB = 1024 * 1024;

/** Undefined when /metrics does not answer (the operator is gone or busy beyond the timeout). */
export async function scrapeOperatorMetrics(baseUrl: string, timeoutMs = 5_000): Promise<OperatorMetrics | undefined> {
  let text: string;
  try {
    const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    text = await response.text();
  } catch {
    return undefined;
  }
  const samples = parsePrometheusText(text);
  const one = (name: string): number | undefined => samples.find((s) => s.name === name)?.value;
  const mb = (name: string): number | undefined => {
    const value = one(name);
    return value === undefined ? undefined : Math.round((value / MB) * 10) / 10;
  };
  const reconciles: Record<string, number> = {};
  let inventoryCertificates = 0;
  for (const s of samples) {
    if (s.name === 'certkeeper_inventory_certificates') inventoryCertificates += s.value;
    if (s.name !== 'certkeeper_reconcile_total') continue;
    const controller = s.labels.controller ?? '?';
    reconciles[controller] = (reconciles[controller] ?? 0) + s.value;
  }
  const lag = one('certkeeper_nodejs_eventloop_lag_p99_seconds');
  return {
    heapUsedMB: mb('certkeeper_nodejs_heap_size_used_bytes'),
    heapTotalMB: mb('certkeeper_nodejs_heap_size_total_bytes'),
    externalMB: mb('certkeeper_nodejs_external_memory_bytes'),
    eventLoopLagP99Ms: lag === undefined ? undefined : Math.round(lag * 1000 * 10) / 10,
    reconciles,
    inventoryCertificates,
  };
}

/** Reconciles between two scrapes, per controller. */
export function reconcilesBetween(before: OperatorMetrics | undefined, after: OperatorMetrics | undefined): Record<string, number> | undefined {
  if (before === undefined || after === undefined) return undefined;
  return Object.fromEntries(Object.entries(after.reconciles).map(([controller, n]) => [controller, n - (before.reconciles[controller] ?? 0)]));
}
