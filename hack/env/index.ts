/**
 * The local test environment: one piece of code for the demo, the bench,
 * the integration tests (their vitest globalSetup) and hack/dev-env.sh.
 * Imports run one way: the tests' helpers build on hack/, never the reverse.
 */
export {
  attachEnvironment,
  describeEnvironment,
  startEnvironment,
  type AcmeEndpoints,
  type Environment,
  type EnvironmentInfo,
  type EnvironmentVersions,
  type StartOptions,
} from './environment.js';
export { installCrds, readCrds } from './crds.js';
export { checkEnvironment, type HealthReport } from './health.js';
export { ensureTools, REPO_ROOT, type ToolPaths } from './tools.js';
export { resolveA } from './acme.js';
export type { ProcessRecord } from './processes.js';
export {
  localAcmeEnv,
  OPERATOR_NAMESPACE,
  OPERATOR_ENV,
  OPERATOR_NODE_FLAGS,
  startOperatorProcess,
  waitForOperatorReady,
  type LocalAcme,
  type OperatorProcess,
  type OperatorProcessOptions,
} from './operator.js';
