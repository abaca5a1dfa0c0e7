import type { EndpointTarget } from '../../src/endpoints/targets.js';

// The bench's processes that probe without Kubernetes (the decoys of
// `scale-out --control`, the `shared-results` scenario) build the target the
// operator would build for one address of a Service judged by one policy.

export interface ScanTargetOptions {
  namespace: string;
  service: string;
  /** The Service port, in the key; the connection goes to targetPort. */
  port: number;
  address: string;
  targetPort: number;
  serverName: string | undefined;
  policy: string;
}

/** A full-scan target judged by `policy` with the intermediate profile, due once an hour. */
export function fullScanTarget(o: ScanTargetOptions): EndpointTarget {
  return {
    key: `${o.namespace}/${o.service}:${o.port}@${o.address}#${o.serverName ?? ''}`,
    namespace: o.namespace,
    service: o.service,
    port: o.port,
    portName: 'https',
    address: o.address,
    targetPort: o.targetPort,
    serverName: o.serverName,
    certificates: [],
    expected: {},
    trustSecrets: [],
    judgements: [{ policy: o.policy, profile: 'intermediate' }],
    intervalMs: 3_600_000,
  };
}
