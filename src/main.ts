import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runProbe } from './cli/probe.js';
import { requestRenewal } from './cli/renew.js';
import { listCertificates, listPolicies, renderStatus } from './cli/status.js';
import { gatherDescribe, renderDescribe } from './cli/describe.js';
import { runInventoryCommand } from './cli/inventory.js';
import { ConfigError, loadOperatorConfig, operatorFlagHelp } from './config.js';
import { loadKubeConfig, makeKubeClients } from './kube/client.js';
import { apiErrorMessage } from './kube/errors.js';
import { createLogger } from './log.js';
import { runOperatorProcess } from './operator/run.js';

const USAGE = `certkeeper — certificate lifecycle operator for Kubernetes

Usage:
  certkeeper operator [flags]               run the operator
  certkeeper status [-n NS] [-o wide]       certificates and policies, not-Ready first
  certkeeper status NAME -n NS              one Certificate in full: spec, conditions, Secret, renewal, events
  certkeeper inventory [-A|-n NS] [--expiring-within 30d] [--problem P] [--managed M] [-o table|json]
                                            every TLS certificate in the cluster, soonest expiry first
  certkeeper renew NAME -n NS               request a new issuance now
  certkeeper probe HOST:PORT [--sni NAME] [--profile P] [--ca-file F] [-o table|json]
                                            live TLS scan: protocols, suites, chain, grade, profile check
  certkeeper version | --version

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
    case 'renew': {
      const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { namespace: { type: 'string', short: 'n' }, kubeconfig: { type: 'string' } } });
      const name = positionals[0];
      if (name === undefined) throw new ConfigError('renew needs the Certificate name: certkeeper renew NAME -n NAMESPACE');
      const namespace = values.namespace ?? 'default';
      await requestRenewal(makeKubeClients(loadKubeConfig(values.kubeconfig)).customObjects, namespace, name, new Date());
      console.log(`renewal of certificate ${namespace}/${name} requested`);
      return 0;
    }
    case 'inventory':
      return runInventoryCommand(rest);
    case 'probe':
      return runProbe(rest, { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
    case 'version':
    case '--version': {
      // package.json is one level above both src/ (tsx) and dist/ (the build and the image).
      const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
      console.log(`certkeeper ${pkg.version}`);
      return 0;
    }
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
