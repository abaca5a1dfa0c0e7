import { type CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/meta.js';
import { RENEW_ANNOTATION } from '../model/certificate.js';

/**
 * `certkeeper renew`: asks for a new issuance by stamping the request time on
 * the Certificate. The operator re-issues when the request is newer than the
 * certificate it holds, so repeating the command is harmless.
 */
export async function requestRenewal(api: CustomObjectsApi, namespace: string, name: string, now: Date): Promise<void> {
  await api.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, plural: 'certificates', namespace, name, body: { metadata: { annotations: { [RENEW_ANNOTATION]: now.toISOString() } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}
