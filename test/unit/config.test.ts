import { describe, expect, it } from 'vitest';
import { ConfigError, loadOperatorConfig } from '../../src/config.js';

describe('loadOperatorConfig', () => {
  it('has sane defaults', () => {
    const c = loadOperatorConfig([], {});
    expect(c).toMatchObject({ namespace: 'certkeeper', leaderElect: true, httpPort: 9402, workers: 4, logLevel: 'info' });
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

  it('refuses unknown flags', () => {
    expect(() => loadOperatorConfig(['--nope'], {})).toThrow(/nope/);
  });
});
