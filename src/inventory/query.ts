import { parseDuration } from '../api/duration.js';
import { type Inventory, type InventoryEntry, type Location, MANAGED_VALUES, type Managed, type ProblemId, isProblemId, locationName } from './model.js';

// Filters shared by `/inventory?namespace=&expiringWithin=&problem=&managed=`
// and `certkeeper inventory -n NS --expiring-within 30d --problem expired`.

export interface InventoryQuery {
  /** Only locations in this namespace (and entries that have one). */
  namespace?: string | undefined;
  /** Only certificates that expire within this many ms from now (expired ones included). */
  expiringWithinMs?: number | undefined;
  /** Only entries with at least one of these problems. */
  problems?: readonly ProblemId[] | undefined;
  managed?: readonly Managed[] | undefined;
}

export class QueryError extends Error {}

/** Go durations plus days and weeks, which is how people say certificate lifetimes: "30d", "2w", "1d12h", "720h". */
export function parseAge(text: string): number {
  const trimmed = text.trim();
  const m = /^(?:(\d+)w)?(?:(\d+)d)?(.*)$/.exec(trimmed);
  const weeks = Number(m?.[1] ?? 0);
  const days = Number(m?.[2] ?? 0);
  const rest = m?.[3] ?? '';
  if (trimmed === '' || (rest === '' && m?.[1] === undefined && m?.[2] === undefined)) throw new QueryError(`"${text}" is not a duration: use e.g. "30d", "2w", "72h"`);
  let restMs = 0;
  if (rest !== '') {
    try {
      restMs = parseDuration(rest);
    } catch {
      throw new QueryError(`"${text}" is not a duration: use e.g. "30d", "2w", "72h"`);
    }
  }
  return (weeks * 7 + days) * 86_400_000 + restMs;
}

function list(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

export function parseProblems(values: readonly string[]): ProblemId[] {
  return list(values).map((v) => {
    if (!isProblemId(v)) throw new QueryError(`unknown problem "${v}"`);
    return v;
  });
}

export function parseManaged(values: readonly string[]): Managed[] {
  return list(values).map((v) => {
    if (!(MANAGED_VALUES as readonly string[]).includes(v)) throw new QueryError(`unknown managed value "${v}": use ${MANAGED_VALUES.join(', ')}`);
    return v as Managed;
  });
}

/** From URL search parameters; throws QueryError naming the bad parameter. */
export function queryFromSearchParams(params: URLSearchParams): InventoryQuery {
  const namespace = params.get('namespace') ?? undefined;
  const within = params.get('expiringWithin') ?? params.get('expiring-within') ?? undefined;
  const problems = params.getAll('problem');
  const managed = params.getAll('managed');
  return {
    ...(namespace === undefined || namespace === '' ? {} : { namespace }),
    ...(within === undefined || within === '' ? {} : { expiringWithinMs: parseAge(within) }),
    ...(problems.length === 0 ? {} : { problems: parseProblems(problems) }),
    ...(managed.length === 0 ? {} : { managed: parseManaged(managed) }),
  };
}

function restrictToNamespace(e: InventoryEntry, namespace: string): InventoryEntry | undefined {
  const locations = e.locations.filter((l: Location) => l.namespace === namespace);
  if (locations.length === 0) return undefined;
  if (locations.length === e.locations.length) return e;
  const names = new Set(locations.map(locationName));
  return { ...e, locations, problems: e.problems.filter((p) => p.location === undefined || names.has(p.location)) };
}

/** `now` for expiringWithin: default when the inventory was built. */
export function filterInventory(inventory: Inventory, query: InventoryQuery, now = inventory.generatedAt.getTime()): Inventory {
  const entries: InventoryEntry[] = [];
  for (const original of inventory.entries) {
    const e = query.namespace === undefined ? original : restrictToNamespace(original, query.namespace);
    if (e === undefined) continue;
    if (query.expiringWithinMs !== undefined && (e.certificate === undefined || e.certificate.notAfter.getTime() - now > query.expiringWithinMs)) continue;
    if (query.problems !== undefined && !e.problems.some((p) => query.problems?.includes(p.id))) continue;
    if (query.managed !== undefined && !query.managed.includes(e.managedBy.managed)) continue;
    entries.push(e);
  }
  const postQuantum = inventory.postQuantum?.filter((r) => query.namespace === undefined || r.namespace === query.namespace);
  return { generatedAt: inventory.generatedAt, validUntil: inventory.validUntil, entries, ...(postQuantum === undefined ? {} : { postQuantum }) };
}
