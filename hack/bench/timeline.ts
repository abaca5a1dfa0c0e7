// Which Certificates are Ready and since when, from the events of a watch,
// and the shape of a run from those times: when the first, 10 %, 50 %, 90 %
// and the last became Ready, and how many per second. Pure.

interface ListedCondition {
  type?: string;
  status?: string;
}

/** The fields of a Certificate the tracker reads. */
export interface TrackedCertificate {
  metadata?: { name?: string };
  status?: { conditions?: ListedCondition[] };
}

export function isReady(certificate: TrackedCertificate): boolean {
  return certificate.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
}

/**
 * Ready Certificates by name, each with the time it was first seen Ready
 * (ms, the caller's clock). A Certificate that stops being Ready or is
 * deleted leaves the set, and counts again from when it is next seen Ready.
 */
export class ReadyTracker {
  private readonly readyAt = new Map<string, number>();
  /** When the count last went up: the time of the event that made the last one Ready. */
  lastRiseAt: number | undefined;

  /** One watch event (ADDED, MODIFIED, DELETED; others are ignored) or one item of a LIST (as ADDED). */
  observe(type: string, certificate: TrackedCertificate, atMs: number): void {
    const name = certificate.metadata?.name;
    if (name === undefined) return;
    if (type === 'DELETED' || ((type === 'ADDED' || type === 'MODIFIED') && !isReady(certificate))) {
      this.readyAt.delete(name);
      return;
    }
    if ((type === 'ADDED' || type === 'MODIFIED') && !this.readyAt.has(name)) {
      this.readyAt.set(name, atMs);
      this.lastRiseAt = atMs;
    }
  }

  get count(): number {
    return this.readyAt.size;
  }

  /** When each Ready Certificate became Ready, earliest first. */
  times(): number[] {
    return [...this.readyAt.values()].sort((a, b) => a - b);
  }
}

export interface Timeline {
  /** Seconds from the origin until the first, 10 %, 50 %, 90 % and the last were Ready. */
  firstSeconds: number;
  p10Seconds: number;
  p50Seconds: number;
  p90Seconds: number;
  lastSeconds: number;
  /** Became Ready in second 0, 1, 2, … after the origin. */
  perSecond: number[];
}

const round1 = (ms: number): number => Math.round(ms / 100) / 10;

/** Nearest-rank quantile of sorted values. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** The timeline of Ready times (ms) relative to `originMs`; undefined when none. */
export function timeline(times: readonly number[], originMs: number): Timeline | undefined {
  if (times.length === 0) return undefined;
  const sorted = times.map((t) => Math.max(0, t - originMs)).sort((a, b) => a - b);
  const last = sorted[sorted.length - 1] ?? 0;
  const perSecond = new Array<number>(Math.floor(last / 1000) + 1).fill(0);
  for (const t of sorted) perSecond[Math.floor(t / 1000)] = (perSecond[Math.floor(t / 1000)] ?? 0) + 1;
  return {
    firstSeconds: round1(sorted[0] ?? 0),
    p10Seconds: round1(quantile(sorted, 0.1)),
    p50Seconds: round1(quantile(sorted, 0.5)),
    p90Seconds: round1(quantile(sorted, 0.9)),
    lastSeconds: round1(last),
    perSecond,
  };
}
