/**
 * vitest globalSetup of the integration project: one real environment
 * (etcd + kube-apiserver + Pebble + pebble-challtestsrv) for the whole run,
 * CRDs installed, details handed to tests with `inject(...)` (types in
 * provided-context.d.ts). Anything missing or not starting fails the run;
 * nothing is ever skipped.
 *
 * CERTKEEPER_KEEP_ENV=1 keeps the environment's directory (logs) afterwards.
 */
import type { TestProject } from 'vitest/node';
import { startEnvironment, type Environment } from '../../hack/env/environment.js';

let env: Environment | undefined;

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`test environment started without ${what}`);
  return value;
}

export async function setup(project: TestProject): Promise<void> {
  const keepDir = process.env.CERTKEEPER_KEEP_ENV === '1';
  env = await startEnvironment({ log: (line) => process.stderr.write(`[test-env] ${line}\n`), keepDir, crds: true });
  try {
    const kubeconfigPath = required(env.kubeconfigPath, 'a kubeconfig');
    const versions = {
      kubeApiserver: required(env.versions.kubeApiserver, 'a kube-apiserver version'),
      etcd: required(env.versions.etcd, 'an etcd version'),
      pebble: required(env.versions.pebble, 'a Pebble version'),
    };
    const { installedCrds } = env;
    process.stderr.write(
      `[test-env] integration tests run against kube-apiserver ${versions.kubeApiserver}, etcd ${versions.etcd}, ` +
        `Pebble ${versions.pebble}; CRDs: ${installedCrds.length === 0 ? 'none in crds/' : installedCrds.join(', ')}` +
        `${keepDir ? `; kept in ${env.dir}` : ''}\n`,
    );
    project.provide('kubeconfigPath', kubeconfigPath);
    project.provide('apiserverUrl', required(env.apiserverUrl, 'an apiserver URL'));
    project.provide('envDir', env.dir);
    project.provide('envVersions', versions);
    project.provide('installedCrds', installedCrds);
    project.provide('acme', required(env.acme, 'the ACME components'));
  } catch (error) {
    await teardown();
    throw error;
  }
}

export async function teardown(): Promise<void> {
  const running = env;
  env = undefined;
  await running?.stop();
}
