import type { Registry } from 'prom-client';
import { KubernetesHttpAuthorizer } from '../kube/http-authorizer.js';
import { endpointObservations } from '../alerts/endpoint-observations.js';
import { servedCertificates } from '../inventory/served.js';
import { type Clock, realClock, sleep } from '../clock.js';
import type { OperatorConfig } from '../config.js';
import { OperatorHttpServer } from '../http/server.js';
import { loadKubeConfig, makeKubeClients } from '../kube/client.js';
import { EventRecorder } from '../kube/events.js';
import { toError } from '../kube/errors.js';
import { LeaderElector } from '../kube/leader.js';
import { Shutdown } from '../kube/shutdown.js';
import type { Logger } from '../log.js';
import { registry as defaultRegistry } from '../metrics/registry.js';
import { ControllerSet } from './controllers.js';
import { startAcmeRuntime } from '../issuers/acme/runtime.js';
import { attachInventory } from './inventory.js';
import { groupsSeen, protocolsSeen } from '../inventory/seen.js';
import { createAlerting } from './alerts.js';
import { endpointMetricRows, registerEndpointMetrics } from '../endpoints/metrics.js';
import { Ownership } from '../endpoints/ownership.js';
import { ProbeSharing } from '../endpoints/sharing.js';
import { memberLeaseName, Membership } from '../kube/membership.js';

/** How long a new leader waits for the other replicas' results before its reconcilers start (probe sharing). */
const IMPORT_SYNC_WAIT_MS = 10_000;

export interface OperatorHandle {
  httpPort: number;
  /** Resolves when the operator has stopped: shutdown, or leadership lost. */
  done: Promise<'shutdown' | 'lost-leadership'>;
  stop(): Promise<void>;
}

export interface RunOptions {
  log: Logger;
  clock?: Clock;
  registry?: Registry;
}

/**
 * The operator process: health endpoints at once, controllers only while
 * leading. Losing the lease ends the process (`done` resolves) so it restarts
 * with empty caches instead of running on beside the new leader.
 */
export async function startOperator(config: OperatorConfig, opts: RunOptions): Promise<OperatorHandle> {
  const clock = opts.clock ?? realClock;
  const log = opts.log;
  const registry = opts.registry ?? defaultRegistry;
  const clients = makeKubeClients(loadKubeConfig(config.kubeconfig));
  // TLSPolicies are cluster-scoped: their events go to the operator's namespace, where its Role may write them.
  const events = new EventRecorder({ clients, clock, log: log.child({ component: 'events' }), clusterScopedNamespace: config.namespace, registry });
  const acme = await startAcmeRuntime(
    {
      namespace: config.namespace,
      http01Port: config.acmeHttp01Port,
      http01Host: config.httpHost,
      http01Service: config.acmeHttp01Service,
      caFile: config.acmeCaFile,
      selfCheckNameserver: config.acmeSelfCheckNameserver,
      http01SelfCheckPort: config.acmeHttp01SelfCheckPort,
      selfCheckTimeoutMs: config.acmeSelfCheckTimeout,
      ariMinIntervalMs: config.acmeAriMinInterval,
      ariMaxIntervalMs: config.acmeAriMaxInterval,
    },
    { core: clients.core, log, clock, registry },
  );
  const ownership = config.probeSharing ? new Ownership(config.identity) : undefined;
  const controllers = new ControllerSet({
    clients,
    clock,
    log,
    events,
    operatorNamespace: config.namespace,
    watchNamespaces: config.watchNamespaces,
    workers: config.workers,
    registry,
    acme: acme.controllerOptions,
    endpoints: {
      probeConcurrency: config.probeConcurrency,
      intervalMs: config.endpointInterval,
      recheckIntervalMs: config.endpointRecheckInterval,
      allowedCidrs: config.probeAllowedCidrs,
    },
    reloadEnabled: config.reloadEnabled,
    inventorySources: {
      sources: config.inventorySources,
      configMapSelector: config.inventoryConfigmapSelector,
      consumers: config.inventoryConsumers,
      ...(config.watchNamespaces.length === 0 ? {} : { namespaces: config.watchNamespaces }),
    },
    ownsTarget: ownership === undefined ? undefined : (key) => ownership.owns(key),
  });
  const sharing =
    ownership === undefined
      ? undefined
      : new ProbeSharing(
          {
            core: clients.core,
            kubeConfig: clients.kubeConfig,
            namespace: config.namespace,
            group: config.leaseName,
            identity: config.identity,
            ownership,
            membership: new Membership({
              clients,
              namespace: config.namespace,
              group: config.leaseName,
              identity: config.identity,
              leaseDurationMs: config.probeSharingLeaseDuration,
              renewPeriodMs: Math.floor(config.probeSharingLeaseDuration / 3),
              clock,
              log: log.child({ component: 'membership' }),
            }),
            validation: controllers.endpoints,
            clock,
            log: log.child({ component: 'probe-sharing' }),
            registry,
            staleAfterMs: config.probeSharingLeaseDuration,
            leaderWeight: config.probeSharingLeaderWeight,
          },
          memberLeaseName(config.leaseName, config.identity),
        );

  let leading = false;
  // /metrics and /inventory (every certificate of the cluster) only for callers RBAC allows; health stays open.
  const callers =
    config.httpAuth === 'kubernetes'
      ? new KubernetesHttpAuthorizer({ authentication: clients.authentication, authorization: clients.authorization, clock })
      : undefined;
  const http = new OperatorHttpServer({
    log: log.child({ component: 'http' }),
    registry,
    clock,
    callers: callers === undefined ? undefined : (authorization, path) => callers.check(authorization, path),
  });
  http.addLivenessCheck('controllers', () => !leading || controllers.certificateController.isRunning() || 'controllers stopped while leading');
  // A worker stuck in one reconcile (a hung request, a loop) shows as not live: the pod is restarted.
  http.addLivenessCheck('workers', () => {
    if (!leading) return true;
    for (const c of [controllers.certificateController, controllers.policyController]) {
      const stuck = c.stuck();
      if (stuck !== undefined) return `${c.name} reconcile of ${stuck.key} has run for ${Math.round(stuck.runningMs / 1000)} s`;
    }
    return true;
  });
  // A standby is ready (it serves health and, later, HTTP-01); the leader once its caches are synced.
  http.addReadinessCheck('caches', () => !leading || controllers.hasSynced() || 'caches not synced yet');
  // /inventory, the certificate and inventory metrics, and (leader only) alerts to Alertmanager.
  // Live endpoint results feed the inventory (served leaves), the alerts and the endpoint metrics; empty while not leading.
  const inventory = attachInventory({
    http,
    registry,
    controllers,
    clock,
    endpoints: () => (leading ? servedCertificates(controllers.endpoints.readings()) : []),
    protocols: () => (leading ? protocolsSeen(controllers.endpoints.readings()) : []),
    groups: () => (leading ? groupsSeen(controllers.endpoints.readings()) : []),
  });
  controllers.endpoints.results.on('change', () => inventory.invalidate());
  controllers.endpoints.results.on('remove', () => inventory.invalidate());
  registerEndpointMetrics(registry, () => (leading ? endpointMetricRows(controllers.endpoints.readings()) : { rows: [], dropped: 0 }));
  const alerting = createAlerting(config, {
    live: inventory,
    clock,
    log: log.child({ component: 'alerts' }),
    registry,
    endpoints: () => (leading ? endpointObservations(controllers.endpoints.readings()) : []),
  });
  const httpPort = await http.start(config.httpPort, config.httpHost);
  log.info({ httpPort, namespace: config.namespace, leaderElect: config.leaderElect, identity: config.identity }, 'certkeeper operator starting');

  let resolveDone: (why: 'shutdown' | 'lost-leadership') => void = () => undefined;
  const done = new Promise<'shutdown' | 'lost-leadership'>((resolve) => (resolveDone = resolve));
  let stopping = false;

  const lead = async (signal: AbortSignal): Promise<void> => {
    leading = true;
    try {
      if (sharing !== undefined) {
        // The others' results first: reconcilers that ran before them would write "pending" over what status already says.
        await controllers.startProbing(signal);
        // Bounded: a leader that cannot read them (RBAC, an API server in trouble) still reconciles, on its own results.
        const waited = new AbortController();
        await Promise.race([sharing.lead(signal).catch(() => undefined), sleep(clock, IMPORT_SYNC_WAIT_MS, waited.signal).catch(() => undefined)]);
        waited.abort();
      }
      await controllers.start(signal);
      alerting?.start();
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  };

  // Probe sharing: every replica joins and probes its share at once, leading or not.
  const probing = new AbortController();
  if (sharing !== undefined) {
    await sharing.start();
    void controllers.startProbing(probing.signal).catch((err: unknown) => {
      if (!probing.signal.aborted) log.error({ err: toError(err) }, 'probing could not start');
    });
  }

  let elector: LeaderElector | undefined;
  if (config.leaderElect) {
    elector = new LeaderElector({
      clients,
      namespace: config.namespace,
      name: config.leaseName,
      identity: config.identity,
      clock,
      log: log.child({ component: 'leader' }),
    });
    void elector
      .run({
        onStartedLeading: lead,
        onStoppedLeading: async () => {
          await alerting?.stop();
          await controllers.stop();
          leading = false;
        },
        onNewLeader: (identity) => log.info({ leader: identity }, 'leader is now known'),
      })
      .then(() => resolveDone(stopping ? 'shutdown' : 'lost-leadership'));
  } else {
    await lead(new AbortController().signal);
  }

  const stop = async (): Promise<void> => {
    if (stopping) return done.then(() => undefined);
    stopping = true;
    await alerting?.stop();
    probing.abort();
    // Leave first: the others take over this replica's share while it winds down.
    await sharing?.stop();
    // A replica that only probed has caches and probes running, which no leadership hand-over stops.
    if (sharing !== undefined && !leading) await controllers.stop();
    if (elector !== undefined) await elector.release();
    else {
      await controllers.stop();
      resolveDone('shutdown');
    }
    await events.flush();
    await http.close();
    await acme.stop();
  };
  return { httpPort, done, stop };
}

/** `certkeeper operator`: runs until SIGTERM/SIGINT, or exits 1 when leadership is lost. */
export async function runOperatorProcess(config: OperatorConfig, log: Logger): Promise<number> {
  const operator = await startOperator(config, { log });
  const shutdown = new Shutdown({ log, clock: realClock });
  shutdown.register('operator', () => operator.stop());
  shutdown.install();
  const why = await operator.done;
  if (why === 'lost-leadership') {
    log.error('lost leadership: exiting so a restart begins from a clean state');
    await operator.stop();
    return 1;
  }
  return shutdown.run('stopped');
}
