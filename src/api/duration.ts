// Durations are written the way Kubernetes and cert-manager users know them:
// Go's time.ParseDuration syntax ("2160h", "1h30m", "90s"). The CRD's CEL
// rules use `duration()`, which accepts the same syntax, so the API server and
// the operator agree on what parses.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Source of the CRD `pattern` too: one or more number+unit pairs, no sign. */
export const GO_DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$';
const GO_DURATION = new RegExp(GO_DURATION_PATTERN);
const PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g;

export class DurationError extends Error {}

/** Milliseconds in a Go duration string; throws DurationError with the offending text. */
export function parseDuration(text: string): number {
  if (!GO_DURATION.test(text)) {
    throw new DurationError(`"${text}" is not a duration: use a number and a unit, e.g. "2160h", "90m", "1h30m"`);
  }
  let total = 0;
  for (const match of text.matchAll(PART)) {
    const [, amount, unit] = match;
    total += Number(amount) * (UNIT_MS[unit ?? ''] ?? Number.NaN);
  }
  if (!Number.isFinite(total)) throw new DurationError(`"${text}" is out of range`);
  return total;
}

/** A compact Go-style rendering ("2160h0m0s" is how Go prints; we drop zero parts). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${Number(s.toFixed(3))}s` : ''}`;
}
