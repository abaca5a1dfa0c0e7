import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_NAMES } from '../../../src/alerts/model.js';

// The PrometheusRule file the chart ships, checked by the real promtool
// (Debian `prometheus`; hack/install-deps.sh). Missing promtool fails here.

const run = promisify(execFile);
const RULES_DIR = resolve(import.meta.dirname, '../../../charts/certkeeper/rules');
const RULES = join(RULES_DIR, 'certkeeper-alerts.rules.yaml');
const TESTS = readdirSync(join(RULES_DIR, 'tests')).filter((f) => f.endsWith('.yaml')).map((f) => join(RULES_DIR, 'tests', f));

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[];
}

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool is not installed (Debian package "prometheus"; run hack/install-deps.sh)');
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

describe('charts/certkeeper/rules', () => {
  it('promtool accepts the rules file', async () => {
    const result = await promtool('check', 'rules', RULES);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('promtool test rules passes', async () => {
    const result = await promtool('test', 'rules', ...TESTS);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('ships exactly the alerts the operator pushes, each with severity, summary, description and runbook', () => {
    expect([...new Set(rules.map((r) => r.alert))].sort()).toEqual([...ALERT_NAMES].sort());
    for (const r of rules) {
      expect(['warning', 'critical'], r.alert).toContain(r.labels?.severity);
      expect(Object.keys(r.annotations ?? {}).sort(), r.alert).toEqual(['description', 'runbook', 'summary']);
    }
  });

  it('tests every alert both firing and not firing', () => {
    const cases = TESTS.flatMap((f) => (parse(readFileSync(f, 'utf8')) as { tests: RuleTest[] }).tests.flatMap((t) => t.alert_rule_test ?? []));
    for (const name of ALERT_NAMES) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${name} fires somewhere`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${name} stays quiet somewhere`).toBe(true);
    }
  });

  it.each([
    ['a shorter grace period for CertificateNotReady', 'for: 10m', 'for: 1m'],
    ['a policy violation count of zero alerting', 'certkeeper_endpoint_policy_violations > 0', 'certkeeper_endpoint_policy_violations >= 0'],
    ['ignoring the critical threshold', 'unless on (namespace, secret)', 'and on (namespace, secret)'],
  ])('the tests catch a broken rule: %s', async (_what, from, to) => {
    const dir = mkdtempSync(join(tmpdir(), 'certkeeper-rules-'));
    cpSync(RULES_DIR, dir, { recursive: true });
    const text = readFileSync(join(dir, 'certkeeper-alerts.rules.yaml'), 'utf8');
    expect(text).toContain(from);
    writeFileSync(join(dir, 'certkeeper-alerts.rules.yaml'), text.replace(from, to));
    const result = await promtool('test', 'rules', ...readdirSync(join(dir, 'tests')).map((f) => join(dir, 'tests', f)));
    expect(result.output).toContain('FAILED');
    expect(result.code).not.toBe(0);
  });
});
