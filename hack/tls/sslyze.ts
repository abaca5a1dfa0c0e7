import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ProtocolVersion } from '../../src/probe/protocols.js';
import { suiteByName } from '../../src/probe/suites.js';
import { installedTool } from '../env/tools.js';

// sslyze 6.3 (PyPI, hack/install-sslyze.sh) as the agreement test runs it:
// one scan of a loopback server with every check the prober shares with it,
// reduced to comparable facts; and its Mozilla compliance verdict, read from
// its console report (its JSON has none).

const execFileAsync = promisify(execFile);
const MAX_OUTPUT = 32 * 1024 * 1024;

export interface SslyzeView {
  protocols: ProtocolVersion[];
  /** Accepted suite code points per version, ascending. */
  suites: Partial<Record<ProtocolVersion, number[]>>;
  /** OpenSSL names (prime256v1, not secp256r1), sorted. */
  curves: string[];
  extendedMasterSecret: boolean;
  secureRenegotiation: boolean;
  clientRenegotiation: boolean;
  fallbackScsv: boolean;
  heartbleed: boolean;
  ccsInjection: boolean;
}

/** The python that runs sslyze, installing it into the tools cache when missing (a failure throws). */
export function sslyzePython(): Promise<string> {
  return installedTool('install-sslyze.sh');
}

const VERSIONS: readonly [string, ProtocolVersion][] = [
  ['ssl_3_0_cipher_suites', 'SSLv3'],
  ['tls_1_0_cipher_suites', 'TLSv1.0'],
  ['tls_1_1_cipher_suites', 'TLSv1.1'],
  ['tls_1_2_cipher_suites', 'TLSv1.2'],
  ['tls_1_3_cipher_suites', 'TLSv1.3'],
];

/** sslyze names NIST curves the SEC way; the prober uses OpenSSL's names. */
const CURVE_NAMES: Readonly<Record<string, string>> = { secp256r1: 'prime256v1', secp192r1: 'prime192v1' };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Pure: the comparable facts of one server in sslyze's --json_out. Throws when a check did not complete. */
export function parseSslyzeJson(text: string): SslyzeView {
  const [server] = arr(obj(JSON.parse(text)).server_scan_results);
  const result = obj(obj(server).scan_result);
  const completed = (name: string): Json => {
    const attempt = obj(result[name]);
    if (attempt.status !== 'COMPLETED') throw new Error(`sslyze ${name}: ${String(attempt.status)} ${JSON.stringify(attempt.error_trace ?? '')}`.trim());
    return obj(attempt.result);
  };
  const protocols: ProtocolVersion[] = [];
  const suites: Partial<Record<ProtocolVersion, number[]>> = {};
  for (const [name, version] of VERSIONS) {
    const r = completed(name);
    if (r.is_tls_version_supported !== true) continue;
    protocols.push(version);
    suites[version] = arr(r.accepted_cipher_suites)
      .map((s) => {
        const suiteName = String(obj(obj(s).cipher_suite).name);
        const suite = suiteByName(suiteName);
        if (suite === undefined) throw new Error(`sslyze named a suite the prober does not know: ${suiteName}`);
        return suite.id;
      })
      .sort((a, b) => a - b);
  }
  const curves = arr(completed('elliptic_curves').supported_curves)
    .map((c) => String(obj(c).name))
    .map((n) => CURVE_NAMES[n] ?? n)
    .sort();
  const reneg = completed('session_renegotiation');
  return {
    protocols,
    suites,
    curves,
    extendedMasterSecret: completed('tls_extended_master_secret').supports_ems_extension === true,
    secureRenegotiation: reneg.supports_secure_renegotiation === true,
    clientRenegotiation: reneg.is_vulnerable_to_client_renegotiation_dos === true,
    fallbackScsv: completed('tls_fallback_scsv').supports_fallback_scsv === true,
    heartbleed: completed('heartbleed').is_vulnerable_to_heartbleed === true,
    ccsInjection: completed('openssl_ccs_injection').is_vulnerable_to_ccs_injection === true,
  };
}

const CHECKS = ['--sslv3', '--tlsv1', '--tlsv1_1', '--tlsv1_2', '--tlsv1_3', '--elliptic_curves', '--ems', '--reneg', '--fallback', '--heartbleed', '--openssl_ccs'];

/** One sslyze scan of 127.0.0.1:port with `serverName` as SNI. */
export async function runSslyze(port: number, serverName: string, dir: string): Promise<{ view: SslyzeView; ms: number }> {
  const python = await sslyzePython();
  await mkdir(dir, { recursive: true });
  const jsonFile = join(dir, `sslyze-${port}.json`);
  const started = performance.now();
  await execFileAsync(python, ['-m', 'sslyze', '--quiet', '--mozilla_config', 'disable', '--json_out', jsonFile, ...CHECKS, `${serverName}:${port}{127.0.0.1}`], { maxBuffer: MAX_OUTPUT, timeout: 300_000 });
  const ms = performance.now() - started;
  return { view: parseSslyzeJson(await readFile(jsonFile, 'utf8')), ms };
}

/**
 * sslyze's Mozilla verdict for `profile`: the issue ids of its report ("* id: text" under "FAILED - Not compliant").
 * An empty list is compliant.
 */
export async function sslyzeMozillaIssues(port: number, serverName: string, profile: 'modern' | 'intermediate' | 'old'): Promise<string[]> {
  const python = await sslyzePython();
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(python, ['-m', 'sslyze', '--mozilla_config', profile, `${serverName}:${port}{127.0.0.1}`], { maxBuffer: MAX_OUTPUT, timeout: 300_000 }));
  } catch (error) {
    // sslyze exits 1 when the server is not compliant; its report is what counts.
    const out = (error as { stdout?: unknown }).stdout;
    if (typeof out !== 'string') throw error;
    stdout = out;
  }
  return parseSslyzeMozillaReport(stdout);
}

/** Pure: the issue ids in sslyze's console report of a Mozilla check. */
export function parseSslyzeMozillaReport(stdout: string): string[] {
  const at = stdout.indexOf('Checking results against Mozilla');
  if (at < 0) throw new Error('sslyze printed no Mozilla check');
  const report = stdout.slice(at);
  if (/: OK - Compliant\./.test(report)) return [];
  if (!/FAILED - Not compliant\./.test(report)) throw new Error(`sslyze's Mozilla check said neither OK nor FAILED:\n${report.slice(0, 500)}`);
  return [...report.matchAll(/^\s+\* ([a-z_0-9]+): /gm)].map((m) => m[1] ?? '').sort();
}
