import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import { testKube, waitFor } from './kube.js';

// CRDs of other projects (Gateway API, Prometheus Operator) that the test
// control plane does not have and no controller serves: stand-ins that accept
// any spec, so certkeeper's objects of those kinds can be created and deleted.
// Their real schemas are not checked here.

export type StandInCrd = V1CustomResourceDefinition & { metadata: { name: string } };

export function standInCrd(group: string, kind: string, annotations?: Record<string, string>): StandInCrd {
  const singular = kind.toLowerCase();
  const plural = `${singular}s`;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, ...(annotations === undefined ? {} : { annotations }) },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          // client-node's serializer name for x-kubernetes-preserve-unknown-fields.
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', x_kubernetes_preserve_unknown_fields: true } } } },
        },
      ],
    },
  };
}

/** Creates the CRDs (an existing one is kept) and waits until each is Established. */
export async function installStandInCrds(crds: readonly StandInCrd[], description: string): Promise<void> {
  const { apiextensions } = testKube();
  for (const crd of crds) {
    await apiextensions.createCustomResourceDefinition({ body: crd }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  }
  await waitFor(
    async () => {
      for (const crd of crds) {
        const got = await apiextensions.readCustomResourceDefinition({ name: crd.metadata.name });
        if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') !== true) return undefined;
      }
      return true;
    },
    { description: `${description} established` },
  );
}
