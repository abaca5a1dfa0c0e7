/**
 * Kubernetes objects for servers in a test network namespace: a Service
 * without a selector and the EndpointSlices a controller-manager would have
 * made for it (none runs in the test control plane), plus reads of the
 * Events the operator records about them.
 */
import { DiscoveryV1Api, type CoreV1Event, type V1EndpointSlice } from '@kubernetes/client-node';
import { onTestFinished } from 'vitest';
import { isNotFound } from '../../src/kube/errors.js';
import { testKube, waitFor, type TestKube } from './kube.js';

export interface ServicePort {
  name: string;
  port: number;
}

/** A ClusterIP Service with named TCP ports and no selector: its EndpointSlices are ours to write. */
export async function createSelectorlessService(namespace: string, name: string, ports: readonly ServicePort[], labels: Record<string, string> = {}, kube: TestKube = testKube()): Promise<void> {
  await kube.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name, labels },
      spec: { type: 'ClusterIP', ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: 'TCP' })) },
    },
  });
}

export interface SliceAddress {
  ip: string;
  ready: boolean;
}

export interface EndpointSliceSpec {
  service: string;
  /** Default `<service>-<index>`. */
  name?: string;
  addresses: readonly SliceAddress[];
  ports: readonly ServicePort[];
}

function discovery(kube: TestKube): DiscoveryV1Api {
  return kube.kubeconfig.makeApiClient(DiscoveryV1Api);
}

/** The slice as the EndpointSlice controller writes it: IPv4, one endpoint per address, named TCP ports. */
export function endpointSliceBody(spec: EndpointSliceSpec, name: string): V1EndpointSlice {
  return {
    metadata: { name, labels: { 'kubernetes.io/service-name': spec.service, 'endpointslice.kubernetes.io/managed-by': 'certkeeper-tests' } },
    addressType: 'IPv4',
    endpoints: spec.addresses.map((a) => ({ addresses: [a.ip], conditions: { ready: a.ready, serving: a.ready, terminating: false } })),
    ports: spec.ports.map((p) => ({ name: p.name, port: p.port, protocol: 'TCP' })),
  };
}

/**
 * Creates the slice; inside a test it is deleted when the test finishes. The
 * test namespace stays Terminating with its objects (no namespace controller),
 * and the operators of later test files must not go on probing addresses
 * whose test network is gone.
 */
export async function createEndpointSlice(namespace: string, spec: EndpointSliceSpec, kube: TestKube = testKube()): Promise<string> {
  const name = spec.name ?? `${spec.service}-0`;
  const api = discovery(kube);
  await api.createNamespacedEndpointSlice({ namespace, body: endpointSliceBody(spec, name) });
  try {
    onTestFinished(async () => {
      await api.deleteNamespacedEndpointSlice({ namespace, name }).catch((error: unknown) => {
        if (!isNotFound(error)) throw error;
      });
    });
  } catch {
    // Not inside a running test: the caller cleans up.
  }
  return name;
}

/** Replaces the addresses of a slice made by createEndpointSlice (a rollout, a pod going not-ready). */
export async function replaceEndpointSlice(namespace: string, name: string, spec: EndpointSliceSpec, kube: TestKube = testKube()): Promise<void> {
  const api = discovery(kube);
  const current = await api.readNamespacedEndpointSlice({ namespace, name });
  const body = endpointSliceBody(spec, name);
  await api.replaceNamespacedEndpointSlice({ namespace, name, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
}

/** A Service with one slice listing `addresses`, all ready unless said otherwise. */
export async function createServiceWithEndpoints(
  namespace: string,
  name: string,
  o: { ports: readonly ServicePort[]; addresses: readonly (string | SliceAddress)[]; labels?: Record<string, string> },
  kube: TestKube = testKube(),
): Promise<void> {
  await createSelectorlessService(namespace, name, o.ports, o.labels ?? {}, kube);
  const addresses = o.addresses.map((a) => (typeof a === 'string' ? { ip: a, ready: true } : a));
  await createEndpointSlice(namespace, { service: name, addresses, ports: o.ports }, kube);
}

export interface EventMatch {
  kind: string;
  name: string;
  reason: string;
  type?: 'Normal' | 'Warning';
}

/** Events in `namespace` about the object `kind/name` with this reason (core/v1 view of events.k8s.io Events). */
export async function eventsFor(namespace: string, match: EventMatch, kube: TestKube = testKube()): Promise<CoreV1Event[]> {
  const list = await kube.core.listNamespacedEvent({ namespace });
  return list.items.filter(
    (e) => e.involvedObject.kind === match.kind && e.involvedObject.name === match.name && e.reason === match.reason && (match.type === undefined || e.type === match.type),
  );
}

/** Waits for an Event about `kind/name` with the reason (and type) and, if given, a message `where` accepts. */
export async function waitForEvent(namespace: string, match: EventMatch & { where?: (message: string) => boolean }, timeoutMs = 30_000): Promise<CoreV1Event> {
  return waitFor(
    async ({ observe }) => {
      const all = await testKube().core.listNamespacedEvent({ namespace });
      observe(all.items.map((e) => `${e.type} ${e.reason} ${e.involvedObject.kind}/${e.involvedObject.name}: ${e.message ?? ''}`));
      const found = (await eventsFor(namespace, match)).filter((e) => match.where === undefined || match.where(e.message ?? ''));
      return found[0];
    },
    { description: `a ${match.type ?? ''} ${match.reason} Event on ${match.kind} ${namespace}/${match.name}`, timeoutMs, intervalMs: 500 },
  );
}
