import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

// What the Service and EndpointSlice informers keep: the few fields target
// resolution reads (and the pod name, for messages). A full EndpointSlice
// carries topology, hints, node names and target references for up to 100 endpoints; at 10,000 Certificates the
// watch cache is memory, so everything else is dropped on arrival.

export interface ServicePortSummary {
  /** '' when the Service has one unnamed port. */
  name: string;
  port: number;
  protocol: string;
}

export interface ServiceSummary {
  namespace: string;
  name: string;
  /** For Events about the Service. */
  uid: string | undefined;
  labels: Record<string, string>;
  ports: ServicePortSummary[];
}

export interface SlicePortSummary {
  /** Matches the Service port of the same name ('' for an unnamed port). */
  name: string;
  /** The backend port to dial; undefined when the slice does not say (then no port is served). */
  port: number | undefined;
  protocol: string;
}

export interface SliceEndpointSummary {
  addresses: string[];
  /** conditions.ready: an absent value means ready (the API's rule: unknown is treated as ready). */
  ready: boolean;
  /**
   * targetRef.name when it is a Pod of the slice's own namespace: on-call looks
   * for a pod by name, and such an endpoint is one the cluster vouches for.
   */
  pod?: string | undefined;
}

export interface EndpointSliceSummary {
  namespace: string;
  name: string;
  /** The kubernetes.io/service-name label: the Service this slice belongs to; '' when absent. */
  service: string;
  addressType: string;
  ports: SlicePortSummary[];
  endpoints: SliceEndpointSummary[];
  /** Made by the EndpointSlice controller from a Service's selector (its managed-by label), not written by hand. */
  controllerManaged: boolean;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const ENDPOINTSLICE_CONTROLLER = 'endpointslice-controller.k8s.io';

export function summarizeService(svc: V1Service): ServiceSummary {
  return {
    namespace: svc.metadata?.namespace ?? '',
    name: svc.metadata?.name ?? '',
    uid: svc.metadata?.uid,
    labels: svc.metadata?.labels ?? {},
    ports: (svc.spec?.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  };
}

export function summarizeEndpointSlice(slice: V1EndpointSlice): EndpointSliceSummary {
  const namespace = slice.metadata?.namespace ?? '';
  return {
    namespace,
    controllerManaged: slice.metadata?.labels?.[MANAGED_BY_LABEL] === ENDPOINTSLICE_CONTROLLER,
    name: slice.metadata?.name ?? '',
    service: slice.metadata?.labels?.[SERVICE_NAME_LABEL] ?? '',
    addressType: slice.addressType,
    ports: (slice.ports ?? []).map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: (slice.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ready: e.conditions?.ready !== false,
      ...(e.targetRef?.kind === 'Pod' && e.targetRef.name !== undefined && (e.targetRef.namespace ?? namespace) === namespace ? { pod: e.targetRef.name } : {}),
    })),
  };
}
