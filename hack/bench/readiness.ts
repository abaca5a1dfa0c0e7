import { Watch } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../src/api/meta.js';
import { BENCH_NAMESPACE, type BenchClients } from './fixtures.js';
import { ReadyTracker, type TrackedCertificate } from './timeline.js';

// How many bench Certificates are Ready=True: by a paginated LIST, or
// followed as it happens by a watch (ReadinessWatch).

const PAGE_SIZE = 500;

interface ListedCondition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface ListedCertificate {
  metadata?: { name?: string };
  status?: { conditions?: ListedCondition[] };
}

interface CertificatePage {
  items?: ListedCertificate[];
  metadata?: { continue?: string; resourceVersion?: string };
}

export interface NotReady {
  name: string;
  /** "Ready=False IssuanceFailed: ..." or "no Ready condition". */
  state: string;
}

export interface ReadinessSnapshot {
  total: number;
  ready: number;
  notReady: NotReady[];
}

function describe(condition: ListedCondition | undefined): string {
  if (condition === undefined) return 'no Ready condition';
  const message = condition.message === undefined ? '' : `: ${condition.message}`;
  return `Ready=${condition.status ?? '?'} ${condition.reason ?? ''}${message}`.trim();
}

/** The bench Certificates, page by page (one snapshot: the pages continue the first one's). */
async function* certificatePages(clients: BenchClients): AsyncGenerator<CertificatePage> {
  let continueToken: string | undefined;
  do {
    const page = (await clients.customObjects.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: BENCH_NAMESPACE,
      plural: 'certificates',
      limit: PAGE_SIZE,
      _continue: continueToken,
    })) as CertificatePage;
    yield page;
    const token = page.metadata?.continue;
    continueToken = token === undefined || token === '' ? undefined : token;
  } while (continueToken !== undefined);
}

export async function readiness(clients: BenchClients): Promise<ReadinessSnapshot> {
  const snapshot: ReadinessSnapshot = { total: 0, ready: 0, notReady: [] };
  for await (const page of certificatePages(clients)) {
    for (const item of page.items ?? []) {
      snapshot.total += 1;
      const condition = item.status?.conditions?.find((c) => c.type === 'Ready');
      if (condition?.status === 'True') snapshot.ready += 1;
      else snapshot.notReady.push({ name: item.metadata?.name ?? '?', state: describe(condition) });
    }
  }
  return snapshot;
}

const RESTART_DELAY_MS = 200;

/**
 * Follows the bench Certificates with one watch (LIST, then WATCH from its
 * resourceVersion; again after the watch ends) and records when each became
 * Ready. One watch costs the API server next to nothing (the event is encoded
 * once for every JSON watcher, the operator's included), where a LIST of 1,000
 * custom resources every 500 ms cost it about a tenth of its CPU in the bench
 * and this process 0.7 s; and the time of the last Ready is the event's, not
 * that of the next poll.
 */
export class ReadinessWatch {
  readonly tracker = new ReadyTracker();
  private abort: AbortController | undefined;
  private stopped = false;
  private resourceVersion: string | undefined;
  /** Why the last watch ended, if it failed (for a report on timeout). */
  lastError: string | undefined;

  constructor(private readonly clients: BenchClients) {}

  /** Resolves once the first LIST is in and the watch is open. */
  async start(): Promise<void> {
    await this.listAndWatch();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  private async listAndWatch(): Promise<void> {
    let first = true;
    for await (const page of certificatePages(this.clients)) {
      // The pages are one snapshot, at the first page's resourceVersion.
      if (first) this.resourceVersion = page.metadata?.resourceVersion;
      first = false;
      const now = performance.now();
      for (const item of page.items ?? []) this.tracker.observe('ADDED', item, now);
    }
    await this.watch();
  }

  private async watch(): Promise<void> {
    const path = `/apis/${GROUP}/${VERSION}/namespaces/${BENCH_NAMESPACE}/certificates`;
    this.abort = await new Watch(this.clients.kubeconfig).watch(
      path,
      { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (type: string, object: unknown) => {
        const rv = (object as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
        if (type !== 'ERROR' && rv !== undefined) this.resourceVersion = rv;
        this.tracker.observe(type, object as TrackedCertificate, performance.now());
      },
      (err: unknown) => {
        if (this.stopped) return;
        if (err !== null && err !== undefined) this.lastError = err instanceof Error ? err.message : JSON.stringify(err);
        // Ended (server timeout, 410 Gone, a dropped connection): list and watch again.
        this.restartSoon();
      },
    );
  }

  private restartSoon(): void {
    setTimeout(() => {
      if (this.stopped) return;
      this.listAndWatch().catch((e: unknown) => {
        this.lastError = e instanceof Error ? e.message : String(e);
        this.restartSoon();
      });
    }, RESTART_DELAY_MS);
  }
}
