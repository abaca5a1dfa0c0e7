import { GROUP, VERSION } from '../../src/api/meta.js';
import { BENCH_NAMESPACE, type BenchClients } from './fixtures.js';

// How many bench Certificates are Ready=True, by a paginated LIST.

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
  metadata?: { continue?: string };
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

export async function readiness(clients: BenchClients): Promise<ReadinessSnapshot> {
  const snapshot: ReadinessSnapshot = { total: 0, ready: 0, notReady: [] };
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
    for (const item of page.items ?? []) {
      snapshot.total += 1;
      const condition = item.status?.conditions?.find((c) => c.type === 'Ready');
      if (condition?.status === 'True') snapshot.ready += 1;
      else snapshot.notReady.push({ name: item.metadata?.name ?? '?', state: describe(condition) });
    }
    const token = page.metadata?.continue;
    continueToken = token === undefined || token === '' ? undefined : token;
  } while (continueToken !== undefined);
  return snapshot;
}
