import { apiErrorMessage } from './kube/errors.js';
import { packageVersion } from './version.js';

// The dispatcher loads only the command that runs (dynamic import): the
// operator's module graph (the Kubernetes client, zod schemas, x509, pino)
// costs ~0.7 CPU-s and ~100 MB to load, which `--version` and `probe` never
// need. kube/errors.js and version.js are dependency-free, so they are the
// only static imports.

const USAGE_HEAD = `certkeeper — certificate lifecycle operator for Kubernetes

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
`;

async function usage(): Promise<string> {
  const { operatorFlagHelp } = await import('./config.js');
  return `${USAGE_HEAD}${operatorFlagHelp}\n`;
}

type Command = (rest: string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  operator: async () => {
    const [{ loadOperatorConfig }, { createLogger }, { runOperatorProcess }] = await Promise.all([import('./config.js'), import('./log.js'), import('./operator/run.js')]);
    return (rest) => {
      const config = loadOperatorConfig(rest);
      return runOperatorProcess(config, createLogger(config.logLevel));
    };
  },
  status: async () => (await import('./cli/cluster-commands.js')).runStatusCommand,
  renew: async () => (await import('./cli/cluster-commands.js')).runRenewCommand,
  inventory: async () => (await import('./cli/inventory.js')).runInventoryCommand,
  probe: async () => {
    const { runProbe } = await import('./cli/probe.js');
    return (rest) => runProbe(rest, { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
  },
};

function printVersion(): number {
  console.log(`certkeeper ${packageVersion()}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'version':
    case '--version':
      return printVersion();
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(await usage());
      return command === undefined ? 2 : 0;
    default: {
      const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
      if (load === undefined) {
        console.error(`unknown command "${command}"\n\n${await usage()}`);
        return 2;
      }
      return (await load())(rest);
    }
  }
}

async function reportFailure(err: unknown): Promise<void> {
  // config.js is loaded here only when needed: a command that threw a ConfigError has loaded it already.
  const { ConfigError } = await import('./config.js');
  if (err instanceof ConfigError || (err instanceof TypeError && 'code' in err)) console.error(`certkeeper: ${err.message}`);
  else console.error(`certkeeper: ${apiErrorMessage(err)}`);
}

/**
 * Exits once stdout and stderr have handed everything to the OS: process.exit
 * with output still queued for a pipe cuts it off (at 64 KiB when the reader is
 * slow), and an inventory as JSON is larger than that.
 */
function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exitAfterOutput, async (err: unknown) => {
  await reportFailure(err);
  exitAfterOutput(2);
});
