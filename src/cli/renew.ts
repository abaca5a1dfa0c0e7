import { certificatesClient, type CustomObjectCalls } from '../kube/resources.js';
import { RENEW_ANNOTATION } from '../model/certificate.js';

/**
 * `certkeeper renew`: asks for a new issuance by stamping the request time on
 * the Certificate. The operator re-issues when the request is newer than the
 * certificate it holds, so repeating the command is harmless.
 */
export async function requestRenewal(api: CustomObjectCalls, namespace: string, name: string, now: Date): Promise<void> {
  const patched = await certificatesClient(api).mergePatch(name, namespace, { metadata: { annotations: { [RENEW_ANNOTATION]: now.toISOString() } } });
  if (patched === undefined) throw new Error(`Certificate ${namespace}/${name} not found`);
}
