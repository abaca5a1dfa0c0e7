import { Opcode, RRClass, RRType, Writer, encodeHeader, encodeRecord, encodeTxt, type ResourceRecord } from './wire.js';

// RFC 2136 UPDATE messages: the zone section names the zone, the update
// section adds or deletes records (class IN adds, NONE deletes one record,
// ANY deletes a whole RRset). No prerequisites are sent.

export type UpdateOperation =
  | { op: 'add'; name: string; ttl: number; txt: readonly string[] }
  /** Deletes exactly this TXT record, leaving others at the name (another challenge's value) alone. */
  | { op: 'delete'; name: string; txt: readonly string[] }
  | { op: 'deleteRRset'; name: string; type: number };

export function updateRecord(u: UpdateOperation): ResourceRecord {
  switch (u.op) {
    case 'add':
      return { name: u.name, type: RRType.TXT, class: RRClass.IN, ttl: u.ttl, data: encodeTxt(u.txt) };
    case 'delete':
      return { name: u.name, type: RRType.TXT, class: RRClass.NONE, ttl: 0, data: encodeTxt(u.txt) };
    case 'deleteRRset':
      return { name: u.name, type: u.type, class: RRClass.ANY, ttl: 0, data: new Uint8Array(0) };
  }
}

/** An unsigned UPDATE for `zone` (sign it with tsig.signMessage before sending). */
export function buildUpdate(id: number, zone: string, operations: readonly UpdateOperation[]): Uint8Array {
  const w = new Writer();
  encodeHeader(
    w,
    { id, response: false, opcode: Opcode.UPDATE, authoritative: false, truncated: false, recursionDesired: false, recursionAvailable: false, rcode: 0 },
    [1, 0, operations.length, 0],
  );
  w.name(zone).u16(RRType.SOA).u16(RRClass.IN);
  for (const op of operations) encodeRecord(w, updateRecord(op));
  return w.done();
}

/** A standard query; recursion is not desired: the self-check asks the authoritative server itself. */
export function buildQuery(id: number, name: string, type: number, recursionDesired = false): Uint8Array {
  const w = new Writer();
  encodeHeader(
    w,
    { id, response: false, opcode: Opcode.QUERY, authoritative: false, truncated: false, recursionDesired, recursionAvailable: false, rcode: 0 },
    [1, 0, 0, 0],
  );
  w.name(name).u16(type).u16(RRClass.IN);
  return w.done();
}
