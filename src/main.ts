import { parseArgs } from 'node:util';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { requestRenewal } from './cli/renew.js';
import { listCertificates, listPolicies, renderStatus } from './cli/status.js';
import { ConfigError, loadOperatorConfig, operatorFlagHelp } from './config.js';
import { loadKubeConfig } from './kube/client.js';
import { apiErrorMessage } from './kube/errors.js';
import { createLogger } from './log.js';
import { runOperatorProcess } from './operator/run.js';

const USAGE = `certkeeper — certificate lifecycle operator for Kubernetes

Usage:
  certkeeper operator [flags]               run the operator
  certkeeper status [-n NS] [-o wide]       certificates and policies, not-Ready first
  certkeeper renew NAME -n NS               request a new issuance now
  certkeeper version

Operator flags:
${operatorFlagHelp}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'operator': {
      const config = loadOperatorConfig(rest);
      return runOperatorProcess(config, createLogger(config.logLevel));
    }
    case 'status': {
      const { values } = parseArgs({ args: rest, options: { namespace: { type: 'string', short: 'n' }, output: { type: 'string', short: 'o' }, kubeconfig: { type: 'string' } } });
      const api = loadKubeConfig(values.kubeconfig).makeApiClient(CustomObjectsApi);
      const [certs, policies] = await Promise.all([listCertificates(api, values.namespace), listPolicies(api)]);
      console.log(renderStatus(certs, policies, values.output === 'wide'));
      return certs.every((c) => c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) ? 0 : 1;
    }
    case 'renew': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { namespace: { type: 'string', short: 'n' }, kubeconfig: { type: 'string' } } });
      const name = positionals[0];
      if (name === undefined) throw new ConfigError('renew needs the Certificate name: certkeeper renew NAME -n NAMESPACE');
      const namespace = values.namespace ?? 'default';
      await requestRenewal(loadKubeConfig(values.kubeconfig).makeApiClient(CustomObjectsApi), namespace, name, new Date());
      console.log(`renewal of certificate ${namespace}/${name} requested`);
      return 0;
    }
    case 'version':
      console.log('certkeeper 0.1.0');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || (err instanceof TypeError && 'code' in err)) console.error(`certkeeper: ${err.message}`);
    else console.error(`certkeeper: ${apiErrorMessage(err)}`);
    process.exit(2);
  },
);
