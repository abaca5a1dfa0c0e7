import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { EndpointResult } from './results.js';

// How one replica's probe results travel to the leader: a gzipped JSON
// document in a ConfigMap of the operator's namespace, one per replica.
// Encode within a size bound; decode and check the shape, each result only
// when it is asked for.

/** Below the API server's 1 MiB object limit, with room for metadata. */
export const MAX_SHARED_BYTES = 900 * 1024;

/**
 * One result as it arrived: its probedAt, read first, and its JSON, read
 * only when the leader has nothing as recent (a sender republishes every
 * result it owns at each change, so most arrive again unchanged).
 */
export interface SharedEntry {
  probedAt: number;
  read(): ReadResult;
}

/** A result read, or why not (not `'error' in`: a result has an error field of its own). */
export type ReadResult = { ok: true; result: EndpointResult } | { ok: false; error: string };

/** Results decoded from one replica's ConfigMap. */
export interface SharedResults {
  sender: string;
  /** When the sender wrote it (ms since the epoch). */
  at: number;
  results: Map<string, SharedEntry>;
}

// Only the fields the leader acts on are checked; the rest is carried as is.
// The ConfigMaps live in the operator's namespace, which only the operator's
// ServiceAccount may write: the check guards against a bug or an older
// replica during a rollout, not against tenants.
const resultShape = z
  .object({
    probedAt: z.number(),
    durationMs: z.number(),
    expected: z.record(z.string(), z.string().optional()),
    reachable: z.boolean(),
    since: z.number(),
    // The served leaf's facts hold Dates, which JSON turns into strings: made Dates again here.
    served: z
      .object({
        fingerprintSHA256: z.string(),
        notAfter: z.string(),
        facts: z.object({ notBefore: z.coerce.date(), notAfter: z.coerce.date() }).passthrough(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

const header = { sender: z.string().min(1), at: z.number() };
// Version 2: each result as its own JSON text beside its key and probedAt.
const documentShape = z.discriminatedUnion('v', [
  z.object({ v: z.literal(2), ...header, results: z.array(z.tuple([z.string(), z.number(), z.string()])) }),
  // Version 1 (replicas before 2026-12): each result as an object, all read at once.
  z.object({ v: z.literal(1), ...header, results: z.array(z.tuple([z.string(), z.unknown()])) }),
]);

export interface Encoded {
  data: Buffer;
  /** Results left out to stay within maxBytes (the latest-probed are kept). */
  dropped: number;
}

/**
 * Encodes a replica's results, each result's JSON made once: a replica
 * publishes all it owns at every change, and during a full scan that is
 * every couple of seconds, so most of each document was written before.
 */
export class SharedResultsEncoder {
  // Results are replaced, never changed in place (EndpointResults.record stores a new object).
  private readonly texts = new WeakMap<EndpointResult, string>();

  /**
   * The document for `entries`, gzipped. Past maxBytes, the results probed
   * longest ago are left out (halving until it fits): the leader keeps its
   * last copy of those, or has none until the set shrinks.
   */
  encode(sender: string, at: number, entries: readonly (readonly [string, EndpointResult])[], maxBytes = MAX_SHARED_BYTES): Encoded {
    let data = this.pack(sender, at, entries);
    if (data.length <= maxBytes) return { data, dropped: 0 };
    const newestFirst = [...entries].sort((a, b) => b[1].probedAt - a[1].probedAt);
    let keep = newestFirst.length;
    while (data.length > maxBytes && keep > 0) {
      keep = Math.floor(keep / 2);
      data = this.pack(sender, at, newestFirst.slice(0, keep));
    }
    return { data, dropped: entries.length - keep };
  }

  private pack(sender: string, at: number, entries: readonly (readonly [string, EndpointResult])[]): Buffer {
    const results = entries.map(([key, r]) => [key, r.probedAt, this.text(r)] as const);
    // The fastest level: a document is rewritten every couple of seconds during a scan and is far
    // below the bound (10-20 KB for 350 results); on copies of one result the default level took
    // 2.5 times as long for 14 % fewer bytes.
    return gzipSync(JSON.stringify({ v: 2, sender, at, results }), { level: zlibConstants.Z_BEST_SPEED });
  }

  private text(r: EndpointResult): string {
    let t = this.texts.get(r);
    if (t === undefined) this.texts.set(r, (t = JSON.stringify(r)));
    return t;
  }
}

function readResult(json: unknown, probedAt: number): ReadResult {
  const parsed = resultShape.safeParse(json);
  if (!parsed.success) return { ok: false, error: `unexpected result: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  if (parsed.data.probedAt !== probedAt) return { ok: false, error: 'a result whose probedAt differs from its entry' };
  // The checked fields are those of EndpointResult; the passthrough keeps the optional ones the leader only carries.
  return { ok: true, result: parsed.data as EndpointResult };
}

/** The document (its results not yet read), or an error message saying why it cannot be read. */
export function decodeSharedResults(data: Buffer): SharedResults | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(data, { maxOutputLength: 64 * 1024 * 1024 }).toString('utf8'));
  } catch (err) {
    return { error: `not gzipped JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = documentShape.safeParse(json);
  if (!parsed.success) return { error: `unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  const doc = parsed.data;
  const results = new Map<string, SharedEntry>();
  if (doc.v === 2) {
    for (const [key, probedAt, text] of doc.results) {
      results.set(key, {
        probedAt,
        read: () => {
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            return { ok: false, error: 'a result that is not JSON' };
          }
          return readResult(value, probedAt);
        },
      });
    }
  } else {
    for (const [key, value] of doc.results) {
      const probedAt = (value as { probedAt?: unknown } | null)?.probedAt;
      const p = typeof probedAt === 'number' ? probedAt : Number.NaN;
      results.set(key, { probedAt: p, read: () => readResult(value, p) });
    }
  }
  return { sender: doc.sender, at: doc.at, results };
}

/**
 * Senders whose documents can go: not a live member, and silent for longer
 * than `quietMs` (a replica that just joined may publish before the reader
 * sees its Lease; a live one writes again when it has news).
 */
export function staleSenders(docs: Iterable<{ sender: string; at: number }>, live: readonly string[], now: number, quietMs: number): string[] {
  const members = new Set(live);
  const out = new Set<string>();
  for (const d of docs) if (!members.has(d.sender) && now - d.at > quietMs) out.add(d.sender);
  return [...out].sort();
}
