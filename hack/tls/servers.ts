import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, LOOPBACK } from '../env/ports.js';
import { ManagedProcess, stopOnFailure, waitForReady } from '../env/processes.js';
import type { ServerCertificate } from './server-pki.js';

// Real nginx and haproxy instances for the prober's tests and the probe bench
// (fixtures.ts), and the nginx config the netns "pods" use: each in its own
// directory with a generated config, on a free loopback port, in the
// foreground as our child, stopped by pid afterwards. The system config and
// services are never touched. A missing binary fails the test.

export const NGINX = '/usr/sbin/nginx';
export const HAPROXY = '/usr/sbin/haproxy';

export type ServerProtocol = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsServerConfig {
  name: string;
  certificate: ServerCertificate;
  protocols: readonly ServerProtocol[];
  /** OpenSSL cipher list for TLS 1.2 and older. */
  ciphers: string;
  /** TLS 1.3 suites; OpenSSL's default when absent. */
  ciphersuites?: string;
  preferServerCiphers: boolean;
  /** Key exchange groups, 'X25519:prime256v1:secp384r1'. */
  curves?: string;
  /** Serve the RFC 7919 ffdhe2048 group for DHE suites. */
  dhParams?: boolean;
  /** Value of the Strict-Transport-Security header. */
  hsts?: string;
  http2?: boolean;
  /** A DER OCSP response to staple (nginx ssl_stapling_file). */
  ocspResponse?: Buffer;
  /**
   * Start the server with an OpenSSL config at security level 0, so it can
   * load what Debian's default level refuses (an RSA 1024 key).
   */
  securityLevel0?: boolean;
}

export interface RunningTlsServer {
  name: string;
  software: 'nginx' | 'haproxy';
  host: string;
  port: number;
  dir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

const execFileAsync = promisify(execFile);

export async function writeDhParams(dir: string): Promise<string> {
  const path = join(dir, 'dhparam.pem');
  await execFileAsync('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', path]);
  return path;
}

function portOpen(port: number): Promise<true | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error) => {
      socket.destroy();
      reject(error);
    });
  });
}

const SECURITY_LEVEL_0_CONF = [
  'openssl_conf = probe_test_conf',
  '[probe_test_conf]',
  'ssl_conf = probe_test_ssl',
  '[probe_test_ssl]',
  'system_default = probe_test_defaults',
  '[probe_test_defaults]',
  'CipherString = DEFAULT:@SECLEVEL=0',
  '',
].join('\n');

async function processEnv(config: TlsServerConfig, dir: string): Promise<Record<string, string> | undefined> {
  if (config.securityLevel0 !== true) return undefined;
  const path = join(dir, 'openssl.cnf');
  await writeFile(path, SECURITY_LEVEL_0_CONF);
  return { OPENSSL_CONF: path };
}

async function run(config: TlsServerConfig, software: 'nginx' | 'haproxy', dir: string, port: number, command: string, args: string[]): Promise<RunningTlsServer> {
  const env = await processEnv(config, dir);
  const process = ManagedProcess.start({ name: `${software} ${config.name}`, command, args, env, logFile: join(dir, `${software}.log`), cwd: dir });
  await stopOnFailure(process, () =>
    waitForReady(() => portOpen(port), { description: `${software} ${config.name} on ${LOOPBACK}:${port}`, timeoutMs: 10_000, watch: [process] }),
  );
  return { name: config.name, software, host: LOOPBACK, port, dir, process, stop: () => process.stop() };
}

export interface NginxExtras {
  /** Further `server { ... }` blocks (lines), inside `http` after the default one. */
  moreServers?: readonly string[];
  /** Default 1 and 512: enough for one prober at a time. */
  workerProcesses?: number;
  workerConnections?: number;
}

/** The nginx config of `config`, listening on each of `listen` ("127.0.0.1:8443", "443"); files under `dir`. */
export function nginxConfig(
  config: Omit<TlsServerConfig, 'name' | 'certificate'>,
  dir: string,
  listen: readonly string[],
  dhParamsPath: string | undefined,
  ocspPath: string | undefined,
  extras: NginxExtras = {},
): string {
  const lines = [
    `worker_processes ${extras.workerProcesses ?? 1};`,
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} info;`,
    `events { worker_connections ${extras.workerConnections ?? 512}; }`,
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(dir, 'tmp', t)};`),
    '  server {',
    ...listen.map((l) => `    listen ${l} ssl${config.http2 === true ? ' http2' : ''};`),
    '    server_name _;',
    `    ssl_certificate ${join(dir, 'chain.pem')};`,
    `    ssl_certificate_key ${join(dir, 'key.pem')};`,
    `    ssl_protocols ${config.protocols.join(' ')};`,
    `    ssl_ciphers '${config.ciphers}';`,
    `    ssl_prefer_server_ciphers ${config.preferServerCiphers ? 'on' : 'off'};`,
    '    ssl_session_cache shared:probe:1m;',
    '    ssl_session_timeout 10m;',
    '    ssl_session_tickets on;',
  ];
  if (config.ciphersuites !== undefined) lines.push(`    ssl_conf_command Ciphersuites ${config.ciphersuites};`);
  if (config.curves !== undefined) lines.push(`    ssl_ecdh_curve ${config.curves};`);
  if (dhParamsPath !== undefined) lines.push(`    ssl_dhparam ${dhParamsPath};`);
  if (config.hsts !== undefined) lines.push(`    add_header Strict-Transport-Security "${config.hsts}" always;`);
  if (ocspPath !== undefined) lines.push('    ssl_stapling on;', `    ssl_stapling_file ${ocspPath};`);
  lines.push('    location / { return 200 "ok\\n"; }', '  }', ...(extras.moreServers ?? []), '}', '');
  return lines.join('\n');
}

/** nginx in the foreground (`daemon off`), its files under `dir`. */
export async function startNginx(config: TlsServerConfig, baseDir: string): Promise<RunningTlsServer> {
  const dir = join(baseDir, config.name);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  await writeFile(join(dir, 'chain.pem'), config.certificate.chainPem);
  await writeFile(join(dir, 'key.pem'), config.certificate.keyPem, { mode: 0o600 });
  const dhParamsPath = config.dhParams === true ? await writeDhParams(dir) : undefined;
  let ocspPath: string | undefined;
  if (config.ocspResponse !== undefined) {
    ocspPath = join(dir, 'ocsp.der');
    await writeFile(ocspPath, config.ocspResponse);
  }
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, nginxConfig(config, dir, [`${LOOPBACK}:${port}`], dhParamsPath, ocspPath));
  return run(config, 'nginx', dir, port, NGINX, ['-p', dir, '-c', configPath, '-e', join(dir, 'error.log'), '-g', 'daemon off;']);
}

const HAPROXY_VERSION: Readonly<Record<ServerProtocol, string>> = { TLSv1: 'TLSv1.0', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };

function haproxyConfig(config: TlsServerConfig, dir: string, port: number): string {
  const versions = config.protocols.map((p) => HAPROXY_VERSION[p]);
  const bind = [
    `bind ${LOOPBACK}:${port} ssl crt ${join(dir, 'server.pem')}`,
    `ssl-min-ver ${versions[0] ?? 'TLSv1.2'}`,
    `ssl-max-ver ${versions[versions.length - 1] ?? 'TLSv1.3'}`,
    `ciphers ${config.ciphers}`,
    config.ciphersuites === undefined ? '' : `ciphersuites ${config.ciphersuites}`,
    config.curves === undefined ? '' : `curves ${config.curves}`,
    config.preferServerCiphers ? '' : 'prefer-client-ciphers',
    `alpn ${config.http2 === true ? 'h2,' : ''}http/1.1`,
  ].filter((part) => part !== '');
  return [
    'global',
    '  maxconn 512',
    `  pidfile ${join(dir, 'haproxy.pid')}`,
    config.dhParams === true ? '  tune.ssl.default-dh-param 2048' : '',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 10s',
    '  timeout server 10s',
    'frontend probe',
    `  ${bind.join(' ')}`,
    config.hsts === undefined ? '' : `  http-after-response set-header Strict-Transport-Security "${config.hsts}"`,
    '  http-request return status 200 content-type text/plain string ok',
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** haproxy in the foreground (`-db`); its certificate file holds chain, key and DH parameters. */
export async function startHaproxy(config: TlsServerConfig, baseDir: string): Promise<RunningTlsServer> {
  const dir = join(baseDir, config.name);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const dhPem = config.dhParams === true ? await readFile(await writeDhParams(dir), 'utf8') : '';
  await writeFile(join(dir, 'server.pem'), config.certificate.chainPem + config.certificate.keyPem + dhPem, { mode: 0o600 });
  const configPath = join(dir, 'haproxy.cfg');
  await writeFile(configPath, `${haproxyConfig(config, dir, port)}\n`);
  return run(config, 'haproxy', dir, port, HAPROXY, ['-db', '-f', configPath]);
}
