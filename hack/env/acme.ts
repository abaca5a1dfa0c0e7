import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PkiPaths } from './certificates.js';
import { getJson, httpFetch } from './http.js';
import { LOOPBACK } from './ports.js';
import { ManagedProcess, stopOnFailure, waitForReady } from './processes.js';

const run = promisify(execFile);
const START_TIMEOUT_MS = 30_000;

export interface ChalltestsrvOptions {
  binary: string;
  dir: string;
  dnsPort: number;
  managementPort: number;
  detached: boolean;
  signal?: AbortSignal;
  onStart?: (process: ManagedProcess) => void;
}

export interface RunningChalltestsrv {
  process: ManagedProcess;
  /** Management API (plain HTTP): /add-a, /set-txt, /set-servfail, ... */
  managementUrl: string;
  /** `127.0.0.1:<port>`, UDP and TCP. */
  dnsServer: string;
}

/** Resolves `name` (A record) against one DNS server only. */
export async function resolveA(dnsServer: string, name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 1_000, tries: 1 });
  resolver.setServers([dnsServer]);
  return resolver.resolve4(name);
}

/**
 * pebble-challtestsrv as Pebble's DNS: every A query answers 127.0.0.1, no
 * AAAA, so Pebble's validator always connects back to loopback. Its own
 * HTTP-01/TLS-ALPN-01/DoH responders stay off: the operator under test serves
 * the challenges.
 */
export async function startChalltestsrv(options: ChalltestsrvOptions): Promise<RunningChalltestsrv> {
  const dnsServer = `${LOOPBACK}:${options.dnsPort}`;
  const managementUrl = `http://${LOOPBACK}:${options.managementPort}`;
  const process = ManagedProcess.start({
    name: 'pebble-challtestsrv',
    command: options.binary,
    args: [
      `-dnsserver=${dnsServer}`,
      `-management=${LOOPBACK}:${options.managementPort}`,
      `-defaultIPv4=${LOOPBACK}`,
      '-defaultIPv6=',
      '-http01=',
      '-https01=',
      '-tlsalpn01=',
      '-doh=',
    ],
    logFile: join(options.dir, 'pebble-challtestsrv.log'),
    detached: options.detached,
    onStart: options.onStart,
  });
  return stopOnFailure(process, async () => {
    await waitForReady(
      async () => {
        const response = await httpFetch(`${managementUrl}/set-default-ipv4`, {
          method: 'POST',
          body: JSON.stringify({ ip: LOOPBACK }),
        });
        if (response.status !== 200) throw new Error(`management API: HTTP ${response.status}`);
        const answers = await resolveA(dnsServer, 'probe.certkeeper.test');
        return answers.includes(LOOPBACK) ? true : undefined;
      },
      {
        description: `pebble-challtestsrv (DNS ${dnsServer}, management ${managementUrl})`,
        timeoutMs: START_TIMEOUT_MS,
        watch: [process],
        signal: options.signal,
      },
    );
    return { process, managementUrl, dnsServer };
  });
}

export interface PebbleOptions {
  binary: string;
  /** Its config and log go here. */
  dir: string;
  /** Process name in errors; default "pebble". */
  name?: string;
  pki: PkiPaths;
  port: number;
  managementPort: number;
  /** Where Pebble's validator connects for HTTP-01: the operator's solver listens here. */
  httpChallengePort: number;
  /** Where Pebble's validator connects for TLS-ALPN-01. */
  tlsAlpnChallengePort: number;
  dnsServer: string;
  /** Names Pebble refuses to issue for. */
  domainBlocklist?: readonly string[];
  /** keyID -> base64url HMAC key; when given, accounts must bind one of them (EAB). */
  eabKeys?: Record<string, string>;
  /** ACME profiles Pebble offers, by name. */
  profiles?: Record<string, { description: string; validityPeriod: number }>;
  /** Extra roots, each with its own chain (PEBBLE_ALTERNATE_ROOTS). */
  alternateRoots?: number;
  /** Percentage of valid authorizations Pebble reuses (PEBBLE_AUTHZREUSE); Pebble's own default when absent. */
  authzReusePercent?: number;
  /**
   * The Retry-After (seconds) Pebble puts on an authorization whose challenge
   * is being validated and on a processing order (as seconds or as a date, at
   * random); 0 sends none. Default 1 and 1: the operator waits it out, so the
   * tests see it honoured without Pebble's sample 3 s / 5 s on every issuance.
   */
  retryAfter?: { authz: number; order: number };
  detached?: boolean;
  signal?: AbortSignal;
  onStart?: (process: ManagedProcess) => void;
  /** Processes Pebble depends on: their death ends the wait too. */
  dependsOn?: readonly ManagedProcess[];
}

export interface RunningPebble {
  process: ManagedProcess;
  directoryUrl: string;
  managementUrl: string;
  /** The root Pebble issues under (fresh every start), as a PEM file. */
  issuanceRootPath: string;
  logFile: string;
  version: string;
}

interface PebbleDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
}

function isDirectory(value: unknown): value is PebbleDirectory {
  const dir = value as Partial<Record<keyof PebbleDirectory, unknown>> | null;
  return typeof dir?.newNonce === 'string' && typeof dir.newAccount === 'string' && typeof dir.newOrder === 'string';
}

/**
 * The version of a Pebble binary: its -version flag, or, for a plain
 * `go install` build that says `dev`, the module version in its build info.
 */
export async function pebbleVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['-version']);
  const stated = /version:\s*(\S+)/.exec(stdout)?.[1];
  if (stated !== undefined && stated !== 'dev') return stated;
  try {
    const info = await run('go', ['version', '-m', binary]);
    const module = /^\s*mod\s+github\.com\/letsencrypt\/pebble\/v2\s+(\S+)/m.exec(info.stdout)?.[1];
    if (module !== undefined) return module;
  } catch {
    // No Go toolchain here: fall through to what the binary said.
  }
  return stated ?? 'unknown';
}

function pebbleConfig(options: PebbleOptions): object {
  return {
    pebble: {
      listenAddress: `${LOOPBACK}:${options.port}`,
      managementListenAddress: `${LOOPBACK}:${options.managementPort}`,
      certificate: options.pki.pebbleCert,
      privateKey: options.pki.pebbleKey,
      httpPort: options.httpChallengePort,
      tlsPort: options.tlsAlpnChallengePort,
      ocspResponderURL: '',
      externalAccountBindingRequired: options.eabKeys !== undefined,
      ...(options.eabKeys === undefined ? {} : { externalAccountMACKeys: options.eabKeys }),
      ...(options.profiles === undefined ? {} : { profiles: options.profiles }),
      ...(options.domainBlocklist === undefined ? {} : { domainBlocklist: options.domainBlocklist }),
      retryAfter: options.retryAfter ?? { authz: 1, order: 1 },
      keyAlgorithm: 'ecdsa',
    },
  };
}

function pebbleEnv(options: PebbleOptions): Record<string, string> {
  return {
    PEBBLE_VA_NOSLEEP: '1',
    ...(options.authzReusePercent === undefined ? {} : { PEBBLE_AUTHZREUSE: String(options.authzReusePercent) }),
    ...(options.alternateRoots === undefined ? {} : { PEBBLE_ALTERNATE_ROOTS: String(options.alternateRoots) }),
  };
}

/**
 * Pebble with a config in `<dir>`, serving HTTPS with our CA's certificate,
 * resolving through `dnsServer`, without the validator's random sleeps: the
 * environment's shared one and the ACME tests' own variants (EAB, profiles,
 * alternate chains, BIND as DNS) alike. Pebble's default 5 % bad-nonce
 * rejection stays on: clients must retry.
 */
export async function startPebble(options: PebbleOptions): Promise<RunningPebble> {
  await mkdir(options.dir, { recursive: true });
  const configPath = join(options.dir, 'pebble-config.json');
  await writeFile(configPath, JSON.stringify(pebbleConfig(options), null, 2) + '\n');
  const process = ManagedProcess.start({
    name: options.name ?? 'pebble',
    command: options.binary,
    args: ['-config', configPath, '-dnsserver', options.dnsServer],
    env: pebbleEnv(options),
    logFile: join(options.dir, 'pebble.log'),
    detached: options.detached,
    onStart: options.onStart,
  });
  return stopOnFailure(process, async () => {
    const directoryUrl = `https://${LOOPBACK}:${options.port}/dir`;
    const managementUrl = `https://${LOOPBACK}:${options.managementPort}`;
    const ca = await readFile(options.pki.caCert, 'utf8');
    const watch = [...(options.dependsOn ?? []), process];
    await waitForReady(
      async () => {
        const directory = await getJson(directoryUrl, { ca });
        if (!isDirectory(directory)) throw new Error(`not an ACME directory: ${JSON.stringify(directory)}`);
        return directory;
      },
      { description: `Pebble directory ${directoryUrl}`, timeoutMs: START_TIMEOUT_MS, watch, signal: options.signal },
    );
    const root = await waitForReady(
      async () => {
        const response = await httpFetch(`${managementUrl}/roots/0`, { tls: { ca } });
        if (response.status !== 200 || !response.body.includes('BEGIN CERTIFICATE')) {
          throw new Error(`/roots/0: HTTP ${response.status}`);
        }
        return response.body;
      },
      {
        description: `Pebble issuance root ${managementUrl}/roots/0`,
        timeoutMs: START_TIMEOUT_MS,
        watch,
        signal: options.signal,
      },
    );
    const issuanceRootPath = join(options.dir, 'pebble-issuance-root.pem');
    await writeFile(issuanceRootPath, root.endsWith('\n') ? root : `${root}\n`);
    return { process, directoryUrl, managementUrl, issuanceRootPath, logFile: process.record.logFile, version: await pebbleVersion(options.binary) };
  });
}
