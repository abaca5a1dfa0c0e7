import { DiscoveryV1Api } from '@kubernetes/client-node';
import type { TestNetwork } from '../env/netns.js';
import { startNetnsNginx, type NetnsNginx } from '../tls/netns-nginx.js';
import { INTERMEDIATE_TLS } from '../tls/fixtures.js';
import { createTlsTestPki, issueServerCertificate } from '../tls/server-pki.js';
import { BENCH_NAMESPACE, type BenchClients } from './fixtures.js';

// The probed side of the endpoint benches: one nginx in a network namespace
// answering on every address, and Services whose hand-written EndpointSlices
// split those addresses between them.

/** One nginx on all of `network`'s addresses, serving a wildcard certificate of the bench namespace; ready once the first and last answer. */
export async function startBenchNginx(network: TestNetwork, name: string, baseDir: string): Promise<NetnsNginx> {
  const pki = await createTlsTestPki();
  const certificate = await issueServerCertificate({ dnsNames: [`*.${BENCH_NAMESPACE}.svc`], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate });
  return startNetnsNginx({
    network,
    name,
    baseDir,
    addresses: 'any',
    port: 443,
    certificate,
    tls: INTERMEDIATE_TLS,
    workerProcesses: 2,
    workerConnections: 4096,
    readinessAddresses: [network.addresses[0] ?? '', network.addresses[network.addresses.length - 1] ?? ''],
  });
}

export interface BenchServices {
  services: number;
  perService: number;
  /** The i-th Service's name. */
  name: (i: number) => string;
  /** Their `tier` label (a TLSPolicy selects them by it). */
  tier: string;
}

/** `services` Services on port 443, the i-th with the i-th run of `perService` addresses as ready endpoints; 16 created at a time. */
export async function createBenchServices(clients: BenchClients, addresses: readonly string[], o: BenchServices): Promise<void> {
  const discovery = clients.kubeconfig.makeApiClient(DiscoveryV1Api);
  const ports = [{ name: 'https', port: 443, protocol: 'TCP' }];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.services) {
      const i = next++;
      const name = o.name(i);
      await clients.core.createNamespacedService({
        namespace: BENCH_NAMESPACE,
        body: { metadata: { name, labels: { tier: o.tier } }, spec: { ports: ports.map((p) => ({ ...p, targetPort: p.port })) } },
      });
      await discovery.createNamespacedEndpointSlice({
        namespace: BENCH_NAMESPACE,
        body: {
          metadata: { name: `${name}-0`, labels: { 'kubernetes.io/service-name': name } },
          addressType: 'IPv4',
          endpoints: addresses.slice(i * o.perService, (i + 1) * o.perService).map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
          ports,
        },
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}
