import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { loadKubeConfig, makeKubeClients } from '../kube/client.js';
import { gatherDescribe, renderDescribe } from './describe.js';
import { requestRenewal } from './renew.js';
import { listCertificates, listPolicies, renderStatus } from './status.js';

// `certkeeper status` and `certkeeper renew`: the commands that talk to the
// cluster. main.ts imports this module only when one of them runs, so the
// Kubernetes client stays out of `--version` and `probe`.

export async function runStatusCommand(rest: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { namespace: { type: 'string', short: 'n' }, output: { type: 'string', short: 'o' }, kubeconfig: { type: 'string' } } });
  if (positionals[0] !== undefined) {
    const described = await gatherDescribe(loadKubeConfig(values.kubeconfig), values.namespace ?? 'default', positionals[0], new Date());
    console.log(renderDescribe(described));
    return described.certificate.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true ? 0 : 1;
  }
  const api = makeKubeClients(loadKubeConfig(values.kubeconfig)).customObjects;
  const [certs, policies] = await Promise.all([listCertificates(api, values.namespace), listPolicies(api)]);
  console.log(renderStatus(certs, policies, values.output === 'wide'));
  return certs.every((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) ? 0 : 1;
}

export async function runRenewCommand(rest: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { namespace: { type: 'string', short: 'n' }, kubeconfig: { type: 'string' } } });
  const name = positionals[0];
  if (name === undefined) throw new ConfigError('renew needs the Certificate name: certkeeper renew NAME -n NAMESPACE');
  const namespace = values.namespace ?? 'default';
  await requestRenewal(makeKubeClients(loadKubeConfig(values.kubeconfig)).customObjects, namespace, name, new Date());
  console.log(`renewal of certificate ${namespace}/${name} requested`);
  return 0;
}
