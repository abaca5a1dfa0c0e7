import type { AppsV1Api, CoreV1Api, V1OwnerReference } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';
import type { MergePatches } from './raw-apis.js';

// The pods behind a stale address and the workloads that own them, for
// spec.reload: a Pod's controller (ownerReferences with controller=true), a
// ReplicaSet's Deployment; and the restart itself, done as `kubectl rollout
// restart` does (a new template annotation), so the workload's own rollout
// settings and PodDisruptionBudgets decide how pods are replaced. Everything
// is read and patched in the namespace given: the Certificate's own.

export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

export type RestartableKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface PodOwner {
  terminating: boolean;
  /** The workload that controls the pod, when it is one certkeeper can restart. */
  workload?: { kind: RestartableKind; name: string } | undefined;
}

const controllerOf = (refs: readonly V1OwnerReference[] | undefined) => refs?.find((r) => r.controller === true);

export class WorkloadsClient {
  constructor(private readonly api: { core: Pick<CoreV1Api, 'readNamespacedPod'>; apps: Pick<AppsV1Api, 'readNamespacedReplicaSet' | 'patchNamespacedDeployment' | 'patchNamespacedStatefulSet' | 'patchNamespacedDaemonSet'> & MergePatches }) {}

  /** The pod's state and owning workload; undefined when the pod is gone. */
  async podOwner(namespace: string, pod: string): Promise<PodOwner | undefined> {
    let p;
    try {
      p = await this.api.core.readNamespacedPod({ namespace, name: pod });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const terminating = p.metadata?.deletionTimestamp !== undefined && p.metadata.deletionTimestamp !== null;
    const owner = controllerOf(p.metadata?.ownerReferences);
    if (owner?.apiVersion !== 'apps/v1') return { terminating };
    if (owner.kind === 'StatefulSet' || owner.kind === 'DaemonSet') return { terminating, workload: { kind: owner.kind, name: owner.name } };
    if (owner.kind !== 'ReplicaSet') return { terminating };
    try {
      const rs = await this.api.apps.readNamespacedReplicaSet({ namespace, name: owner.name });
      const deployment = controllerOf(rs.metadata?.ownerReferences);
      return deployment?.apiVersion === 'apps/v1' && deployment.kind === 'Deployment' ? { terminating, workload: { kind: 'Deployment', name: deployment.name } } : { terminating };
    } catch (err) {
      if (isNotFound(err)) return { terminating };
      throw err;
    }
  }

  /** Restarts the workload's pods by stamping its pod template, as `kubectl rollout restart` does. */
  async restart(namespace: string, kind: RestartableKind, name: string, at: Date): Promise<void> {
    const body = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at.toISOString() } } } } };
    switch (kind) {
      case 'Deployment':
        await this.api.apps.patchNamespacedDeployment({ namespace, name, body });
        return;
      case 'StatefulSet':
        await this.api.apps.patchNamespacedStatefulSet({ namespace, name, body });
        return;
      case 'DaemonSet':
        await this.api.apps.patchNamespacedDaemonSet({ namespace, name, body });
        return;
    }
  }
}
