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

  it('refuses unknown flags', () => {
    expect(() => loadOperatorConfig(['--nope'], {})).toThrow(/nope/);
  });
});
