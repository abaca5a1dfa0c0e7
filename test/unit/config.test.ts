import { describe, expect, it } from 'vitest';
import { ConfigError, loadOperatorConfig } from '../../src/config.js';

describe('loadOperatorConfig', () => {
  it('has sane defaults', () => {
    const c = loadOperatorConfig([], {});
    expect(c).toMatchObject({ namespace: 'certkeeper', leaderElect: true, httpPort: 9402, workers: 16, logLevel: 'info' });
  });

  it('flags win over the environment', () => {
    const c = loadOperatorConfig(['--namespace', 'ops', '--leader-elect', 'false'], { CERTKEEPER_NAMESPACE: 'env', CERTKEEPER_WORKERS: '8' });
    expect(c).toMatchObject({ namespace: 'ops', leaderElect: false, workers: 8 });
  });

  it('refuses bad values naming the flag', () => {
    expect(() => loadOperatorConfig(['--http-port', 'http'], {})).toThrow(ConfigError);
    expect(() => loadOperatorConfig(['--workers', '0'], {})).toThrow(/--workers/);
  });

  it('reads the endpoint validation settings from flags and the environment', () => {
    expect(loadOperatorConfig([], {})).toMatchObject({ probeConcurrency: 16, endpointInterval: 600_000, endpointRecheckInterval: 30_000 });
    const c = loadOperatorConfig(['--probe-concurrency', '4', '--endpoint-recheck-interval', '2s'], { CERTKEEPER_ENDPOINT_INTERVAL: '1m', CERTKEEPER_PROBE_CONCURRENCY: '64' });
    expect(c).toMatchObject({ probeConcurrency: 4, endpointInterval: 60_000, endpointRecheckInterval: 2_000 });
    expect(() => loadOperatorConfig(['--probe-concurrency', '0'], {})).toThrow(/--probe-concurrency/);
    expect(() => loadOperatorConfig(['--endpoint-interval', 'soon'], {})).toThrow(/--endpoint-interval/);
  });

  it('reads probe sharing, off by default, and refuses a member lease too short to renew', () => {
    expect(loadOperatorConfig([], {})).toMatchObject({ probeSharing: false, probeSharingLeaseDuration: 30_000 });
    expect(loadOperatorConfig(['--probe-sharing', 'true'], { CERTKEEPER_PROBE_SHARING_LEASE_DURATION: '15s' })).toMatchObject({ probeSharing: true, probeSharingLeaseDuration: 15_000 });
    expect(() => loadOperatorConfig(['--probe-sharing-lease-duration', '1s'], {})).toThrow(/--probe-sharing-lease-duration: must be at least 3s/);
  });

  it('reads the leader\'s probe share: 0.85 by default, from 0.05 to 1', () => {
    expect(loadOperatorConfig([], {}).probeSharingLeaderWeight).toBe(0.85);
    expect(loadOperatorConfig(['--probe-sharing-leader-weight', '0.6'], {}).probeSharingLeaderWeight).toBe(0.6);
    expect(loadOperatorConfig([], { CERTKEEPER_PROBE_SHARING_LEADER_WEIGHT: '1' }).probeSharingLeaderWeight).toBe(1);
    for (const bad of ['0', '1.2', '-1', 'half']) expect(() => loadOperatorConfig(['--probe-sharing-leader-weight', bad], {})).toThrow(/--probe-sharing-leader-weight/);
  });

  it('reads who may read /metrics and which addresses may be probed', () => {
    expect(loadOperatorConfig([], {})).toMatchObject({ httpAuth: 'kubernetes', probeAllowedCidrs: [] });
    expect(loadOperatorConfig(['--http-auth', 'none', '--probe-allowed-cidrs', '10.244.0.0/16', '--probe-allowed-cidrs', 'fd00::/8'], {})).toMatchObject({
      httpAuth: 'none',
      probeAllowedCidrs: ['10.244.0.0/16', 'fd00::/8'],
    });
    expect(loadOperatorConfig([], { CERTKEEPER_PROBE_ALLOWED_CIDRS: '10.244.0.0/16, 10.96.0.0/12' })).toMatchObject({ probeAllowedCidrs: ['10.244.0.0/16', '10.96.0.0/12'] });
    expect(() => loadOperatorConfig(['--probe-allowed-cidrs', '10.244.0.0'], {})).toThrow(/--probe-allowed-cidrs.*must be a CIDR/);
    expect(() => loadOperatorConfig(['--probe-allowed-cidrs', '10.0.0.0/33'], {})).toThrow(/must be a CIDR/);
    expect(() => loadOperatorConfig(['--http-auth', 'maybe'], {})).toThrow(/--http-auth/);
  });

  it('reads the watched namespaces from repeated flags or one comma-separated variable, and refuses names that are not namespaces', () => {
    expect(loadOperatorConfig([], {}).watchNamespaces).toEqual([]);
    expect(loadOperatorConfig(['--watch-namespaces', 'team-a', '--watch-namespaces', 'team-b', '--watch-namespaces', 'team-a'], {}).watchNamespaces).toEqual(['team-a', 'team-b']);
    expect(loadOperatorConfig([], { CERTKEEPER_WATCH_NAMESPACES: 'team-a, team-b,' }).watchNamespaces).toEqual(['team-a', 'team-b']);
    expect(() => loadOperatorConfig(['--watch-namespaces', 'Team_A'], {})).toThrow(/--watch-namespaces.*namespace name/);
    expect(() => loadOperatorConfig(['--watch-namespaces', 'a/b'], {})).toThrow(/namespace name/);
  });

  it('reads which inventory sources are watched, the ConfigMap selector and the webhook CA alert severity', () => {
    expect(loadOperatorConfig([], {})).toMatchObject({ inventorySources: ['webhooks', 'apiservices', 'crds', 'secrets'], alertApiServerCaSeverity: 'critical' });
    expect(loadOperatorConfig([], {}).inventoryConfigmapSelector).toBeUndefined();
    expect(loadOperatorConfig(['--inventory-sources', 'webhooks,crds', '--inventory-configmap-selector', 'trust=yes'], {})).toMatchObject({ inventorySources: ['webhooks', 'crds'], inventoryConfigmapSelector: 'trust=yes' });
    expect(loadOperatorConfig([], { CERTKEEPER_INVENTORY_SOURCES: 'none', CERTKEEPER_INVENTORY_CONFIGMAP_SELECTOR: 'a=b', CERTKEEPER_ALERT_API_SERVER_CA_SEVERITY: 'warning' })).toMatchObject({
      inventorySources: [],
      inventoryConfigmapSelector: 'a=b',
      alertApiServerCaSeverity: 'warning',
    });
    expect(() => loadOperatorConfig(['--inventory-sources', 'pods'], {})).toThrow(/--inventory-sources/);
  });

  it('refuses unknown flags', () => {
    expect(() => loadOperatorConfig(['--nope'], {})).toThrow(/nope/);
  });
});
