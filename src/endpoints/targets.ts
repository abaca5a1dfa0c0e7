import type { Certificate } from '../api/certificate.js';
import { parseDuration } from '../api/duration.js';
import { matchesLabelSelector } from '../api/label-selector.js';
import type { ENDPOINT_GUIDELINES, EndpointOverrides, ServicePortRef, TLSPolicy } from '../api/tlspolicy.js';
import { certificateKey } from '../model/certificate.js';
import { ipInRanges } from '../policy/identity.js';
import type { EndpointSliceSummary, ServicePortSummary, ServiceSummary } from './summaries.js';
import { compareText } from '../text-order.js';

// Pure: Services + EndpointSlices + Certificates + TLSPolicies in, the set of
// backend addresses to probe out, with who wants each and why. Every ready
// address is its own target — one stale pod among ten is exactly what a probe
// through the Service's virtual IP would miss.

/** What a policy asks of an endpoint, carried on each target it selects. */
export interface PolicyJudgement {
  policy: string;
  profile: 'modern' | 'intermediate' | 'old';
  /** Unset: the default version for the profile (src/probe/profiles effectiveGuidelines). */
  guidelines?: (typeof ENDPOINT_GUIDELINES)[number] | undefined;
  overrides?: EndpointOverrides | undefined;
}

export interface EndpointTarget {
  /** Identity: "namespace/service:port@address#serverName". */
  key: string;
  namespace: string;
  service: string;
  /** For Events about the Service (kubectl describe matches on it). */
  serviceUid?: string | undefined;
  /** The Service port (what spec.endpoints and the status name). */
  port: number;
  portName: string;
  address: string;
  /** The Pod behind the address (EndpointSlice targetRef), when the slice names one. */
  pod?: string | undefined;
  /** The backend port dialled (the EndpointSlice port of the same name). */
  targetPort: number;
  /** SNI sent; undefined for none. */
  serverName: string | undefined;
  /** Keys ("namespace/name") of the Certificates whose current leaf this address must serve. */
  certificates: string[];
  /** Their status.fingerprintSHA256, when issued, by Certificate key. */
  expected: Record<string, string | undefined>;
  /** "namespace/secretName" of those Certificates: their ca.crt is trusted for the chain check. */
  trustSecrets: string[];
  /** Policies that judge this endpoint (a full scan); empty: only the served leaf is read. */
  judgements: PolicyJudgement[];
  /** The shortest re-probe interval any owner asks for. */
  intervalMs: number;
}

export type EndpointResolution =
  | { kind: 'service-not-found' }
  | { kind: 'port-not-found'; ports: number[] }
  /**
   * `unvouched`: ready addresses left out because their slices were written by
   * hand; `outsideAllowed`: outside --probe-allowed-cidrs (see readyBackends);
   * `overNamespaceCap`: past MAX_TARGETS_PER_NAMESPACE.
   */
  | { kind: 'no-ready-endpoints'; unvouched?: number; outsideAllowed?: number; overNamespaceCap?: number }
  | { kind: 'targets'; targets: string[] };

export interface CertificateEndpointPlan {
  service: string;
  port: number;
  serverName: string | undefined;
  resolution: EndpointResolution;
}

export interface EndpointPlan {
  targets: Map<string, EndpointTarget>;
  /** By Certificate key, one entry per spec.endpoints item (only Certificates that list endpoints). */
  certificates: Map<string, CertificateEndpointPlan[]>;
  /** By policy name: the targets it selects (only policies with spec.endpoints). */
  policies: Map<string, string[]>;
}

export interface TargetInputs {
  services: { get(key: string): ServiceSummary | undefined; list(): Iterable<ServiceSummary> };
  /** The EndpointSlices of one Service ("namespace/name"). */
  slicesOf(serviceKey: string): readonly EndpointSliceSummary[];
  certificates: Iterable<Certificate>;
  policies: Iterable<TLSPolicy>;
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  /** Re-probe interval of Certificate endpoints. */
  certificateIntervalMs: number;
  /** The operator's --probe-allowed-cidrs: addresses outside are never probed. Absent: any. */
  allowedCidrs?: readonly string[];
}

/** Service DNS names, the SNI a policy probe sends when no Certificate names the Service. */
export function serviceDnsNames(namespace: string, service: string): string[] {
  return [`${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

const IP_LIKE = /^[0-9.]+$|:/;

/** The SNI of a Certificate endpoint: its serverName, else the first dnsName, else the commonName (never an IP). */
export function certificateServerName(cert: Certificate, serverName: string | undefined): string | undefined {
  const name = serverName ?? cert.spec.dnsNames?.[0] ?? cert.spec.commonName;
  return name === undefined || IP_LIKE.test(name) ? undefined : name;
}

export function targetKey(t: { namespace: string; service: string; port: number; address: string; serverName: string | undefined }): string {
  return `${t.namespace}/${t.service}:${t.port}@${t.address}#${t.serverName ?? ''}`;
}

interface Backend {
  address: string;
  targetPort: number;
  pod?: string | undefined;
}

/** The most addresses probed behind one Service port: a Service with more is sampled in address order. */
export const MAX_BACKENDS_PER_PORT = 256;

/** The most targets one namespace gets: past it, its new addresses are not probed (a tenant cannot grow the plan without bound). */
export const MAX_TARGETS_PER_NAMESPACE = 2_000;

export interface ReadyBackends {
  backends: Backend[];
  /** Ready addresses left out: their slice was written by hand and the namespace does not trust such slices. */
  unvouched: number;
  /** Ready addresses past MAX_BACKENDS_PER_PORT. */
  overPortCap: number;
  /** Ready addresses outside --probe-allowed-cidrs. */
  outsideAllowed: number;
}

/**
 * Ready backend addresses of one Service port, each once, in a stable order:
 * only those the cluster vouches for (a slice the EndpointSlice controller
 * made, or an endpoint that is a Pod of the namespace), unless the namespace
 * trusts hand-written slices; what is left out is counted.
 */
export function readyBackends(
  port: ServicePortSummary,
  slices: readonly EndpointSliceSummary[],
  trustUnmanaged = false,
  allowed: (address: string) => boolean = () => true,
): ReadyBackends {
  const seen = new Map<string, Backend>();
  let skipped = 0;
  let outsideAllowed = 0;
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') continue;
    const slicePort = slice.ports.find((p) => p.name === port.name && p.protocol === port.protocol);
    if (slicePort?.port === undefined) continue;
    for (const endpoint of slice.endpoints) {
      if (!endpoint.ready) continue;
      if (!slice.controllerManaged && endpoint.pod === undefined && !trustUnmanaged) {
        skipped += endpoint.addresses.length;
        continue;
      }
      for (const address of endpoint.addresses) {
        if (!allowed(address)) {
          outsideAllowed++;
          continue;
        }
        const id = `${address}:${slicePort.port}`;
        if (!seen.has(id)) seen.set(id, { address, targetPort: slicePort.port, ...(endpoint.pod === undefined ? {} : { pod: endpoint.pod }) });
      }
    }
  }
  const backends = [...seen.values()].sort((a, b) => compareAddresses(a.address, b.address) || a.targetPort - b.targetPort).slice(0, MAX_BACKENDS_PER_PORT);
  return { backends, unvouched: skipped, overPortCap: Math.max(0, seen.size - MAX_BACKENDS_PER_PORT), outsideAllowed };
}

/** Numeric order for IPv4 (10.0.0.9 before 10.0.0.10), text order otherwise. */
function compareAddresses(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  if (pa.length === 4 && pb.length === 4 && pa.every(Number.isInteger) && pb.every(Number.isInteger)) {
    for (let i = 0; i < 4; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
    return 0;
  }
  return compareText(a, b);
}

/** Service ports a policy selects: by number or name, default every TCP port. */
export function selectedPorts(service: ServiceSummary, refs: readonly ServicePortRef[] | undefined): ServicePortSummary[] {
  const tcp = service.ports.filter((p) => p.protocol === 'TCP');
  if (refs === undefined || refs.length === 0) return tcp;
  return tcp.filter((p) => refs.some((r) => (typeof r === 'number' ? r === p.port : r === p.name)));
}

function policyIntervalMs(policy: TLSPolicy): number {
  try {
    return Math.max(60_000, parseDuration(policy.spec.endpoints?.interval ?? '1h'));
  } catch {
    // The CRD refuses a bad duration; an object from before that rule gets the default.
    return 3_600_000;
  }
}

function governs(policy: TLSPolicy, labels: Record<string, string> | undefined): boolean {
  const selector = policy.spec.namespaceSelector;
  return selector !== undefined && labels !== undefined && matchesLabelSelector(selector, labels);
}

export function planTargets(input: TargetInputs): EndpointPlan {
  const targets = new Map<string, EndpointTarget>();
  const certificates = new Map<string, CertificateEndpointPlan[]>();
  const policies = new Map<string, string[]>();
  /** "namespace/service:port" -> SNI names Certificates use there, so a policy probe sends the same. */
  const namesAt = new Map<string, string>();

  const perNamespace = new Map<string, number>();
  /** The target for this backend, made if new; undefined when its namespace has its most targets already. */
  const upsert = (svc: ServiceSummary, port: ServicePortSummary, b: Backend, serverName: string | undefined, intervalMs: number): EndpointTarget | undefined => {
    const key = targetKey({ namespace: svc.namespace, service: svc.name, port: port.port, address: b.address, serverName });
    let t = targets.get(key);
    if (t === undefined) {
      const count = perNamespace.get(svc.namespace) ?? 0;
      if (count >= MAX_TARGETS_PER_NAMESPACE) return undefined;
      perNamespace.set(svc.namespace, count + 1);
      t = {
        key,
        namespace: svc.namespace,
        service: svc.name,
        ...(svc.uid === undefined ? {} : { serviceUid: svc.uid }),
        port: port.port,
        portName: port.name,
        address: b.address,
        ...(b.pod === undefined ? {} : { pod: b.pod }),
        targetPort: b.targetPort,
        serverName,
        certificates: [],
        expected: {},
        trustSecrets: [],
        judgements: [],
        intervalMs,
      };
      targets.set(key, t);
    } else {
      t.intervalMs = Math.min(t.intervalMs, intervalMs);
    }
    return t;
  };

  const allowedCidrs = input.allowedCidrs;
  const allowed = allowedCidrs === undefined || allowedCidrs.length === 0 ? () => true : (address: string) => ipInRanges(address, allowedCidrs);
  // Hand-written EndpointSlices count only where a policy governing the namespace says so.
  const trusting = [...input.policies].filter((p) => p.spec.trustUnmanagedEndpointSlices === true && p.metadata.deletionTimestamp === undefined);
  const trustByNamespace = new Map<string, boolean>();
  const trustsUnmanaged = (namespace: string): boolean => {
    let trusted = trustByNamespace.get(namespace);
    if (trusted === undefined) {
      const labels = input.namespaceLabels(namespace);
      trusted = trusting.some((p) => governs(p, labels));
      trustByNamespace.set(namespace, trusted);
    }
    return trusted;
  };

  const sortedCertificates = [...input.certificates]
    .filter((c) => c.metadata.deletionTimestamp === undefined && (c.spec.endpoints?.length ?? 0) > 0)
    .sort((a, b) => compareText(certificateKey(a), certificateKey(b)));
  for (const cert of sortedCertificates) {
    const namespace = cert.metadata.namespace ?? 'default';
    const certKey = certificateKey(cert);
    const plans: CertificateEndpointPlan[] = [];
    for (const ref of cert.spec.endpoints ?? []) {
      const serverName = certificateServerName(cert, ref.serverName);
      const plan = { service: ref.service, port: ref.port, serverName };
      const svc = input.services.get(`${namespace}/${ref.service}`);
      if (svc === undefined) {
        plans.push({ ...plan, resolution: { kind: 'service-not-found' } });
        continue;
      }
      const port = svc.ports.find((p) => p.port === ref.port && p.protocol === 'TCP');
      if (port === undefined) {
        plans.push({ ...plan, resolution: { kind: 'port-not-found', ports: svc.ports.map((p) => p.port) } });
        continue;
      }
      const { backends, unvouched, outsideAllowed } = readyBackends(port, input.slicesOf(`${namespace}/${ref.service}`), trustsUnmanaged(namespace), allowed);
      if (backends.length === 0) {
        plans.push({
          ...plan,
          resolution: { kind: 'no-ready-endpoints', ...(unvouched === 0 ? {} : { unvouched }), ...(outsideAllowed === 0 ? {} : { outsideAllowed }) },
        });
        continue;
      }
      if (serverName !== undefined && !namesAt.has(`${namespace}/${ref.service}:${port.port}`)) namesAt.set(`${namespace}/${ref.service}:${port.port}`, serverName);
      const keys: string[] = [];
      let overCap = 0;
      for (const b of backends) {
        const t = upsert(svc, port, b, serverName, input.certificateIntervalMs);
        if (t === undefined) {
          overCap++;
          continue;
        }
        if (!t.certificates.includes(certKey)) t.certificates.push(certKey);
        t.expected[certKey] = cert.status?.fingerprintSHA256;
        const secret = `${namespace}/${cert.spec.secretName}`;
        if (!t.trustSecrets.includes(secret)) t.trustSecrets.push(secret);
        keys.push(t.key);
      }
      plans.push({ ...plan, resolution: keys.length === 0 ? { kind: 'no-ready-endpoints', overNamespaceCap: overCap } : { kind: 'targets', targets: keys } });
    }
    certificates.set(certKey, plans);
  }

  const endpointPolicies = [...input.policies]
    .filter((p) => p.spec.endpoints !== undefined && p.metadata.deletionTimestamp === undefined)
    .sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  if (endpointPolicies.length > 0) {
    for (const p of endpointPolicies) policies.set(p.metadata.name, []);
    const intervals = new Map(endpointPolicies.map((p) => [p.metadata.name, policyIntervalMs(p)]));
    const services = [...input.services.list()].sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name));
    for (const svc of services) {
      const labels = input.namespaceLabels(svc.namespace);
      for (const policy of endpointPolicies) {
        const spec = policy.spec.endpoints;
        if (spec === undefined || !governs(policy, labels) || !matchesLabelSelector(spec.serviceSelector, svc.labels)) continue;
        const keys = policies.get(policy.metadata.name) ?? [];
        const judgement: PolicyJudgement = {
          policy: policy.metadata.name,
          profile: spec.profile,
          ...(spec.guidelines === undefined ? {} : { guidelines: spec.guidelines }),
          ...(spec.overrides === undefined ? {} : { overrides: spec.overrides }),
        };
        for (const port of selectedPorts(svc, spec.ports)) {
          const serverName = namesAt.get(`${svc.namespace}/${svc.name}:${port.port}`) ?? serviceDnsNames(svc.namespace, svc.name)[0];
          for (const b of readyBackends(port, input.slicesOf(`${svc.namespace}/${svc.name}`), trustsUnmanaged(svc.namespace), allowed).backends) {
            const t = upsert(svc, port, b, serverName, intervals.get(policy.metadata.name) ?? 3_600_000);
            if (t === undefined) continue;
            if (!t.judgements.some((j) => j.policy === judgement.policy)) t.judgements.push(judgement);
            keys.push(t.key);
          }
        }
        policies.set(policy.metadata.name, keys);
      }
    }
  }
  return { targets, certificates, policies };
}

/** What a probe of this target must establish; a change makes the scheduler probe again at once. */
export function targetRevision(t: EndpointTarget): string {
  return JSON.stringify([t.targetPort, Object.entries(t.expected).sort(), t.judgements, t.trustSecrets]);
}
