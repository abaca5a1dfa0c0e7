import { runInventoryCommand, readClusterInventory } from '../../src/cli/inventory.js';
import { listCertificates, listPolicies, renderStatus } from '../../src/cli/status.js';
import { realClock } from '../../src/clock.js';
import { locationName } from '../../src/inventory/model.js';
import { bold, detail, yellow } from './console.js';
import { APP_NAMESPACE, CA_SECRET, CHECKOUT_SECRET, LEGACY_SECRET, legacySecret, OPERATOR_NAMESPACE, STOREFRONT_SECRET } from './manifests.js';
import { api, DemoFailure, type Cluster } from './runtime.js';

// Step: what is in the cluster, as `certkeeper status` (the Certificates and
// policies) and `certkeeper inventory` (every TLS Secret, managed or not) show it.

/** Each Secret the inventory must list, and who it must say manages it (when that is the point). */
const EXPECTED: readonly { namespace: string; name: string; managed?: 'certkeeper' | 'unmanaged' }[] = [
  { namespace: APP_NAMESPACE, name: STOREFRONT_SECRET, managed: 'certkeeper' },
  { namespace: APP_NAMESPACE, name: CHECKOUT_SECRET, managed: 'certkeeper' },
  { namespace: APP_NAMESPACE, name: LEGACY_SECRET, managed: 'unmanaged' },
  // The CA a policy names: listed, whoever the inventory says manages it.
  { namespace: OPERATOR_NAMESPACE, name: CA_SECRET },
];

export async function showInventory(cluster: Cluster): Promise<void> {
  const { core, cli, kubeconfig } = cluster.clients;
  const legacy = await legacySecret(new Date());
  await api(`creating Secret ${APP_NAMESPACE}/${LEGACY_SECRET}`, () => core.createNamespacedSecret({ namespace: APP_NAMESPACE, body: legacy }));
  detail(`Secret ${APP_NAMESPACE}/${LEGACY_SECRET}: made by hand (kubectl create secret tls), self-signed, 10 days left, no Certificate behind it`);

  const [certs, policies] = await api('listing Certificates and TLSPolicies', () => Promise.all([listCertificates(cli.customObjects), listPolicies(cli.customObjects)]));
  detail(bold('\n$ certkeeper status -o wide'));
  detail(renderStatus(certs, policies, true));

  detail(bold(`\n$ certkeeper inventory -A`));
  const lines: string[] = [];
  await api('reading the inventory', () =>
    runInventoryCommand(['-A', '--kubeconfig', cluster.kubeconfigPath], { out: (text) => lines.push(text), warn: (text) => lines.push(yellow(text)), clock: realClock }),
  );
  detail(lines.join('\n'));

  // The table is for people; the same builder's data says whether what must be there is.
  const inventory = await api('reading the inventory', () => readClusterInventory(kubeconfig, { now: new Date() }));
  const problems: string[] = [];
  for (const want of EXPECTED) {
    const where = `secret/${want.namespace}/${want.name}#tls.crt`;
    const entry = inventory.entries.find((e) => e.locations.some((l) => locationName(l) === where));
    if (entry === undefined) problems.push(`${want.namespace}/${want.name} is not listed`);
    else if (want.managed !== undefined && entry.managedBy.managed !== want.managed) problems.push(`${want.namespace}/${want.name} is listed as managed by ${entry.managedBy.managed}, not ${want.managed}`);
  }
  const legacyEntry = inventory.entries.find((e) => e.locations.some((l) => locationName(l) === `secret/${APP_NAMESPACE}/${LEGACY_SECRET}#tls.crt`));
  if (legacyEntry !== undefined && !legacyEntry.problems.some((p) => p.id === 'expiring')) problems.push(`${APP_NAMESPACE}/${LEGACY_SECRET} expires in 10 days but is not flagged expiring`);
  if (problems.length > 0) throw new DemoFailure(`the inventory is not what the cluster holds:\n  ${problems.join('\n  ')}`);
}
