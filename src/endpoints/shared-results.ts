import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import type { EndpointResult } from './results.js';

// How one replica's probe results travel to the leader: a gzipped JSON
// document in a ConfigMap of the operator's namespace, one per replica.
// Pure: encode within a size bound, decode and check the shape.

/** Below the API server's 1 MiB object limit, with room for metadata. */
export const MAX_SHARED_BYTES = 900 * 1024;

/** Results decoded from one replica's ConfigMap. */
export interface SharedResults {
  sender: string;
  /** When the sender wrote it (ms since the epoch). */
  at: number;
  results: Map<string, EndpointResult>;
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

const documentShape = z.object({
  v: z.literal(1),
  sender: z.string().min(1),
  at: z.number(),
  results: z.array(z.tuple([z.string(), resultShape])),
});

export interface Encoded {
  data: Buffer;
  /** Results left out to stay within maxBytes (the latest-probed are kept). */
  dropped: number;
}

function pack(sender: string, at: number, entries: readonly (readonly [string, EndpointResult])[]): Buffer {
  return gzipSync(JSON.stringify({ v: 1, sender, at, results: entries }));
}

/**
 * The document for `entries`, gzipped. Past maxBytes, the results probed
 * longest ago are left out (halving until it fits): the leader keeps its
 * last copy of those, or has none until the set shrinks.
 */
export function encodeSharedResults(sender: string, at: number, entries: readonly (readonly [string, EndpointResult])[], maxBytes = MAX_SHARED_BYTES): Encoded {
  let data = pack(sender, at, entries);
  if (data.length <= maxBytes) return { data, dropped: 0 };
  const newestFirst = [...entries].sort((a, b) => b[1].probedAt - a[1].probedAt);
  let keep = newestFirst.length;
  while (data.length > maxBytes && keep > 0) {
    keep = Math.floor(keep / 2);
    data = pack(sender, at, newestFirst.slice(0, keep));
  }
  return { data, dropped: entries.length - keep };
}

/** The document, or an error message saying why it cannot be read. */
export function decodeSharedResults(data: Buffer): SharedResults | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(data, { maxOutputLength: 64 * 1024 * 1024 }).toString('utf8'));
  } catch (err) {
    return { error: `not gzipped JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const parsed = documentShape.safeParse(json);
  if (!parsed.success) return { error: `unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  // The checked fields are those of EndpointResult; the passthrough keeps the optional ones the leader only carries.
  const results = new Map(parsed.data.results.map(([k, r]) => [k, r as EndpointResult]));
  return { sender: parsed.data.sender, at: parsed.data.at, results };
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
