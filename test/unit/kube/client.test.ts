import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadKubeConfig, makeKubeClients } from '../../../src/kube/client.js';

const dir = mkdtempSync(join(tmpdir(), 'certkeeper-kubeconfig-'));

function kubeconfig(file: string, server: string): string {
  const path = join(dir, file);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server}"}}]`,
      'users: [{name: u, user: {token: t}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
    ].join('\n'),
  );
  return path;
}

afterEach(() => {
  vi.unstubAllEnvs();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadKubeConfig', () => {
  it('prefers an explicit path over KUBECONFIG', () => {
    vi.stubEnv('KUBECONFIG', kubeconfig('env.yaml', 'https://from-env:6443'));
    const kc = loadKubeConfig(kubeconfig('explicit.yaml', 'https://explicit:6443'));
    expect(kc.getCurrentCluster()?.server).toBe('https://explicit:6443');
  });

  it('uses KUBECONFIG when no path is given', () => {
    vi.stubEnv('KUBECONFIG', kubeconfig('env2.yaml', 'https://from-env:6443'));
    expect(loadKubeConfig().getCurrentCluster()?.server).toBe('https://from-env:6443');
  });

  it('names the file it could not load', () => {
    expect(() => loadKubeConfig(join(dir, 'missing.yaml'))).toThrow(/loading Kubernetes credentials: .*missing\.yaml/);
  });

  it('rejects a kubeconfig without a current cluster', () => {
    const path = join(dir, 'empty.yaml');
    writeFileSync(path, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    expect(() => loadKubeConfig(path)).toThrow('no current context/cluster');
  });

  it('makes every client from one config', () => {
    const clients = makeKubeClients(loadKubeConfig(kubeconfig('clients.yaml', 'https://api:6443')));
    expect(Object.keys(clients).sort()).toEqual(['apps', 'authentication', 'authorization', 'certificates', 'coordination', 'core', 'customObjects', 'events', 'kubeConfig', 'networking', 'secrets', 'tlsPolicies']);
    expect(clients.kubeConfig).toBeDefined();
  });

  it('gives a pool of its own its own config, leaving the shared one as it was', () => {
    const kc = loadKubeConfig(kubeconfig('pool.yaml', 'https://api:6443'));
    const shared = makeKubeClients(kc);
    const own = makeKubeClients(kc, { maxSockets: 256, retryTransportErrors: true });
    expect(shared.kubeConfig).toBe(kc);
    expect(own.kubeConfig).not.toBe(kc);
    expect(own.kubeConfig.getCurrentCluster()?.server).toBe('https://api:6443');
  });
});
