import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import type { TestNetwork } from '../env/netns.js';
import { ManagedProcess, stopOnFailure, waitForReady } from '../env/processes.js';
import { NGINX, nginxConfig, writeDhParams, type TlsServerConfig } from './servers.js';

// nginx inside a test network namespace (hack/env/netns.ts), so it can stand
// behind a Service's EndpointSlice: the "pods" of the endpoint tests, the demo
// and the endpoints bench. Started the way servers.ts starts it
// on loopback (foreground, own directory, our child), but through
// `ip netns exec`, which execs nginx: the pid we hold is nginx's master.
// Its certificate files can be rewritten and the server reloaded, which is
// how a pod picks up a renewed Secret — or fails to, when nobody reloads it.

const execFileAsync = promisify(execFile);

export interface ServedCertificate {
  chainPem: string;
  keyPem: string;
}

/** Another name-based virtual host on the same listeners (the bench: one per Certificate, picked by SNI). */
export interface NginxSite {
  serverName: string;
  certificate: ServedCertificate;
}

export interface NetnsNginxOptions {
  network: TestNetwork;
  /** Directory name under baseDir, and the process name in errors. */
  name: string;
  baseDir: string;
  /** Addresses of `network` to listen on; 'any' listens on every address of the namespace (`listen <port>`). */
  addresses: readonly string[] | 'any';
  port: number;
  certificate: ServedCertificate;
  /** TLS settings (servers.ts); OCSP and the OpenSSL security-level override are not offered here. */
  tls: Omit<TlsServerConfig, 'name' | 'certificate' | 'ocspResponse' | 'securityLevel0'>;
  sites?: readonly NginxSite[];
  workerProcesses?: number;
  workerConnections?: number;
  /** Addresses to check for readiness when listening on 'any' (default: the network's first). */
  readinessAddresses?: readonly string[];
}

export interface NetnsNginx {
  name: string;
  dir: string;
  port: number;
  /** Where it was asked to listen (for 'any': readinessAddresses). */
  addresses: readonly string[];
  process: ManagedProcess;
  /** Writes new certificate files for the default server; nginx keeps serving the old ones until reload(). */
  writeCertificate(certificate: ServedCertificate): Promise<void>;
  /** Rewrites the config and files with these virtual hosts (instead of the previous ones); takes effect on reload(). */
  setSites(sites: readonly NginxSite[]): Promise<void>;
  /**
   * `nginx -s reload` with the same config and pid file; resolves once every
   * address serves the default server's current leaf (new workers up).
   */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

/** SHA-256 of a PEM chain's first certificate, lowercase hex without colons (Certificate.status.fingerprintSHA256's form). */
export function leafFingerprint(chainPem: string): string {
  return new X509Certificate(chainPem).fingerprint256.replace(/:/g, '').toLowerCase();
}

/** The fingerprint of the leaf `address:port` serves to `serverName` (without one, no SNI: the default server's), or an error. */
export function servedFingerprint(address: string, port: number, serverName?: string, timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    // The test is looking at what is served, not judging it: no verification.
    const socket = connect({ host: address, port, rejectUnauthorized: false, ...(serverName === undefined ? {} : { servername: serverName }) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${address}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprint = socket.getPeerCertificate().fingerprint256.replace(/:/g, '').toLowerCase();
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** The nginx master's children: its worker processes (and cache helpers, when configured; none here). */
async function workerPids(masterPid: number): Promise<number[]> {
  const text = await readFile(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8');
  return text.trim() === '' ? [] : text.trim().split(/\s+/).map(Number);
}

function siteBlock(site: NginxSite, dir: string, index: number, listen: readonly string[], tls: NetnsNginxOptions['tls'], dhParamsPath: string | undefined): string[] {
  return [
    '  server {',
    ...listen.map((l) => `    listen ${l} ssl;`),
    `    server_name ${site.serverName};`,
    `    ssl_certificate ${join(dir, 'sites', `${index}.chain.pem`)};`,
    `    ssl_certificate_key ${join(dir, 'sites', `${index}.key.pem`)};`,
    `    ssl_protocols ${tls.protocols.join(' ')};`,
    `    ssl_ciphers '${tls.ciphers}';`,
    `    ssl_prefer_server_ciphers ${tls.preferServerCiphers ? 'on' : 'off'};`,
    ...(tls.curves === undefined ? [] : [`    ssl_ecdh_curve ${tls.curves};`]),
    ...(dhParamsPath === undefined ? [] : [`    ssl_dhparam ${dhParamsPath};`]),
    ...(tls.hsts === undefined ? [] : [`    add_header Strict-Transport-Security "${tls.hsts}" always;`]),
    '    location / { return 200 "ok\\n"; }',
    '  }',
  ];
}

async function writeChain(dir: string, prefix: string, certificate: ServedCertificate): Promise<void> {
  await writeFile(join(dir, `${prefix}chain.pem`), certificate.chainPem);
  await writeFile(join(dir, `${prefix}key.pem`), certificate.keyPem, { mode: 0o600 });
}

/** nginx in the foreground inside `network`, listening on the given addresses; fails when it does not come up. */
export async function startNetnsNginx(o: NetnsNginxOptions): Promise<NetnsNginx> {
  // ManagedProcess checks the binary it runs, which is ip: check nginx itself, so its absence fails with its name.
  await access(NGINX, constants.X_OK).catch(() => {
    throw new Error(`nginx ${o.name}: ${NGINX} is missing or not executable (Debian package nginx, hack/install-deps.sh)`);
  });
  const dir = join(o.baseDir, o.name);
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await mkdir(join(dir, 'sites'), { recursive: true });
  await writeChain(dir, '', o.certificate);
  const dhParamsPath = o.tls.dhParams === true ? await writeDhParams(dir) : undefined;
  const listen = o.addresses === 'any' ? [String(o.port)] : o.addresses.map((a) => `${a}:${o.port}`);
  const configPath = join(dir, 'nginx.conf');
  const writeConfig = async (sites: readonly NginxSite[]): Promise<void> => {
    await Promise.all(sites.map((site, i) => writeChain(join(dir, 'sites'), `${i}.`, site.certificate)));
    const config = nginxConfig(o.tls, dir, listen, dhParamsPath, undefined, {
      moreServers: sites.flatMap((site, i) => siteBlock(site, dir, i, listen, o.tls, dhParamsPath)),
      workerProcesses: o.workerProcesses,
      workerConnections: o.workerConnections,
    });
    await writeFile(configPath, config);
  };
  await writeConfig(o.sites ?? []);
  const nginxArgs = ['-p', dir, '-c', configPath, '-e', join(dir, 'error.log')];
  const { command, args } = o.network.execArgs(NGINX, [...nginxArgs, '-g', 'daemon off;']);
  const readiness = o.addresses === 'any' ? (o.readinessAddresses ?? o.network.addresses.slice(0, 1)) : o.addresses;
  const process = ManagedProcess.start({ name: `nginx ${o.name} in ${o.network.name}`, command, args, logFile: join(dir, 'nginx.log'), cwd: dir });
  let current = leafFingerprint(o.certificate.chainPem);
  const allServe = (fingerprint: string, what: string) =>
    waitForReady(
      async () => {
        const served = await Promise.all(readiness.map((a) => servedFingerprint(a, o.port)));
        const lagging = readiness.filter((_, i) => served[i] !== fingerprint);
        if (lagging.length > 0) throw new Error(`${lagging.join(', ')} still serve another certificate`);
        return true;
      },
      { description: `nginx ${o.name} ${what} on ${readiness.map((a) => `${a}:${o.port}`).join(', ')}`, timeoutMs: 15_000, watch: [process] },
    );
  await stopOnFailure(process, () => allServe(current, 'to serve its certificate'));
  return {
    name: o.name,
    dir,
    port: o.port,
    addresses: readiness,
    process,
    writeCertificate: async (certificate) => {
      await writeChain(dir, '', certificate);
      current = leafFingerprint(certificate.chainPem);
    },
    setSites: writeConfig,
    reload: async () => {
      if (!process.running) throw new Error(`nginx ${o.name} ${process.describeExit() ?? 'stopped'}: cannot reload\n${process.logTail()}`);
      const oldWorkers = await workerPids(process.pid);
      // -s reads the pid file named in the config and sends SIGHUP to that master: ours.
      await execFileAsync(NGINX, [...nginxArgs, '-s', 'reload']);
      // The master starts new workers and the old ones finish their connections and exit:
      // until they are gone, a new connection may still reach the old configuration.
      await waitForReady(
        async () => {
          const workers = await workerPids(process.pid);
          return workers.length > 0 && !workers.some((w) => oldWorkers.includes(w)) ? true : undefined;
        },
        { description: `nginx ${o.name} to replace its workers ${oldWorkers.join(', ')} after a reload`, timeoutMs: 15_000, watch: [process] },
      );
      await allServe(current, 'to serve the reloaded certificate');
    },
    stop: () => process.stop(),
  };
}
