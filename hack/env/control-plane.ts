import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { PkiPaths } from './certificates.js';
import { getJson, httpFetch, type TlsMaterial } from './http.js';
import { LOOPBACK } from './ports.js';
import { ManagedProcess, stopOnFailure, waitForReady } from './processes.js';

export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const ETCD_TIMEOUT_MS = 30_000;
const APISERVER_TIMEOUT_MS = 90_000;

export interface EtcdOptions {
  binary: string;
  dir: string;
  clientPort: number;
  peerPort: number;
  detached: boolean;
  signal?: AbortSignal;
  onStart?: (process: ManagedProcess) => void;
}

export interface RunningEtcd {
  process: ManagedProcess;
  clientUrl: string;
  /** The server's version as its /version endpoint reports it, such as `3.6.16`. */
  version: string;
}

function parseEtcdVersion(value: unknown): string {
  const version = (value as { etcdserver?: unknown } | null)?.etcdserver;
  if (typeof version !== 'string') throw new Error(`unexpected etcd /version answer: ${JSON.stringify(value)}`);
  return version;
}

/** etcd as a single member on loopback, data in `<dir>/etcd`, fsync off. */
export async function startEtcd(options: EtcdOptions): Promise<RunningEtcd> {
  const clientUrl = `http://${LOOPBACK}:${options.clientPort}`;
  const peerUrl = `http://${LOOPBACK}:${options.peerPort}`;
  const dataDir = join(options.dir, 'etcd');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const process = ManagedProcess.start({
    name: 'etcd',
    command: options.binary,
    args: [
      '--name=certkeeper',
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=certkeeper=${peerUrl}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    logFile: join(options.dir, 'etcd.log'),
    detached: options.detached,
    onStart: options.onStart,
  });
  return stopOnFailure(process, async () => {
    await waitForReady(
      async () => {
        const health = (await getJson(`${clientUrl}/health`)) as { health?: unknown };
        return health.health === 'true' ? true : undefined;
      },
      { description: `etcd at ${clientUrl}`, timeoutMs: ETCD_TIMEOUT_MS, watch: [process], signal: options.signal },
    );
    const version = parseEtcdVersion(await getJson(`${clientUrl}/version`));
    return { process, clientUrl, version };
  });
}

export interface ApiserverOptions {
  binary: string;
  dir: string;
  port: number;
  etcdUrl: string;
  pki: PkiPaths;
  detached: boolean;
  signal?: AbortSignal;
  onStart?: (process: ManagedProcess) => void;
  /** Processes the apiserver depends on: their death ends the wait too. */
  dependsOn: readonly ManagedProcess[];
  /** Write an audit log of every request (Metadata level) to `<dir>/audit.log`; default off. */
  audit?: boolean;
}

export interface RunningApiserver {
  process: ManagedProcess;
  url: string;
  kubeconfigPath: string;
  /** `gitVersion` from /version, such as `v1.34.4`. */
  version: string;
  /** JSON lines, one audit event per request stage; present when started with `audit: true`. */
  auditLogPath?: string;
}

/** Client credentials of the admin user, to probe the apiserver the way kubectl would. */
export async function adminTls(pki: PkiPaths): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    readFile(pki.caCert, 'utf8'),
    readFile(pki.adminCert, 'utf8'),
    readFile(pki.adminKey, 'utf8'),
  ]);
  return { ca, cert, key };
}

/** Every request at Metadata level (who, verb, resource, status; no bodies), without the RequestReceived stage. */
export const AUDIT_POLICY = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  omitStages: ['RequestReceived'],
  rules: [{ level: 'Metadata' }],
};

export function auditPaths(dir: string): { policy: string; log: string } {
  return { policy: join(dir, 'audit-policy.yaml'), log: join(dir, 'audit.log') };
}

function auditArgs(options: ApiserverOptions): string[] {
  if (options.audit !== true) return [];
  const paths = auditPaths(options.dir);
  return [
    `--audit-policy-file=${paths.policy}`,
    `--audit-log-path=${paths.log}`,
    // Blocking: each event is written before the response goes out, so the
    // log is complete the moment a client has its answer (batch mode buffers).
    '--audit-log-mode=blocking',
    '--audit-log-format=json',
    '--audit-log-maxsize=0',
  ];
}

function apiserverArgs(options: ApiserverOptions): string[] {
  const { pki } = options;
  return [
    `--etcd-servers=${options.etcdUrl}`,
    `--secure-port=${options.port}`,
    `--bind-address=${LOOPBACK}`,
    `--advertise-address=${LOOPBACK}`,
    `--cert-dir=${join(options.dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.clientCaCert}`,
    '--authorization-mode=RBAC',
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${pki.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--allow-privileged=true',
    // No controller manager runs, so no namespace ever gets its `default`
    // ServiceAccount; the admission plugin would reject every pod for that.
    '--disable-admission-plugins=ServiceAccount',
    '--profiling=false',
    // The lease reconciler would publish 127.0.0.1 as the `kubernetes`
    // Service's endpoint, which validation rejects for loopback, every 10 s.
    '--endpoint-reconciler-type=none',
    ...auditArgs(options),
  ];
}

/** A kubeconfig for the admin client certificate, self-contained (data inlined). */
export async function writeKubeconfig(path: string, server: string, pki: PkiPaths): Promise<void> {
  const { ca, cert, key } = await adminTls(pki);
  const b64 = (text: string | undefined): string => Buffer.from(text ?? '', 'utf8').toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'certkeeper-env', cluster: { server, 'certificate-authority-data': b64(ca) } }],
    users: [
      { name: 'certkeeper-admin', user: { 'client-certificate-data': b64(cert), 'client-key-data': b64(key) } },
    ],
    contexts: [{ name: 'certkeeper-env', context: { cluster: 'certkeeper-env', user: 'certkeeper-admin' } }],
    'current-context': 'certkeeper-env',
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
}

/**
 * kube-apiserver on loopback, the way envtest runs it: RBAC on, client
 * certificates from our client CA, service-account keys from our PKI. Resolves
 * once /readyz says ok, with the version it reports.
 */
export async function startApiserver(options: ApiserverOptions): Promise<RunningApiserver> {
  const url = `https://${LOOPBACK}:${options.port}`;
  await mkdir(join(options.dir, 'apiserver-certs'), { recursive: true, mode: 0o700 });
  if (options.audit === true) await writeFile(auditPaths(options.dir).policy, stringify(AUDIT_POLICY));
  const process = ManagedProcess.start({
    name: 'kube-apiserver',
    command: options.binary,
    args: apiserverArgs(options),
    logFile: join(options.dir, 'kube-apiserver.log'),
    detached: options.detached,
    onStart: options.onStart,
  });
  return stopOnFailure(process, async () => {
    const tls = await adminTls(options.pki);
    await waitForReady(
      async () => {
        const response = await httpFetch(`${url}/readyz`, { tls });
        if (response.status === 200) return true;
        throw new Error(`/readyz HTTP ${response.status}: ${response.body.slice(0, 500)}`);
      },
      {
        description: `kube-apiserver /readyz at ${url}`,
        timeoutMs: APISERVER_TIMEOUT_MS,
        signal: options.signal,
        intervalMs: 250,
        watch: [...options.dependsOn, process],
      },
    );
    const info = (await getJson(`${url}/version`, tls)) as { gitVersion?: unknown };
    if (typeof info.gitVersion !== 'string') throw new Error(`unexpected /version answer: ${JSON.stringify(info)}`);
    const kubeconfigPath = join(options.dir, 'kubeconfig');
    await writeKubeconfig(kubeconfigPath, url, options.pki);
    const auditLogPath = options.audit === true ? auditPaths(options.dir).log : undefined;
    return { process, url, kubeconfigPath, version: info.gitVersion, auditLogPath };
  });
}
