import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { ProtocolVersion } from '../../src/probe/protocols.js';
import { installedTool } from '../env/tools.js';

// The independent scanners the prober must agree with — Debian's testssl.sh
// and sslscan — run against loopback only, reduced to what is compared:
// accepted protocol versions and, per version, accepted suites by code point.

export const TESTSSL = '/usr/bin/testssl';
export const SSLSCAN = '/usr/bin/sslscan';

export interface ScannerView {
  tool: 'testssl' | 'sslscan';
  protocols: ProtocolVersion[];
  /** Accepted suite code points per version, ascending. */
  suites: Partial<Record<ProtocolVersion, number[]>>;
}

const execFileAsync = promisify(execFile);
const MAX_OUTPUT = 32 * 1024 * 1024;

function sorted(values: Iterable<number>): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

const SSLSCAN_VERSIONS: Readonly<Record<string, ProtocolVersion>> = { 'ssl 3': 'SSLv3', 'tls 1.0': 'TLSv1.0', 'tls 1.1': 'TLSv1.1', 'tls 1.2': 'TLSv1.2', 'tls 1.3': 'TLSv1.3' };

/** Pure: the protocols and suites in sslscan's XML. */
export function parseSslscanXml(xml: string): ScannerView {
  const protocols: ProtocolVersion[] = [];
  for (const match of xml.matchAll(/<protocol type="(ssl|tls)" version="([\d.]+)" enabled="1"/g)) {
    const version = SSLSCAN_VERSIONS[`${match[1]} ${match[2]}`];
    if (version !== undefined) protocols.push(version);
  }
  const suites: Partial<Record<ProtocolVersion, number[]>> = {};
  for (const match of xml.matchAll(/<cipher status="(?:accepted|preferred)" sslversion="([^"]+)"[^>]* id="0x([0-9A-Fa-f]+)"/g)) {
    const version = match[1] === 'SSLv3' ? 'SSLv3' : (match[1] as ProtocolVersion);
    suites[version] = sorted([...(suites[version] ?? []), parseInt(match[2] ?? '', 16)]);
  }
  return { tool: 'sslscan', protocols, suites };
}

export async function runSslscan(port: number, serverName: string): Promise<ScannerView> {
  const { stdout } = await execFileAsync(SSLSCAN, ['--xml=-', '--no-colour', '--no-heartbleed', '--no-compression', '--no-fallback', '--no-renegotiation', '--no-groups', `--sni-name=${serverName}`, `127.0.0.1:${port}`], {
    maxBuffer: MAX_OUTPUT,
    timeout: 60_000,
  });
  return parseSslscanXml(stdout);
}

const TESTSSL_VERSIONS: Readonly<Record<string, ProtocolVersion>> = { SSLv3: 'SSLv3', TLS1: 'TLSv1.0', TLS1_1: 'TLSv1.1', TLS1_2: 'TLSv1.2', TLS1_3: 'TLSv1.3' };
const TESTSSL_CIPHER_VERSIONS: Readonly<Record<string, ProtocolVersion>> = { ssl3: 'SSLv3', tls1: 'TLSv1.0', tls1_1: 'TLSv1.1', tls1_2: 'TLSv1.2', tls1_3: 'TLSv1.3' };

interface TestsslEntry {
  id: string;
  finding: string;
}

function isEntry(value: unknown): value is TestsslEntry {
  return typeof value === 'object' && value !== null && 'id' in value && 'finding' in value && typeof value.id === 'string' && typeof value.finding === 'string';
}

/** Pure: the protocols and per-protocol suites of testssl's flat JSON (`--jsonfile`, `-p -E`). */
export function parseTestsslJson(text: string): ScannerView {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('testssl JSON is not an array');
  const entries = parsed.filter(isEntry);
  const protocols = entries.flatMap((e) => {
    const version = TESTSSL_VERSIONS[e.id];
    return version !== undefined && e.finding.startsWith('offered') ? [version] : [];
  });
  const suites: Partial<Record<ProtocolVersion, number[]>> = {};
  for (const e of entries) {
    const match = /^cipher-(ssl3|tls1(?:_[123])?)_x([0-9a-f]+)$/.exec(e.id);
    const version = match?.[1] === undefined ? undefined : TESTSSL_CIPHER_VERSIONS[match[1]];
    if (version === undefined || match?.[2] === undefined) continue;
    suites[version] = sorted([...(suites[version] ?? []), parseInt(match[2], 16)]);
  }
  return { tool: 'testssl', protocols, suites };
}

/** testssl.sh -p -E (protocols, then every suite per protocol) against 127.0.0.1:port. Slow: tens of seconds. */
export async function runTestssl(port: number, dir: string): Promise<ScannerView> {
  return parseTestsslJson(await testsslJson(TESTSSL, ['-p', '-E'], `127.0.0.1:${port}`, join(dir, `testssl-${port}.json`)));
}

/** Runs testssl.sh (`script`, with `env`) and returns the flat JSON it wrote. Slow: tens of seconds. */
async function testsslJson(script: string, checks: string[], target: string, jsonFile: string, env?: NodeJS.ProcessEnv): Promise<string> {
  await mkdir(dirname(jsonFile), { recursive: true });
  let failure: unknown;
  try {
    await execFileAsync('bash', [script, '--quiet', '--color', '0', '--warnings', 'off', '--jsonfile', jsonFile, ...checks, target], {
      maxBuffer: MAX_OUTPUT,
      timeout: 300_000,
      ...(env === undefined ? {} : { env }),
    });
  } catch (error) {
    // testssl exits non-zero for "ambiguous" findings too; the JSON it wrote is what counts.
    failure = error;
  }
  try {
    return await readFile(jsonFile, 'utf8');
  } catch {
    throw new Error(`testssl wrote no JSON for ${target}: ${failure instanceof Error ? failure.message : String(failure)}`);
  }
}

/** The directory of testssl.sh 3.2 (hack/install-testssl.sh; unpacked on first use, a failure throws). */
export function testssl32Dir(): Promise<string> {
  return installedTool('install-testssl.sh');
}

export interface TestsslGroups {
  /** FS_KEMs: the ML-KEM groups (hybrid and pure) the server accepts, in testssl's order. */
  kems: string[];
  /** FS_ECDHE_curves: the classical groups, OpenSSL names. */
  curves: string[];
}

/** Pure: the key exchange groups in testssl.sh 3.2's flat JSON (`--jsonfile`, `--fs`). Throws when it has no curve verdict. */
export function parseTestsslGroups(text: string): TestsslGroups {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('testssl JSON is not an array');
  const entries = parsed.filter(isEntry);
  const words = (id: string) => entries.find((e) => e.id === id)?.finding.split(/\s+/).filter((w) => w !== '') ?? [];
  if (!entries.some((e) => e.id === 'FS_ECDHE_curves')) throw new Error(`testssl reported no FS_ECDHE_curves (ids: ${entries.map((e) => e.id).join(', ')})`);
  return { kems: words('FS_KEMs'), curves: words('FS_ECDHE_curves') };
}

/** testssl.sh 3.2 --fs against host:port: which groups it sees. Tens of seconds. */
export async function runTestsslGroups(testsslDir: string, host: string, port: number, dir: string): Promise<TestsslGroups> {
  const env = { ...process.env, TESTSSL_INSTALL_DIR: join(testsslDir, 'etc', 'testssl') };
  return parseTestsslGroups(await testsslJson(join(testsslDir, 'usr', 'bin', 'testssl'), ['--fs'], `${host}:${port}`, join(dir, `testssl32-${port}.json`), env));
}
