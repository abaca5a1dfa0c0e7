import type { NamespacePostQuantum } from '../api/tlspolicy.js';
import type { Inventory, InventoryEntry, Location, Managed, Problem, ProblemId } from './model.js';

// The JSON shape of `/inventory` and `certkeeper inventory -o json`: the
// certificate's facts flattened into the entry (jq-friendly), times as
// RFC 3339, and a summary on top. Public facts only; there is no key to leak.

export interface InventoryEntryJson {
  id: string;
  fingerprintSHA256?: string;
  serialNumber?: string;
  subject?: string;
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emailAddresses?: string[];
  issuer?: string;
  isCA?: boolean;
  selfIssued?: boolean;
  notBefore?: string;
  notAfter?: string;
  /** Negative once expired. */
  expiresInSeconds?: number;
  keyAlgorithm?: string;
  keySize?: number;
  signatureAlgorithm?: string;
  error?: string;
  managed: Managed;
  managedBy: { controller?: string; resource?: string };
  locations: Location[];
  problems: Problem[];
  primaryProblem: ProblemId | 'none';
}

export interface InventoryJson {
  generatedAt: string;
  summary: {
    entries: number;
    byProblem: Partial<Record<ProblemId | 'none', number>>;
    byManaged: Partial<Record<Managed, number>>;
    /** Per namespace, the fully scanned endpoint addresses by post-quantum readiness (operator only: it holds the scans). */
    postQuantum?: NamespacePostQuantum[];
  };
  entries: InventoryEntryJson[];
}

const iso = (d: Date) => d.toISOString();

export function entryJson(e: InventoryEntry, now: Date): InventoryEntryJson {
  const c = e.certificate;
  const { managed, ...by } = e.managedBy;
  return {
    id: e.id,
    ...(c === undefined
      ? {}
      : {
          fingerprintSHA256: c.fingerprintSHA256,
          serialNumber: c.serialNumber,
          subject: c.subject,
          ...(c.commonName === undefined ? {} : { commonName: c.commonName }),
          dnsNames: c.dnsNames,
          ipAddresses: c.ipAddresses,
          uris: c.uris,
          emailAddresses: c.emailAddresses,
          issuer: c.issuer,
          isCA: c.isCA,
          selfIssued: c.selfIssued,
          notBefore: iso(c.notBefore),
          notAfter: iso(c.notAfter),
          expiresInSeconds: Math.floor((c.notAfter.getTime() - now.getTime()) / 1000),
          keyAlgorithm: c.keyAlgorithm,
          ...(c.keySize === undefined ? {} : { keySize: c.keySize }),
          signatureAlgorithm: c.signatureAlgorithm,
        }),
    ...(e.error === undefined ? {} : { error: e.error }),
    managed,
    managedBy: by,
    locations: e.locations,
    problems: e.problems,
    primaryProblem: e.primaryProblem,
  };
}

function summaryOf(inventory: Inventory): InventoryJson['summary'] {
  const byProblem: Partial<Record<ProblemId | 'none', number>> = {};
  const byManaged: Partial<Record<Managed, number>> = {};
  for (const e of inventory.entries) {
    byProblem[e.primaryProblem] = (byProblem[e.primaryProblem] ?? 0) + 1;
    byManaged[e.managedBy.managed] = (byManaged[e.managedBy.managed] ?? 0) + 1;
  }
  return { entries: inventory.entries.length, byProblem, byManaged, ...(inventory.postQuantum === undefined ? {} : { postQuantum: inventory.postQuantum }) };
}

/** `now`: the time expiresInSeconds counts from (default: when the inventory was built). */
export function inventoryJson(inventory: Inventory, now = inventory.generatedAt): InventoryJson {
  return {
    generatedAt: iso(now),
    summary: summaryOf(inventory),
    entries: inventory.entries.map((e) => entryJson(e, now)),
  };
}

/**
 * The same text as JSON.stringify(inventoryJson(...)), written in pieces of
 * about `chunkBytes`: thousands of entries never become one object graph and
 * one multi-megabyte string at once.
 */
export function writeInventoryJson(inventory: Inventory, now: Date, write: (chunk: string) => void, chunkBytes = 64 * 1024): void {
  let buffer = `{"generatedAt":${JSON.stringify(iso(now))},"summary":${JSON.stringify(summaryOf(inventory))},"entries":[`;
  inventory.entries.forEach((e, i) => {
    buffer += (i === 0 ? '' : ',') + JSON.stringify(entryJson(e, now));
    if (buffer.length >= chunkBytes) {
      write(buffer);
      buffer = '';
    }
  });
  write(`${buffer}]}`);
}
