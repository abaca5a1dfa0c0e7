import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOOPBACK } from './ports.js';
import { ManagedProcess, stopOnFailure, waitForReady } from './processes.js';

// BIND 9 (Debian's named) as the authoritative nameserver of DNS-01 tests:
// its own config in a temp dir (never /etc/bind), loopback only, a port
// chosen by the caller, zones that accept RFC 2136 updates signed with TSIG.
// One key per HMAC algorithm may update; one more key exists that may not.

const START_TIMEOUT_MS = 20_000;

/** TSIG algorithms as TLSPolicy names them, with BIND's names. */
export const BIND_TSIG_ALGORITHMS = {
  HMACMD5: 'hmac-md5',
  HMACSHA1: 'hmac-sha1',
  HMACSHA224: 'hmac-sha224',
  HMACSHA256: 'hmac-sha256',
  HMACSHA384: 'hmac-sha384',
  HMACSHA512: 'hmac-sha512',
} as const;
export type BindTsigAlgorithm = keyof typeof BIND_TSIG_ALGORITHMS;

export interface BindKey {
  name: string;
  algorithm: BindTsigAlgorithm;
  /** base64, as tsig-keygen prints it. */
  secret: string;
}

export interface BindOptions {
  dir: string;
  port: number;
  /** Zones this server is authoritative for, e.g. ["certkeeper.test"]; each has `* A 127.0.0.1`. */
  zones: readonly string[];
  binary?: string;
  detached?: boolean;
  onStart?: (process: ManagedProcess) => void;
}

export interface RunningBind {
  process: ManagedProcess;
  /** `127.0.0.1:<port>`, UDP and TCP. */
  nameserver: string;
  /** Keys allowed to update every zone, one per algorithm. */
  keys: Record<BindTsigAlgorithm, BindKey>;
  /** A valid key the zones do not let update (REFUSED). */
  deniedKey: BindKey;
}

function keyClause(k: BindKey): string {
  return `key "${k.name}" {\n  algorithm ${BIND_TSIG_ALGORITHMS[k.algorithm]};\n  secret "${k.secret}";\n};\n`;
}

function zoneFile(zone: string): string {
  return [
    `$ORIGIN ${zone}.`,
    '$TTL 60',
    `@ IN SOA ns1.${zone}. hostmaster.${zone}. ( 1 3600 600 86400 60 )`,
    `@ IN NS ns1.${zone}.`,
    `ns1 IN A ${LOOPBACK}`,
    `@ IN A ${LOOPBACK}`,
    `* IN A ${LOOPBACK}`,
    '',
  ].join('\n');
}

export function namedConfig(dir: string, port: number, zones: readonly string[], keys: readonly BindKey[], denied: BindKey): string {
  const allowed = keys.map((k) => `key "${k.name}";`).join(' ');
  return [
    'options {',
    `  directory "${dir}";`,
    `  pid-file "${join(dir, 'named.pid')}";`,
    `  session-keyfile "${join(dir, 'session.key')}";`,
    `  managed-keys-directory "${dir}";`,
    `  listen-on port ${port} { ${LOOPBACK}; };`,
    '  listen-on-v6 { none; };',
    '  recursion no;',
    '  dnssec-validation no;',
    '  notify no;',
    '  allow-query { any; };',
    '};',
    'controls { };',
    ...[...keys, denied].map(keyClause),
    ...zones.map((z) => `zone "${z}" {\n  type primary;\n  file "${join(dir, `${z}.db`)}";\n  allow-update { ${allowed} };\n};`),
    '',
  ].join('\n');
}

/** Starts named and waits until it answers the SOA of every zone. */
export async function startBind(options: BindOptions): Promise<RunningBind> {
  await mkdir(options.dir, { recursive: true });
  const secret = () => randomBytes(32).toString('base64');
  const keys = Object.fromEntries(
    (Object.keys(BIND_TSIG_ALGORITHMS) as BindTsigAlgorithm[]).map((algorithm) => [algorithm, { name: `certkeeper-${BIND_TSIG_ALGORITHMS[algorithm]}`, algorithm, secret: secret() }]),
  ) as Record<BindTsigAlgorithm, BindKey>;
  const deniedKey: BindKey = { name: 'certkeeper-denied', algorithm: 'HMACSHA256', secret: secret() };
  for (const zone of options.zones) await writeFile(join(options.dir, `${zone}.db`), zoneFile(zone));
  const configPath = join(options.dir, 'named.conf');
  await writeFile(configPath, namedConfig(options.dir, options.port, options.zones, Object.values(keys), deniedKey), { mode: 0o600 });
  const process = ManagedProcess.start({
    name: 'named',
    command: options.binary ?? '/usr/sbin/named',
    // -g: foreground, log to stderr (the log file); -4: IPv4 only.
    args: ['-g', '-4', '-c', configPath],
    logFile: join(options.dir, 'named.log'),
    detached: options.detached,
    onStart: options.onStart,
  });
  const nameserver = `${LOOPBACK}:${options.port}`;
  return stopOnFailure(process, async () => {
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([nameserver]);
    await waitForReady(
      async () => {
        for (const zone of options.zones) await resolver.resolveSoa(zone);
        return true;
      },
      { description: `named on ${nameserver}`, timeoutMs: START_TIMEOUT_MS, watch: [process] },
    );
    return { process, nameserver, keys, deniedKey };
  });
}
