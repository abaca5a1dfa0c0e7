import type { CertificateFacts } from '../model/certificate-facts.js';
import type { ProtocolVersion } from '../probe/protocols.js';
import type { PostQuantumReadiness } from '../probe/findings.js';
import type { Grade } from '../probe/grade.js';
import { TypedEmitter } from '../kube/typed-emitter.js';
import type { EndpointTarget } from './targets.js';
import { compareText } from '../text-order.js';

// The latest finding per target, and notice of the changes that matter.
// One result per target (a backend address with its SNI), replaced by each
// probe: memory grows with the number of addresses, never with time.

/** One probed backend address: where and for whom (the plan), and what its last probe found. */
export interface EndpointReading {
  target: EndpointTarget;
  result: EndpointResult;
}

export interface PolicyVerdict {
  /** Profile violations, by stable id ("protocol-not-allowed: TLSv1.0 is accepted ..."). */
  violations: { id: string; message: string }[];
}

export interface EndpointResult {
  /** Milliseconds since the epoch. */
  probedAt: number;
  durationMs: number;
  /** The Certificate fingerprints this probe was made for: a renewal makes the result outdated. */
  expected: Record<string, string | undefined>;
  /** The handshake completed (leaf checks) or some protocol version was accepted (full scans). */
  reachable: boolean;
  /** Why the probe failed, for people; no secrets in it. */
  error?: string | undefined;
  /** A short class of the failure for the error counter: connect, timeout, handshake, certificate. */
  errorReason?: string | undefined;
  /** The served leaf, when one was read. */
  served?: { fingerprintSHA256: string; notAfter: string; facts: CertificateFacts } | undefined;
  /** Full scans only. */
  grade?: Grade | undefined;
  protocols?: Partial<Record<ProtocolVersion, boolean>> | undefined;
  /** Full scans that reached TLS only: post-quantum key exchange readiness, and the group a browser's offer got. */
  postQuantum?: { readiness: PostQuantumReadiness; browserChoice?: string | undefined } | undefined;
  /** Full scans only: each policy's verdict. */
  verdicts?: Record<string, PolicyVerdict> | undefined;
  /** Since when the outcome has been what it is now (a probe that finds the same keeps it). */
  since: number;
}

/** The part of a result that matters to status, events and alerts: times and durations are left out. */
export function outcomeSignature(r: Omit<EndpointResult, 'since'>): string {
  return JSON.stringify([
    r.reachable,
    r.error ?? null,
    r.served?.fingerprintSHA256 ?? null,
    r.served?.notAfter ?? null,
    r.grade ?? null,
    Object.entries(r.expected).sort(),
    Object.entries(r.verdicts ?? {})
      .sort(([a], [b]) => compareText(a, b))
      .map(([p, v]) => [p, v.violations.map((x) => x.id + (x.message ?? ''))]),
    Object.entries(r.protocols ?? {}).sort(),
    r.postQuantum?.readiness ?? null,
  ]);
}

type ResultEvents = {
  /** The outcome changed (or a first result arrived); `prev` undefined for a first result. */
  change: [key: string, next: EndpointResult, prev: EndpointResult | undefined];
  /** The target is gone and so is its result. */
  remove: [key: string, prev: EndpointResult];
};

export class EndpointResults extends TypedEmitter<ResultEvents> {
  private readonly results = new Map<string, { result: EndpointResult; signature: string }>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {
    super();
  }

  get(key: string): EndpointResult | undefined {
    return this.results.get(key)?.result;
  }

  get size(): number {
    return this.results.size;
  }

  entries(): IterableIterator<[string, EndpointResult]> {
    const inner = this.results.entries();
    return (function* () {
      for (const [key, { result }] of inner) yield [key, result] as [string, EndpointResult];
    })();
  }

  /** Stores a probe's result; notifies only when the outcome differs from the last one. Returns whether it did. */
  record(key: string, result: Omit<EndpointResult, 'since'>): boolean {
    const signature = outcomeSignature(result);
    const prev = this.results.get(key);
    const same = prev !== undefined && prev.signature === signature;
    const stored: EndpointResult = { ...result, since: same ? prev.result.since : result.probedAt };
    this.results.set(key, { result: stored, signature });
    if (!same) this.emitQuietly('change', this.onListenerError, key, stored, prev?.result);
    return !same;
  }

  /** Forgets the results of targets not in `keep`. */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, { result }] of this.results) {
      if (keep.has(key)) continue;
      this.results.delete(key);
      this.emitQuietly('remove', this.onListenerError, key, result);
    }
  }

  clear(): void {
    this.results.clear();
  }
}
