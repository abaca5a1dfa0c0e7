import { parseArgs } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { type Clock, realClock } from '../clock.js';
import { type TLSPolicy, tlsPolicy as tlsPolicySchema } from '../api/tlspolicy.js';
import { ConfigError } from '../config.js';
import { type ParsedCertificate, parseCertificate } from '../model/certificate.js';
import { summarizeTlsSecret } from '../secrets/summary.js';
import { type TlsSecretSummary } from '../model/secret.js';
import { buildInventory } from '../inventory/build.js';
import { inventoryJson } from '../inventory/json.js';
import { inventoryCbom } from '../inventory/cbom.js';
import type { Inventory } from '../inventory/model.js';
import { QueryError, filterInventory, parseAge, parseManaged, parseProblems, type InventoryQuery } from '../inventory/query.js';
import { renderInventoryTable } from './inventory-table.js';
import { readClusterSources } from './inventory-sources.js';
import { ThresholdResolver } from '../inventory/thresholds.js';
import { loadKubeConfig, makeKubeClients } from '../kube/client.js';
import { forEachItem, LIST_PAGE_SIZE } from '../kube/resources.js';
import { statusCodeOf } from '../kube/errors.js';
import { mergePolicyPostQuantum } from '../endpoints/post-quantum.js';
import { packageVersion } from '../version.js';

// `certkeeper inventory [--expiring-within 30d] [-A|-n NS] [-o table|json] [--problem P] [--managed M]`
// reads the cluster itself — paginated LISTs of kubernetes.io/tls Secrets and
// Certificates, each Secret summarised and its data dropped page by page —
// so it works without the operator, with the same builder the operator uses.

export const INVENTORY_USAGE = `certkeeper inventory [-A | -n NAMESPACE] [--expiring-within 30d] [--problem expired,expiring] [--managed unmanaged] [--consumers] [--configmap-selector LABELS] [-o table|json|cyclonedx]`;

/** A missing permission for context (policies, namespaces) degrades to defaults instead of failing. */
async function optional<T>(read: () => Promise<T>, fallback: T, warn: (m: string) => void, what: string): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const status = statusCodeOf(err);
    if (status !== 403 && status !== 404) throw err;
    warn(`cannot read ${what} (HTTP ${status}); using default expiry thresholds`);
    return fallback;
  }
}

export interface ClusterInventoryOptions {
  /** Undefined: all namespaces. */
  namespace?: string | undefined;
  now: Date;
  warn?: (message: string) => void;
  /** List Pods, Ingresses and Gateways too, and show who uses each Secret and ConfigMap. */
  consumers?: boolean;
  /** ConfigMaps with these labels are read for PEM bundles and keystores; undefined: none. */
  configMapSelector?: string | undefined;
}

export async function readClusterInventory(kc: KubeConfig, o: ClusterInventoryOptions): Promise<Inventory> {
  const clients = makeKubeClients(kc);
  const core = clients.core;
  const warn = o.warn ?? (() => undefined);
  const ns = o.namespace;
  const secrets: TlsSecretSummary[] = [];
  const fieldSelector = 'type=kubernetes.io/tls';
  await clients.secrets.forEach({ namespace: ns, fieldSelector }, (s) => secrets.push(summarizeTlsSecret(s)));
  const certificates: ParsedCertificate[] = (await clients.certificates.listRaw(ns)).map(parseCertificate);
  const policies = await optional(
    async () =>
      (await clients.tlsPolicies.listRaw()).flatMap((p): TLSPolicy[] => {
        const parsed = tlsPolicySchema.safeParse(p);
        return parsed.success ? [parsed.data] : [];
      }),
    [],
    warn,
    'TLSPolicies',
  );
  const namespaceLabels = new Map<string, Record<string, string>>();
  await optional(
    async () => {
      if (ns !== undefined) {
        const one = await core.readNamespace({ name: ns });
        namespaceLabels.set(ns, one.metadata?.labels ?? {});
      } else {
        await forEachItem((cont) => core.listNamespace({ limit: LIST_PAGE_SIZE, _continue: cont }), (n) => namespaceLabels.set(n.metadata?.name ?? '', n.metadata?.labels ?? {}));
      }
    },
    undefined,
    warn,
    'namespaces',
  );
  const thresholds = new ThresholdResolver({ policies, namespaceLabels: (name) => namespaceLabels.get(name) });
  const others = await readClusterSources(kc, { namespace: ns, configMapSelector: o.configMapSelector, consumers: o.consumers === true, warn });
  const inventory = buildInventory({ now: o.now, secrets, certificates, thresholds, sources: others.sources, consumers: others.consumers });
  // The CLI holds no scans: post-quantum readiness comes from what the operator wrote into TLSPolicy status.
  const postQuantum = mergePolicyPostQuantum(policies.map((p) => ({ policy: p.metadata.name, rows: p.status?.endpoints?.postQuantum ?? [] })))
    .filter((r) => ns === undefined || r.namespace === ns)
    .map(({ policies: _policies, ...r }) => r);
  return postQuantum.length === 0 ? inventory : { ...inventory, postQuantum };
}

/** Parses the command line; throws ConfigError with the usage on a mistake. */
export function parseInventoryArgs(argv: string[]): {
  kubeconfig?: string | undefined;
  namespace?: string | undefined;
  output: 'table' | 'json' | 'cyclonedx';
  query: InventoryQuery;
  consumers: boolean;
  configMapSelector?: string | undefined;
} {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      namespace: { type: 'string', short: 'n' },
      'all-namespaces': { type: 'boolean', short: 'A' },
      'expiring-within': { type: 'string' },
      problem: { type: 'string', multiple: true },
      managed: { type: 'string', multiple: true },
      output: { type: 'string', short: 'o', default: 'table' },
      kubeconfig: { type: 'string' },
      consumers: { type: 'boolean' },
      'configmap-selector': { type: 'string' },
    },
  });
  if (values.namespace !== undefined && values['all-namespaces'] === true) throw new ConfigError(`-A and -n exclude each other\nusage: ${INVENTORY_USAGE}`);
  if (values.output !== 'table' && values.output !== 'json' && values.output !== 'cyclonedx') throw new ConfigError(`-o must be table, json or cyclonedx\nusage: ${INVENTORY_USAGE}`);
  try {
    const within = values['expiring-within'];
    const query: InventoryQuery = {
      ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
      ...(within === undefined ? {} : { expiringWithinMs: parseAge(within) }),
      ...(values.problem === undefined ? {} : { problems: parseProblems(values.problem) }),
      ...(values.managed === undefined ? {} : { managed: parseManaged(values.managed) }),
    };
    return { kubeconfig: values.kubeconfig, namespace: values.namespace, output: values.output, query, consumers: values.consumers === true, configMapSelector: values['configmap-selector'] };
  } catch (err) {
    if (err instanceof QueryError) throw new ConfigError(`${err.message}\nusage: ${INVENTORY_USAGE}`);
    throw err;
  }
}

/** `certkeeper inventory`: prints the inventory; exit code 0. */
export async function runInventoryCommand(
  argv: string[],
  io: { out: (text: string) => void; warn: (text: string) => void; clock: Clock } = { out: console.log, warn: console.error, clock: realClock },
): Promise<number> {
  const { out, warn } = io;
  const args = parseInventoryArgs(argv);
  const inventory = await readClusterInventory(loadKubeConfig(args.kubeconfig), {
    namespace: args.namespace,
    now: new Date(io.clock.now()),
    warn: (m) => warn(`certkeeper: ${m}`),
    consumers: args.consumers,
    configMapSelector: args.configMapSelector,
  });
  const shown = filterInventory(inventory, args.query);
  if (args.output === 'cyclonedx') out(JSON.stringify(inventoryCbom(shown, { now: shown.generatedAt, version: packageVersion() }), null, 2));
  else out(args.output === 'json' ? JSON.stringify(inventoryJson(shown), null, 2) : renderInventoryTable(shown, { consumers: args.consumers }));
  return 0;
}
