import { readFileSync } from 'node:fs';
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { ConfigError, type OperatorConfig } from '../config.js';
import type { LiveInventory } from '../inventory/live.js';
import type { Logger } from '../log.js';
import { alertMetrics } from '../alerts/metrics.js';
import { AlertmanagerClient, type AlertmanagerAuth } from '../alerts/alertmanager-client.js';
import type { EndpointObservation } from '../alerts/model.js';
import { desiredAlerts } from '../alerts/rules.js';
import { AlertSender } from '../alerts/sender.js';

// Alerting inside the operator process: built from the settings, fed by the
// LiveInventory, started by the leader only.

export interface AlertingOptions {
  live: LiveInventory;
  clock: Clock;
  log: Logger;
  registry: Registry;
  /** Live endpoint findings, when live validation provides them. */
  endpoints?: () => EndpointObservation[];
}

type AlertingConfig = Pick<
  OperatorConfig,
  | 'alertmanagerUrl'
  | 'alertmanagerUsername'
  | 'alertmanagerPasswordFile'
  | 'alertmanagerBearerTokenFile'
  | 'alertmanagerCaFile'
  | 'alertEvaluationInterval'
  | 'alertResendInterval'
  | 'alertNotReadyAfter'
> &
  Partial<Pick<OperatorConfig, 'alertApiServerCaSeverity'>>;

function readSetting(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read the ${what} file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function alertmanagerAuth(config: AlertingConfig): AlertmanagerAuth {
  if (config.alertmanagerBearerTokenFile !== undefined) {
    if (config.alertmanagerUsername !== undefined) throw new ConfigError('--alertmanager-username and --alertmanager-bearer-token-file exclude each other');
    return { type: 'bearer', token: readSetting(config.alertmanagerBearerTokenFile, 'Alertmanager bearer token').trim() };
  }
  if (config.alertmanagerUsername !== undefined) {
    const password = config.alertmanagerPasswordFile === undefined ? '' : readSetting(config.alertmanagerPasswordFile, 'Alertmanager password').replace(/\r?\n$/, '');
    return { type: 'basic', username: config.alertmanagerUsername, password };
  }
  if (config.alertmanagerPasswordFile !== undefined) throw new ConfigError('--alertmanager-password-file needs --alertmanager-username');
  return { type: 'none' };
}

/** The leader's alert sender, or undefined when no Alertmanager is configured. Throws ConfigError for unreadable credential files. */
export function createAlerting(config: AlertingConfig, o: AlertingOptions): AlertSender | undefined {
  if (config.alertmanagerUrl.length === 0) return undefined;
  const auth = alertmanagerAuth(config);
  const ca = config.alertmanagerCaFile === undefined ? undefined : readSetting(config.alertmanagerCaFile, 'Alertmanager CA');
  const targets = config.alertmanagerUrl.map((url) => new AlertmanagerClient({ url, auth, ca }, o.clock));
  o.log.info({ alertmanagers: targets.map((t) => t.name), auth: auth.type }, 'alerts go to Alertmanager');
  return new AlertSender({
    clock: o.clock,
    log: o.log,
    targets,
    metrics: alertMetrics(o.registry),
    evaluationIntervalMs: config.alertEvaluationInterval,
    resendIntervalMs: config.alertResendInterval,
    evaluate: () => {
      if (!o.live.synced()) return undefined;
      const s = o.live.snapshot();
      return desiredAlerts({
        now: new Date(o.clock.now()),
        certificates: s.certificates,
        inventory: s.inventory,
        thresholds: s.thresholds,
        endpoints: o.endpoints?.() ?? [],
        notReadyAfterMs: config.alertNotReadyAfter,
        apiServerCaSeverity: config.alertApiServerCaSeverity,
      });
    },
  });
}
