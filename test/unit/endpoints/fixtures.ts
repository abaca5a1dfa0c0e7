import type { EndpointSliceSummary, ServiceSummary } from '../../../src/endpoints/summaries.js';
import type { TargetInputs } from '../../../src/endpoints/targets.js';
import type { Certificate } from '../../../src/api/certificate.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';

// Small builders for the endpoint tests: Services, EndpointSlices and the
// inputs of planTargets, stated by what a test is about.

export function service(namespace: string, name: string, ports: { name?: string; port: number; protocol?: string }[], labels: Record<string, string> = {}): ServiceSummary {
  return { namespace, name, uid: `uid-${name}`, labels, ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })) };
}

export function slice(
  namespace: string,
  svc: string,
  ports: { name?: string; port: number | undefined; protocol?: string }[],
  endpoints: { addresses: string[]; ready?: boolean }[],
  name = `${svc}-${Math.random().toString(36).slice(2, 7)}`,
  addressType = 'IPv4',
  /** Made by the EndpointSlice controller (the usual case); false: written by hand. */
  controllerManaged = true,
): EndpointSliceSummary {
  return {
    namespace,
    name,
    service: svc,
    addressType,
    controllerManaged,
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({ addresses: e.addresses, ready: e.ready !== false })),
  };
}

export function inputs(o: {
  services?: ServiceSummary[];
  slices?: EndpointSliceSummary[];
  certificates?: Certificate[];
  policies?: TLSPolicy[];
  namespaces?: Record<string, Record<string, string>>;
  certificateIntervalMs?: number;
}): TargetInputs {
  const services = new Map((o.services ?? []).map((s) => [`${s.namespace}/${s.name}`, s]));
  return {
    services: { get: (k) => services.get(k), list: () => services.values() },
    slicesOf: (k) => (o.slices ?? []).filter((s) => `${s.namespace}/${s.service}` === k),
    certificates: o.certificates ?? [],
    policies: o.policies ?? [],
    namespaceLabels: (ns) => o.namespaces?.[ns] ?? (ns === 'default' ? {} : undefined),
    certificateIntervalMs: o.certificateIntervalMs ?? 600_000,
  };
}

export const addresses = (count: number, base = '10.250.1.') => Array.from({ length: count }, (_, i) => `${base}${i + 2}`);
