import type { V1EndpointSlice, V1Namespace, V1Secret, V1Service } from '@kubernetes/client-node';
import { EndpointValidation } from '../endpoints/validation.js';
import { summarizeEndpointSlice, summarizeService, type EndpointSliceSummary, type ServiceSummary } from '../endpoints/summaries.js';
import { decodeSecretData } from '../secrets/summary.js';
import type { Certificate, ReloadStatus } from '../api/certificate.js';
import type { TLSPolicy } from '../api/tlspolicy.js';
import type { Clock } from '../clock.js';
import { CertificateReconciler } from '../controllers/certificate/reconciler.js';
import { type ParsedCertificate, parseCertificate } from '../model/certificate.js';
import { AcmeAccounts } from '../issuers/acme/accounts.js';
import type { AcmeControllerOptions } from '../issuers/acme/runtime.js';
import { AcmeIssuer } from '../controllers/certificate/acme/pipeline.js';
import { AcmeUpkeep } from '../controllers/certificate/acme/upkeep.js';
import { SecretAnnotation } from '../model/secret.js';
import { summarizeTlsSecret } from '../secrets/summary.js';
import { type TlsSecretSummary } from '../model/secret.js';
import { TLSPolicyReconciler } from '../controllers/tlspolicy/reconciler.js';
import { IssuerHealthRegistry } from '../controllers/certificate/issuer-health.js';
import { ReloadDisabledNotice, Reloader } from '../controllers/certificate/reloader.js';
import { WorkloadsClient } from '../kube/workloads.js';
import { CertificateStatusWriter } from '../controllers/certificate/status-writer.js';
import { acmeDriver } from '../controllers/drivers/acme.js';
import { CaIssuers } from '../controllers/drivers/ca-issuers.js';
import type { IssuerDrivers } from '../controllers/drivers/driver.js';
import { caDriver, selfSignedDriver } from '../controllers/drivers/one-shot.js';
import { asTLSPolicy, CERTIFICATES, ENDPOINT_SLICES, NAMESPACES, SECRETS, SERVICES, TLS_POLICIES, type ResourceType } from '../kube/resources.js';
import { makeKubeClients, type KubeClients } from '../kube/client.js';
import { Controller } from '../kube/controller.js';
import type { EventRecorder } from '../kube/events.js';
import { scopedInformer, type InformerCache } from '../kube/namespaced-informers.js';
import type { KubeObject } from '../kube/lister-watcher.js';
import type { Logger } from '../log.js';
import type { Registry } from 'prom-client';
import { DEFAULT_INVENTORY_SOURCES, InventorySourceCaches, type InventorySourceSettings } from '../inventory/sources/caches.js';

export interface ControllerSetOptions {
  clients: KubeClients;
  clock: Clock;
  log: Logger;
  events: EventRecorder;
  operatorNamespace: string;
  /** --watch-namespaces: only these namespaces' objects are cached (namespaced Roles suffice); empty or undefined: the whole cluster. */
  watchNamespaces?: readonly string[];
  workers: number;
  registry?: Registry;
  /** ACME issuance settings (HTTP-01 responder, self-check, ARI). */
  acme: AcmeControllerOptions;
  /** Live endpoint validation settings (--probe-concurrency, --endpoint-interval, --endpoint-recheck-interval). */
  endpoints?: { probeConcurrency: number; intervalMs: number; recheckIntervalMs: number; allowedCidrs?: readonly string[] } | undefined;
  /** spec.reload is acted on (the operator may read pods and restart workloads). */
  reloadEnabled?: boolean | undefined;
  /** The inventory's other sources (webhook caBundles, ConfigMaps, keystores in Secrets); default: all but ConfigMaps. */
  inventorySources?: InventorySourceSettings | undefined;
  /** Probe sharing: whether this replica probes a target (see endpoints/ownership.ts). Undefined: all of them. */
  ownsTarget?: ((key: string) => boolean) | undefined;
}

const ENDPOINT_DEFAULTS = { probeConcurrency: 16, intervalMs: 10 * 60_000, recheckIntervalMs: 30_000 };
/** Probe results move a policy's summary: batch them into one status patch per this many ms. */
const POLICY_SUMMARY_BATCH_MS = 2_000;

type Raw = KubeObject & Record<string, unknown>;

/**
 * Everything that runs only on the leader: the caches and the controllers fed
 * by them. Started when leadership is won, stopped when it is lost.
 */
export class ControllerSet {
  readonly certificates: InformerCache<ParsedCertificate>;
  readonly policies: InformerCache<TLSPolicy>;
  readonly namespaces: InformerCache<Record<string, string>>;
  readonly secrets: InformerCache<TlsSecretSummary>;
  readonly services: InformerCache<ServiceSummary>;
  readonly endpointSlices: InformerCache<EndpointSliceSummary>;
  /** Caches of the inventory's sources beyond TLS Secrets (read-only). */
  readonly inventorySources: InventorySourceCaches;
  /** The probes of Certificate and TLSPolicy endpoints, with their latest results. */
  readonly endpoints: EndpointValidation;
  readonly certificateController: Controller;
  readonly policyController: Controller;
  /** "namespace/secretName" -> keys of the Certificates that write it. */
  private readonly secretOwners = new Map<string, Set<string>>();
  /** The controllers run (this replica leads). Before, probing may run alone (probe sharing) and wakes no reconciler. */
  private controllersStarted = false;
  private probing: Promise<void> | undefined;

  constructor(private readonly options: ControllerSetOptions) {
    const o = options;
    const common = { clock: o.clock, log: o.log };
    const watched = o.watchNamespaces !== undefined && o.watchNamespaces.length > 0 ? o.watchNamespaces : undefined;
    // The operator's own namespace holds CA key pairs: its TLS Secrets are watched too (a CA rotation re-checks its policies).
    const secretNamespaces = watched === undefined ? undefined : [...new Set([...watched, o.operatorNamespace])];
    this.certificates = this.cache<Raw, ParsedCertificate>('certificates', CERTIFICATES, watched, { transform: parseCertificate });
    this.policies = this.cache<Raw, TLSPolicy>('tlspolicies', TLS_POLICIES, undefined, { transform: asTLSPolicy });
    this.namespaces = this.cache<V1Namespace & KubeObject, Record<string, string>>('namespaces', NAMESPACES, watched, { transform: (ns) => ns.metadata?.labels ?? {} });
    // Only TLS Secrets, and only a summary of each: no key material is cached.
    this.secrets = this.cache<V1Secret & KubeObject, TlsSecretSummary>('secrets', SECRETS, secretNamespaces, { fieldSelector: 'type=kubernetes.io/tls', transform: summarizeTlsSecret });
    // Services and EndpointSlices as small summaries (ports, labels, ready addresses).
    this.services = this.cache<V1Service & KubeObject, ServiceSummary>('services', SERVICES, watched, { transform: summarizeService });
    this.endpointSlices = this.cache<V1EndpointSlice & KubeObject, EndpointSliceSummary>('endpointslices', ENDPOINT_SLICES, watched, { transform: summarizeEndpointSlice });

    this.inventorySources = new InventorySourceCaches(o.clients.kubeConfig, o.inventorySources ?? DEFAULT_INVENTORY_SOURCES, common);

    const endpointSettings = o.endpoints ?? ENDPOINT_DEFAULTS;
    // The controllers are made below; the validation only enqueues through them once started.
    const enqueue = { certificate: (_key: string): void => undefined, policy: (_name: string): void => undefined };
    this.endpoints = new EndpointValidation({
      ...common,
      log: o.log.child({ component: 'endpoints' }),
      services: this.services,
      slices: this.endpointSlices,
      certificates: this.certificates,
      policies: this.policies,
      namespaces: this.namespaces,
      enqueueCertificate: (key) => enqueue.certificate(key),
      enqueuePolicy: (name) => enqueue.policy(name),
      concurrency: endpointSettings.probeConcurrency,
      allowedCidrs: o.endpoints?.allowedCidrs,
      certificateIntervalMs: endpointSettings.intervalMs,
      recheckIntervalMs: endpointSettings.recheckIntervalMs,
      caBundle: async (secretKey) => {
        const [namespace = '', name = ''] = secretKey.split('/');
        return decodeSecretData(await o.clients.core.readNamespacedSecret({ namespace, name }), 'ca.crt');
      },
      registry: o.registry,
      owns: o.ownsTarget,
    });
    const drivers = this.makeDrivers();
    // A change of an issuer's health is written to its policy's status (and so reaches a new leader).
    const health = new IssuerHealthRegistry({ onChange: (name) => enqueue.policy(name), registry: o.registry });
    const statusWriter = new CertificateStatusWriter({ certificates: o.clients.certificates, clock: o.clock, events: o.events, endpoints: this.endpoints, cache: this.certificates });
    const writeReload = async (cert: Certificate, reload: ReloadStatus) => {
      await statusWriter.change(cert, { reload });
    };
    const reloader =
      o.reloadEnabled === true
        ? new Reloader({ clock: o.clock, endpoints: this.endpoints, workloads: new WorkloadsClient({ core: o.clients.core, apps: o.clients.apps }), writeReload, events: o.events })
        : new ReloadDisabledNotice({ clock: o.clock, writeReload, events: o.events });
    const certificateReconciler = new CertificateReconciler({
      clock: o.clock,
      certificates: this.certificates,
      policies: { list: () => this.policies.list() },
      namespaceLabels: (ns) => this.namespaces.get(ns),
      secrets: this.secrets,
      secretWriters: (secretKey) => [...(this.secretOwners.get(secretKey) ?? [])],
      status: statusWriter,
      events: o.events,
      drivers,
      health,
      reloader,
    });
    this.certificateController = new Controller({
      name: 'certificate',
      reconciler: certificateReconciler,
      workers: o.workers,
      ...common,
      ...(o.registry === undefined ? {} : { registry: o.registry }),
    });
    this.policyController = new Controller({
      name: 'tlspolicy',
      reconciler: new TLSPolicyReconciler({
        clock: o.clock,
        policies: this.policies,
        governedCount: (name) => this.certificates.list().filter((c) => c.ok && c.certificate.status?.policy === name).length,
        policiesApi: o.clients.tlsPolicies,
        events: o.events,
        drivers,
        health,
        endpoints: this.endpoints,
      }),
      workers: 1,
      ...common,
      ...(o.registry === undefined ? {} : { registry: o.registry }),
    });
    // A replica that probes without leading keeps nothing for the reconcilers: when it comes to lead, start() enqueues everything.
    enqueue.certificate = (key) => {
      if (this.controllersStarted) this.certificateController.enqueue(key);
    };
    enqueue.policy = (name) => {
      if (this.controllersStarted) this.policyController.queue.addAfter(name, POLICY_SUMMARY_BATCH_MS);
    };
    this.wire();
  }

  private wire(): void {
    const certs = this.certificateController;
    const policies = this.policyController;
    certs.watch(this.certificates, (key, c) => {
      const cert: Certificate = c.ok ? c.certificate : c.raw;
      return [key, ...(this.secretOwners.get(`${cert.metadata.namespace}/${cert.spec?.secretName}`) ?? [])];
    });
    this.certificates.on('add', (key, c) => this.indexOwner(key, c));
    this.certificates.on('update', (key, c, old) => {
      this.unindexOwner(key, old);
      this.indexOwner(key, c);
      const before = old.ok ? old.certificate.status?.policy : undefined;
      const after = c.ok ? c.certificate.status?.policy : undefined;
      // Counts of governed Certificates are batched: one policy patch per few seconds, not one per Certificate.
      if (before !== after) for (const p of [before, after]) if (p !== undefined) policies.queue.addAfter(p, 5_000);
    });
    this.certificates.on('delete', (key, c) => this.unindexOwner(key, c));

    // A policy's spec can change which policy governs which Certificate and
    // what they may be; its status cannot, so status patches wake nobody.
    // Its own status patches must not wake a policy (each reconcile re-reads the CA Secret).
    this.policies.on('add', (key) => policies.enqueue(key));
    this.policies.on('update', (key, p, old) => {
      if (p.metadata.generation !== old.metadata.generation || p.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) policies.enqueue(key);
    });
    const everyCertificate = () => {
      for (const k of this.certificates.keys()) certs.enqueue(k);
    };
    this.policies.on('add', everyCertificate);
    this.policies.on('delete', everyCertificate);
    this.policies.on('update', (_key, p, old) => {
      if (p.metadata.generation !== old.metadata.generation || p.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) everyCertificate();
      // An ACME account just registered (or changed), or an issuer of spec.issuers became ready, failed or
      // recovered: the Certificates waiting for it, or passing it over, decide again.
      else if (p.status?.acme?.accountURI !== old.status?.acme?.accountURI || JSON.stringify(p.status?.issuers) !== JSON.stringify(old.status?.issuers)) {
        for (const k of this.certificates.keys()) {
          const c = this.certificates.get(k);
          if (c?.ok === true && c.certificate.status?.policy === p.metadata.name) certs.enqueue(k);
        }
      }
    });
    certs.watch(this.namespaces, (name) => this.certificates.keys().filter((k) => k.startsWith(`${name}/`)));

    certs.watch(this.secrets, (key, s) => {
      const owners = new Set(this.secretOwners.get(key));
      const named = s.annotations[SecretAnnotation.certificateName];
      if (named !== undefined) owners.add(`${s.namespace}/${named}`);
      return [...owners];
    });
    // A CA Secret in the operator's namespace: re-check the policies that use it.
    policies.watch(this.secrets, (_key, s) =>
      s.namespace !== this.options.operatorNamespace
        ? undefined
        : this.policies
            .list()
            .filter((p) => p.spec.issuer?.ca?.secretName === s.name || p.spec.issuers?.some((i) => i.ca?.secretName === s.name) === true)
            .map((p) => p.metadata.name),
    );
  }

  /**
   * One driver per issuer kind. The ACME parts get clients of their own: a
   * wide connection pool, and calls repeated when a connection fails under
   * them (every call they make is safe to repeat).
   */
  private makeDrivers(): IssuerDrivers {
    const o = this.options;
    const secretsApi = o.clients.core;
    const acmeClients = makeKubeClients(o.clients.kubeConfig, { maxSockets: 256, retryTransportErrors: true });
    const acmeDeps = {
      ...o.acme,
      clock: o.clock,
      accounts: new AcmeAccounts({ secrets: o.clients.core, operatorNamespace: o.operatorNamespace, clock: o.clock }),
      core: acmeClients.core,
      networking: acmeClients.networking,
      customObjects: acmeClients.customObjects,
      certificates: acmeClients.certificates,
      secrets: acmeClients.secrets,
      statusWriter: new CertificateStatusWriter({ certificates: acmeClients.certificates, clock: o.clock, events: o.events, cache: this.certificates }),
      operatorNamespace: o.operatorNamespace,
    };
    return {
      selfSigned: selfSignedDriver({ secrets: secretsApi }),
      ca: caDriver({ cas: new CaIssuers({ secrets: o.clients.secrets, operatorNamespace: o.operatorNamespace, clock: o.clock }), secrets: secretsApi }),
      acme: acmeDriver(acmeDeps, new AcmeIssuer(acmeDeps), new AcmeUpkeep(acmeDeps)),
    };
  }

  private cache<R extends KubeObject, T>(name: string, type: ResourceType, namespaces: readonly string[] | undefined, opts: { transform: (raw: R) => T; fieldSelector?: string }): InformerCache<T> {
    const { clock, log, clients } = this.options;
    return scopedInformer<R, T>({ kubeConfig: clients.kubeConfig, clock, log, name, type, namespaces, ...opts });
  }

  private indexOwner(key: string, c: ParsedCertificate): void {
    const cert: Certificate = c.ok ? c.certificate : c.raw;
    const secretKey = `${cert.metadata.namespace}/${cert.spec?.secretName}`;
    let set = this.secretOwners.get(secretKey);
    if (set === undefined) this.secretOwners.set(secretKey, (set = new Set()));
    set.add(key);
  }

  private unindexOwner(key: string, c: ParsedCertificate): void {
    const cert: Certificate = c.ok ? c.certificate : c.raw;
    const secretKey = `${cert.metadata.namespace}/${cert.spec?.secretName}`;
    const set = this.secretOwners.get(secretKey);
    set?.delete(key);
    if (set?.size === 0) this.secretOwners.delete(secretKey);
  }

  get informers() {
    return [this.certificates, this.policies, this.namespaces, this.secrets, this.services, this.endpointSlices, ...this.inventorySources.informers];
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  /** What planning the probes reads: no Secrets (the CA bundles are read when a probe needs them). */
  private get planningInformers() {
    return [this.certificates, this.policies, this.namespaces, this.services, this.endpointSlices];
  }

  /**
   * Probe sharing, before (or without) leading: the planning caches and the
   * probes of the targets this replica owns. The controllers stay stopped.
   */
  startProbing(signal: AbortSignal): Promise<void> {
    // Called at start and again when leading: both wait for the one start.
    this.probing ??= (async () => {
      for (const i of this.planningInformers) i.start();
      await Promise.all(this.planningInformers.map((i) => i.waitForSync(signal)));
      this.endpoints.start();
      this.options.log.info({ targets: this.endpoints.targetCount, owned: this.endpoints.ownedCount }, 'planning caches synced, probing owned endpoint targets');
    })();
    return this.probing;
  }

  /** Starts the caches, waits for them, then the controllers: no decision from a half-filled cache. */
  async start(signal: AbortSignal): Promise<void> {
    for (const i of this.informers) i.start();
    await Promise.all(this.informers.map((i) => i.waitForSync(signal)));
    this.controllersStarted = true;
    this.certificateController.start();
    this.policyController.start();
    // Caches filled while only probing woke no reconciler: a new leader looks at everything once.
    // (The informer events of those caches went to the controllers' queues, which hold a key once: bounded by the caches.)
    if (this.probing !== undefined) {
      for (const k of this.certificates.keys()) this.certificateController.enqueue(k);
      for (const p of this.policies.keys()) this.policyController.enqueue(p);
    }
    // Probing runs beside the controllers, never inside their work queues.
    this.endpoints.start();
    this.options.log.info({ certificates: this.certificates.size, policies: this.policies.size, secrets: this.secrets.size }, 'caches synced, controllers started');
  }

  async stop(): Promise<void> {
    await this.endpoints.stop();
    await Promise.all([this.certificateController.stop(), this.policyController.stop()]);
    await Promise.all(this.informers.map((i) => i.stop()));
  }
}
