import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// Reading kube-apiserver's audit log (JSON lines, one event per request stage)
// as it grows, and counting one user's requests by verb and resource.

/** The fields of an audit.k8s.io/v1 Event the bench looks at. */
export interface AuditEvent {
  auditID: string;
  stage: string;
  verb: string;
  requestURI: string;
  username: string | undefined;
  impersonatedUsername: string | undefined;
  resource: string | undefined;
  subresource: string | undefined;
  code: number | undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** One line of the log, or undefined when it is not an audit event. */
export function parseAuditLine(line: string): AuditEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const event = record(raw);
  const auditID = text(event?.auditID);
  const stage = text(event?.stage);
  const verb = text(event?.verb);
  if (event === undefined || auditID === undefined || stage === undefined || verb === undefined) return undefined;
  const objectRef = record(event.objectRef);
  const code = record(event.responseStatus)?.code;
  return {
    auditID,
    stage,
    verb,
    requestURI: text(event.requestURI) ?? '',
    username: text(record(event.user)?.username),
    impersonatedUsername: text(record(event.impersonatedUser)?.username),
    resource: text(objectRef?.resource),
    subresource: text(objectRef?.subresource),
    code: typeof code === 'number' ? code : undefined,
  };
}

/** "create secrets", "patch certificates/status", "get /healthz". */
export function verbResource(event: AuditEvent): string {
  if (event.resource === undefined) return `${event.verb} ${event.requestURI.split('?')[0] ?? event.requestURI}`;
  return `${event.verb} ${event.resource}${event.subresource === undefined ? '' : `/${event.subresource}`}`;
}

export interface RequestCounts {
  total: number;
  /** "verb resource[/subresource]" -> requests, most frequent first. */
  byVerbResource: Record<string, number>;
  /** HTTP status -> requests (watches still open count under their first stage's code, usually 200). */
  byCode: Record<string, number>;
}

function sortedCounts(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

export function countRequests(events: readonly AuditEvent[]): RequestCounts {
  const byVerbResource = new Map<string, number>();
  const byCode = new Map<string, number>();
  for (const event of events) {
    const key = verbResource(event);
    byVerbResource.set(key, (byVerbResource.get(key) ?? 0) + 1);
    const code = String(event.code ?? 'none');
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }
  return { total: events.length, byVerbResource: sortedCounts(byVerbResource), byCode: sortedCounts(byCode) };
}

/**
 * Follows the audit log from its start and hands out each request of one
 * (impersonated) user once: a watch logs ResponseStarted when it opens and
 * ResponseComplete when it ends, possibly in a later phase; only its first
 * stage counts, in the phase that saw it.
 */
export class AuditFollower {
  private position = 0;
  private partial: Buffer = Buffer.alloc(0);
  private readonly seen = new Set<string>();
  /** Lines that did not parse (should stay 0; a torn line is kept until its end arrives). */
  unparsed = 0;

  constructor(
    private readonly path: string,
    private readonly username: string,
  ) {}

  /** The user's requests whose first stage was logged since the last call. */
  readNew(): AuditEvent[] {
    const lines = this.readNewLines();
    const found: AuditEvent[] = [];
    for (const line of lines) {
      if (line.trim() === '') continue;
      const event = parseAuditLine(line);
      if (event === undefined) {
        this.unparsed += 1;
        continue;
      }
      if ((event.impersonatedUsername ?? event.username) !== this.username) continue;
      if (this.seen.has(event.auditID)) continue;
      this.seen.add(event.auditID);
      found.push(event);
    }
    return found;
  }

  private readNewLines(): string[] {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const chunks: Buffer[] = [];
    try {
      const size = fstatSync(fd).size;
      while (this.position < size) {
        const buffer = Buffer.alloc(Math.min(4 << 20, size - this.position));
        const read = readSync(fd, buffer, 0, buffer.length, this.position);
        if (read === 0) break;
        chunks.push(buffer.subarray(0, read));
        this.position += read;
      }
    } finally {
      closeSync(fd);
    }
    const bytes = Buffer.concat([this.partial, ...chunks]);
    const end = bytes.lastIndexOf(0x0a);
    // Whatever follows the last newline is a line still being written.
    this.partial = Buffer.from(bytes.subarray(end + 1));
    return end < 0 ? [] : bytes.subarray(0, end).toString('utf8').split('\n');
  }
}
