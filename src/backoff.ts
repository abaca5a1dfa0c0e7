// Exponential backoff with jitter, shared by the informer's reconnect loop
// and anything else that retries against the API server. Jitter spreads
// reconnect storms when the API server comes back after an outage.

export interface BackoffOptions {
  /** First delay (ms). */
  initialMs: number;
  /** Upper bound for any delay (ms), jitter included. */
  maxMs: number;
  /** Growth per attempt; 2 = doubling. */
  factor?: number;
  /** Relative spread around the nominal delay: 0.2 = ±20 %. */
  jitter?: number;
  /** Source of randomness in [0, 1); injected so tests are deterministic. */
  random?: () => number;
}

export class ExponentialBackoff {
  private attemptCount = 0;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(private readonly opts: BackoffOptions) {
    if (opts.initialMs <= 0 || opts.maxMs < opts.initialMs) {
      throw new Error(`invalid backoff bounds: initial ${opts.initialMs} ms, max ${opts.maxMs} ms`);
    }
    this.factor = opts.factor ?? 2;
    this.jitter = Math.min(Math.max(opts.jitter ?? 0.2, 0), 1);
    this.random = opts.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** The delay before the next attempt; each call counts as one more failure. */
  next(): number {
    const nominal = Math.min(this.opts.maxMs, this.opts.initialMs * this.factor ** this.attemptCount);
    this.attemptCount++;
    const spread = 1 + this.jitter * (this.random() * 2 - 1);
    return Math.round(Math.min(this.opts.maxMs, Math.max(0, nominal * spread)));
  }

  reset(): void {
    this.attemptCount = 0;
  }
}
