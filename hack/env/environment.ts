import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startChalltestsrv, startPebble, type RunningChalltestsrv, type RunningPebble } from './acme.js';
import { createPki } from './certificates.js';
import { installCrds } from './crds.js';
import { startApiserver, startEtcd, type RunningApiserver, type RunningEtcd } from './control-plane.js';
import { localAcmeEnv } from './operator.js';
import { freePorts } from './ports.js';
import { stopRecordedProcess, type ManagedProcess, type ProcessRecord } from './processes.js';
import { ensureTools, type ToolPaths } from './tools.js';

export interface AcmeEndpoints {
  /** Pebble's ACME directory (HTTPS). */
  directoryUrl: string;
  /** Trust this CA (PEM) for Pebble's HTTPS listeners. */
  serverCaPath: string;
  /** Root Pebble issues certificates under, fresh every start (PEM). */
  issuanceRootPath: string;
  /** Loopback port Pebble's validator connects to for HTTP-01: the solver must listen here. */
  httpChallengePort: number;
  /** Loopback port Pebble's validator connects to for TLS-ALPN-01. */
  tlsAlpnChallengePort: number;
  /** Pebble's management API (HTTPS, same CA): /roots/0, /intermediates/0, ... */
  pebbleManagementUrl: string;
  /** pebble-challtestsrv management API (plain HTTP): /add-a, /set-txt, /set-servfail, ... */
  challtestsrvUrl: string;
  /** `127.0.0.1:<port>`: the DNS server Pebble resolves through (answers every A query with 127.0.0.1). */
  dnsServer: string;
}

export interface EnvironmentVersions {
  kubeApiserver?: string;
  etcd?: string;
  pebble?: string;
}

/** Everything about a running environment that can be written down and read back. */
export interface EnvironmentInfo {
  dir: string;
  /** CA of the apiserver's and Pebble's serving certificates. */
  caPath: string;
  /** Admin kubeconfig (client cert in group system:masters); present when kube runs. */
  kubeconfigPath?: string;
  apiserverUrl?: string;
  /** kube-apiserver's audit log (JSON lines); present when started with `audit: true`. */
  auditLogPath?: string;
  versions: EnvironmentVersions;
  /** Present when the ACME components run. */
  acme?: AcmeEndpoints;
  /** In start order. */
  processes: ProcessRecord[];
}

export interface Environment extends EnvironmentInfo {
  /** The CRDs from crds/ that were applied and are Established (with `crds: true`; else empty). */
  installedCrds: string[];
  /** Stops every process this environment started (reverse order) and, if it made the directory, removes it. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Where PKI, configs, data and logs go; default a fresh temp dir removed on stop. */
  dir?: string;
  components?: { kube?: boolean; acme?: boolean };
  /** Progress lines for a person; default silent. */
  log?: (line: string) => void;
  /** Binaries to run; default whatever hack/build-tools.sh provides (building them if needed). */
  tools?: ToolPaths;
  /** Children in their own session, not stopped when this process ends (dev-env `up`). */
  detached?: boolean;
  /** Keep the directory on stop even if startEnvironment created it. */
  keepDir?: boolean;
  /** Aborting ends the start: whatever already runs is stopped and the start fails. */
  signal?: AbortSignal;
  /** Called the moment each process runs (before it is ready), to record pids outside this process. */
  onProcessStarted?: (record: ProcessRecord) => void;
  /** kube-apiserver writes every request at Metadata level to `<dir>/audit.log` (the bench counts the operator's); default off. */
  audit?: boolean;
  /** Apply the repository's crds/ once kube-apiserver is up and wait until they are Established; default off. */
  crds?: boolean;
  /** The Retry-After of the environment's Pebble (see PebbleOptions); default 1 s / 1 s. */
  pebbleRetryAfter?: { authz: number; order: number };
}

/** An Environment over processes started earlier, possibly by another process (dev-env `down`). */
export function attachEnvironment(info: EnvironmentInfo, removeDir = false): Environment {
  return {
    ...info,
    installedCrds: [],
    async stop() {
      for (const record of [...info.processes].reverse()) await stopRecordedProcess(record);
      if (removeDir) await rm(info.dir, { recursive: true, force: true });
    },
  };
}

function elapsed(startedAt: number): string {
  return `${((Date.now() - startedAt) / 1000).toFixed(1)}s`;
}

/**
 * Starts the local test environment: etcd + kube-apiserver (RBAC, admin
 * client cert) and Pebble + pebble-challtestsrv, all on loopback ports picked
 * now, with a PKI made now; with `crds`, the repository's CRDs installed. The same code serves the demo, the bench, the
 * integration tests and `hack/dev-env.sh`.
 */
export async function startEnvironment(options: StartOptions = {}): Promise<Environment> {
  const startedAt = Date.now();
  const log = options.log ?? ((): void => undefined);
  const wantKube = options.components?.kube ?? true;
  const wantAcme = options.components?.acme ?? true;
  const detached = options.detached ?? false;
  const signal = options.signal;
  const ownDir = options.dir === undefined;
  const dir = options.dir === undefined ? await mkdtemp(join(tmpdir(), 'certkeeper-env-')) : resolve(options.dir);
  await mkdir(dir, { recursive: true });
  // A fresh cluster every start: etcd must not pick up members from an earlier run.
  await rm(join(dir, 'etcd'), { recursive: true, force: true });

  const tools = options.tools ?? (await ensureTools());
  const pki = await createPki(join(dir, 'pki'));
  const [etcdClient, etcdPeer, apiserverPort, dnsPort, challMgmt, pebblePort, pebbleMgmt, http01, tlsAlpn01] =
    (await freePorts(9, { udp: true })) as [number, number, number, number, number, number, number, number, number];
  log(`environment in ${dir} (PKI ready in ${elapsed(startedAt)})`);

  const started: ManagedProcess[] = [];
  // Attached children must not outlive this process, even when it exits
  // without calling stop() (process.exit in a test runner, an uncaught error).
  const killOnExit = (): void => started.forEach((child) => child.killNow());
  if (!detached) process.on('exit', killOnExit);
  const onStart = (child: ManagedProcess): void => {
    started.push(child);
    options.onProcessStarted?.(child.record);
  };
  const common = { dir, detached, signal, onStart };
  let installedCrds: string[] = [];
  try {
    const startKube = async (): Promise<[RunningEtcd, RunningApiserver]> => {
      const etcd = await startEtcd({ ...common, binary: tools.etcd, clientPort: etcdClient, peerPort: etcdPeer });
      log(`etcd ${etcd.version} ready at ${etcd.clientUrl} (${elapsed(startedAt)})`);
      const apiserver = await startApiserver({
        ...common,
        binary: tools.kubeApiserver,
        port: apiserverPort,
        etcdUrl: etcd.clientUrl,
        pki,
        dependsOn: [etcd.process],
        audit: options.audit === true,
      });
      log(`kube-apiserver ${apiserver.version} ready at ${apiserver.url} (${elapsed(startedAt)})`);
      if (options.crds === true) {
        installedCrds = await installCrds(apiserver.kubeconfigPath);
        log(`CRDs installed and Established: ${installedCrds.length === 0 ? 'none in crds/' : installedCrds.join(', ')} (${elapsed(startedAt)})`);
      }
      return [etcd, apiserver];
    };
    const startAcme = async (): Promise<[RunningChalltestsrv, RunningPebble]> => {
      const chall = await startChalltestsrv({
        ...common,
        binary: tools.challtestsrv,
        dnsPort,
        managementPort: challMgmt,
      });
      log(`pebble-challtestsrv DNS ready at ${chall.dnsServer} (${elapsed(startedAt)})`);
      const pebble = await startPebble({
        ...common,
        binary: tools.pebble,
        pki,
        port: pebblePort,
        managementPort: pebbleMgmt,
        httpChallengePort: http01,
        tlsAlpnChallengePort: tlsAlpn01,
        dnsServer: chall.dnsServer,
        domainBlocklist: ['blocked-domain.example'],
        ...(options.pebbleRetryAfter === undefined ? {} : { retryAfter: options.pebbleRetryAfter }),
        dependsOn: [chall.process],
      });
      log(`pebble ${pebble.version} ready at ${pebble.directoryUrl} (${elapsed(startedAt)})`);
      return [chall, pebble];
    };
    // A failure in one branch must not leave the other still starting unobserved.
    const [kube, acme] = await Promise.allSettled([
      wantKube ? startKube() : Promise.resolve(undefined),
      wantAcme ? startAcme() : Promise.resolve(undefined),
    ]);
    if (kube.status === 'rejected') throw kube.reason;
    if (acme.status === 'rejected') throw acme.reason;
    const [etcd, apiserver] = kube.value ?? [];
    const [chall, pebble] = acme.value ?? [];

    const info: EnvironmentInfo = {
      dir,
      caPath: pki.caCert,
      kubeconfigPath: apiserver?.kubeconfigPath,
      apiserverUrl: apiserver?.url,
      auditLogPath: apiserver?.auditLogPath,
      versions: { kubeApiserver: apiserver?.version, etcd: etcd?.version, pebble: pebble?.version },
      acme:
        chall === undefined || pebble === undefined
          ? undefined
          : {
              directoryUrl: pebble.directoryUrl,
              serverCaPath: pki.caCert,
              issuanceRootPath: pebble.issuanceRootPath,
              httpChallengePort: http01,
              tlsAlpnChallengePort: tlsAlpn01,
              pebbleManagementUrl: pebble.managementUrl,
              challtestsrvUrl: chall.managementUrl,
              dnsServer: chall.dnsServer,
            },
      processes: started.map((p) => p.record),
    };
    log(`environment up in ${elapsed(startedAt)}`);
    const removeDir = ownDir && options.keepDir !== true;
    return {
      ...info,
      installedCrds,
      async stop() {
        for (const child of [...started].reverse()) await child.stop();
        process.off('exit', killOnExit);
        if (removeDir) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(started.map((child) => child.stop()));
    process.off('exit', killOnExit);
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`test environment failed to start (files kept in ${dir}): ${message}`, { cause: error });
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** The environment as a shell-sourceable file: `source .dev/env`. */
export function describeEnvironment(env: EnvironmentInfo): string {
  const entries: [string, string | number | undefined][] = [
    ['CERTKEEPER_ENV_DIR', env.dir],
    ['CERTKEEPER_ENV_CA', env.caPath],
    ['KUBECONFIG', env.kubeconfigPath],
    ['KUBE_APISERVER_URL', env.apiserverUrl],
    ['KUBE_APISERVER_VERSION', env.versions.kubeApiserver],
    ['ETCD_SERVER_VERSION', env.versions.etcd],
    ['PEBBLE_SERVER_VERSION', env.versions.pebble],
    ['ACME_DIRECTORY_URL', env.acme?.directoryUrl],
    ['ACME_CA_FILE', env.acme?.serverCaPath],
    ['ACME_ISSUANCE_ROOT', env.acme?.issuanceRootPath],
    ['ACME_HTTP01_PORT', env.acme?.httpChallengePort],
    ['ACME_TLSALPN01_PORT', env.acme?.tlsAlpnChallengePort],
    ['PEBBLE_MANAGEMENT_URL', env.acme?.pebbleManagementUrl],
    ['CHALLTESTSRV_URL', env.acme?.challtestsrvUrl],
    ['CHALLTESTSRV_DNS', env.acme?.dnsServer],
    // What `certkeeper operator` reads (CERTKEEPER_ACME_*), so a sourced shell runs it against this Pebble as is.
    ...Object.entries(env.acme === undefined ? {} : localAcmeEnv({ http01Port: env.acme.httpChallengePort, caFile: env.acme.serverCaPath, nameserver: env.acme.dnsServer })),
  ];
  const lines = entries
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => `export ${key}=${shellQuote(String(value))}`);
  return `# certkeeper local test environment (written ${new Date().toISOString()})\n${lines.join('\n')}\n`;
}
