import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertmanagerAuth } from '../../../src/operator/alerts.js';
import { ConfigError, loadOperatorConfig, operatorFlagHelp } from '../../../src/config.js';

describe('alerting settings', () => {
  it('default to no Alertmanager, 30s evaluation, 1m resend, 10m grace', () => {
    expect(loadOperatorConfig([], {})).toMatchObject({ alertmanagerUrl: [], alertEvaluationInterval: 30_000, alertResendInterval: 60_000, alertNotReadyAfter: 600_000 });
  });

  it('take --alertmanager-url repeated, or CERTKEEPER_ALERTMANAGER_URL comma-separated; flags win', () => {
    expect(loadOperatorConfig(['--alertmanager-url', 'http://a:9093', '--alertmanager-url', 'https://b.example/am'], { CERTKEEPER_ALERTMANAGER_URL: 'http://env:9093' }).alertmanagerUrl).toEqual([
      'http://a:9093',
      'https://b.example/am',
    ]);
    expect(loadOperatorConfig([], { CERTKEEPER_ALERTMANAGER_URL: 'http://a:9093, http://b:9093,' }).alertmanagerUrl).toEqual(['http://a:9093', 'http://b:9093']);
    expect(operatorFlagHelp).toContain('--alertmanager-url');
  });

  it('refuse what is not an http(s) URL or a duration, naming the flag', () => {
    expect(() => loadOperatorConfig(['--alertmanager-url', 'am:9093'], {})).toThrow(/--alertmanager-url/);
    expect(() => loadOperatorConfig(['--alert-resend-interval', '60'], {})).toThrow(/--alert-resend-interval: "60" is not a duration/);
    expect(loadOperatorConfig(['--alert-not-ready-after', '2s'], {}).alertNotReadyAfter).toBe(2_000);
  });

  it('read credentials from files, and refuse contradictions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'certkeeper-am-'));
    writeFileSync(join(dir, 'password'), 'pa ss\n');
    writeFileSync(join(dir, 'token'), 'tok\n');
    const base = loadOperatorConfig([], {});
    expect(alertmanagerAuth({ ...base, alertmanagerUsername: 'ops', alertmanagerPasswordFile: join(dir, 'password') })).toEqual({ type: 'basic', username: 'ops', password: 'pa ss' });
    expect(alertmanagerAuth({ ...base, alertmanagerBearerTokenFile: join(dir, 'token') })).toEqual({ type: 'bearer', token: 'tok' });
    expect(alertmanagerAuth(base)).toEqual({ type: 'none' });
    expect(() => alertmanagerAuth({ ...base, alertmanagerPasswordFile: join(dir, 'password') })).toThrow(ConfigError);
    expect(() => alertmanagerAuth({ ...base, alertmanagerUsername: 'a', alertmanagerBearerTokenFile: join(dir, 'token') })).toThrow(/exclude each other/);
    expect(() => alertmanagerAuth({ ...base, alertmanagerBearerTokenFile: join(dir, 'missing') })).toThrow(/cannot read the Alertmanager bearer token file/);
  });
});
