import { analyseScan } from './analyse.js';
import type { ProbeFindings } from './findings.js';
import type { ProbeTarget } from './jobs/outcome.js';
import { scanEndpoint, type ScanOptions } from './scan.js';

export interface ProbeOptions extends ScanOptions {
  /** PEM trust anchors; node's bundled Mozilla roots when absent. */
  caPem?: string;
  /** The clock certificate validity is judged against. */
  now?: () => Date;
}

/** Scans one endpoint and analyses what it saw: the findings the judges and renderers take. */
export async function probeEndpoint(target: ProbeTarget, options: ProbeOptions = {}): Promise<ProbeFindings> {
  const observations = await scanEndpoint(target, options);
  return analyseScan(observations, { now: (options.now ?? (() => new Date()))(), caPem: options.caPem });
}
