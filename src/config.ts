import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseDuration } from './api/duration.js';

// Operator settings: flags win over environment variables, which win over
// defaults. Validated once at start so a typo fails loudly, not at 3 a.m.

const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const port = z.coerce.number().int().min(0).max(65535);
/** A Go duration ("30s", "10m") read into milliseconds. */
const durationMs = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      try {
        return parseDuration(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
        return z.NEVER;
      }
    });
/** Repeated flags, or one comma-separated environment variable. */
const urlList = z
  .preprocess(
    (v) => (typeof v === 'string' ? v.split(',') : v),
    z.array(z.string().trim()).transform((urls) => urls.filter((u) => u !== '')),
  )
  .pipe(z.array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })))
  .default([]);

/** Repeated flags, or one comma-separated environment variable, of CIDRs. */
const cidrList = z
  .preprocess(
    (v) => (typeof v === 'string' ? v.split(',') : v),
    z.array(z.string().trim()).transform((cidrs) => cidrs.filter((c) => c !== '')),
  )
  .pipe(
    z.array(
      z.string().refine((c) => {
        const [address = '', bits = ''] = c.split('/');
        const family = isIP(address);
        const n = Number(bits);
        return family !== 0 && bits !== '' && Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
      }, 'must be a CIDR such as 10.244.0.0/16'),
    ),
  )
  .default([]);

/** Repeated flags, or one comma-separated environment variable, of namespace names. */
const namespaceList = z
  .preprocess(
    (v) => (typeof v === 'string' ? v.split(',') : v),
    z.array(z.string().trim()).transform((names) => [...new Set(names.filter((n) => n !== ''))]),
  )
  .pipe(z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a namespace name (RFC 1123 label)')))
  .default([]);

export const operatorConfigSchema = z.object({
  kubeconfig: z.string().optional(),
  namespace: z.string().min(1).default('certkeeper'),
  /**
   * Only these namespaces' Certificates, Secrets, Services and EndpointSlices
   * are watched, so namespaced Roles there are all the operator needs; empty:
   * the whole cluster.
   */
  watchNamespaces: namespaceList,
  leaderElect: boolish.default(true),
  leaseName: z.string().min(1).default('certkeeper-operator'),
  identity: z.string().min(1).default(`${hostname()}-${process.pid}`),
  httpHost: z.string().default('0.0.0.0'),
  httpPort: port.default(9402),
  /** Who may read /metrics and /inventory: callers the API server vouches for and RBAC allows (TokenReview + SubjectAccessReview), or anyone. */
  httpAuth: z.enum(['kubernetes', 'none']).default('kubernetes'),
  workers: z.coerce.number().int().min(1).max(64).default(16),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  // Alerts pushed to Alertmanager (API v2) by the leader; none configured: no pushing.
  alertmanagerUrl: urlList,
  alertmanagerUsername: z.string().optional(),
  alertmanagerPasswordFile: z.string().optional(),
  alertmanagerBearerTokenFile: z.string().optional(),
  alertmanagerCaFile: z.string().optional(),
  alertEvaluationInterval: durationMs('30s'),
  alertResendInterval: durationMs('1m'),
  alertNotReadyAfter: durationMs('10m'),
  // ACME: the HTTP-01 responder (off unless a port is given), trust for a private CA, the self-check, ARI polling bounds.
  acmeHttp01Port: port.optional(),
  acmeHttp01Service: z.string().min(1).default('certkeeper-acme-solver'),
  acmeCaFile: z.string().optional(),
  acmeSelfCheckNameserver: z.string().optional(),
  acmeHttp01SelfCheckPort: port.default(80),
  acmeSelfCheckTimeout: durationMs('2m'),
  acmeAriMinInterval: durationMs('1m'),
  acmeAriMaxInterval: durationMs('24h'),
  // Live endpoint validation: one global limit on probes in flight, and how often Certificate endpoints are looked at.
  probeConcurrency: z.coerce.number().int().min(1).max(256).default(16),
  /** Only backend addresses in these CIDRs are probed (e.g. the pod network); empty: any address the cluster vouches for. */
  probeAllowedCidrs: cidrList,
  endpointInterval: durationMs('10m'),
  endpointRecheckInterval: durationMs('30s'),
  /** spec.reload: restart workloads whose pods serve a stale certificate. Off by default: it needs RBAC to read pods and patch workloads. */
  reloadEnabled: boolish.default(false),
  // Inventory sources beyond TLS Secrets (read-only): which to watch; ConfigMaps only those the selector opts in.
  inventorySources: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v.flatMap((x) => String(x).split(',')) : v),
      z.array(z.string().trim()).transform((names) => names.filter((n) => n !== '' && n !== 'none')),
    )
    .pipe(z.array(z.enum(['webhooks', 'apiservices', 'crds', 'secrets'])))
    .default(['webhooks', 'apiservices', 'crds', 'secrets']),
  inventoryConfigmapSelector: z.string().optional(),
  /** Users of Secrets and ConfigMaps shown with each location (gateways: only where the Gateway API is installed). */
  inventoryConsumers: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v.flatMap((x) => String(x).split(',')) : v),
      z.array(z.string().trim()).transform((names) => names.filter((n) => n !== '' && n !== 'none')),
    )
    .pipe(z.array(z.enum(['pods', 'ingresses', 'gateways'])))
    .default(['pods', 'ingresses']),
  /** Severity of alerts about the CAs the API server trusts (webhook, APIService, CRD conversion caBundles). */
  alertApiServerCaSeverity: z.enum(['critical', 'warning']).default('critical'),
  /**
   * Every replica probes a share of the endpoint targets (member Leases +
   * rendezvous hashing); the leader imports the others' results. Off: only
   * the leader probes.
   */
  probeSharing: boolish.default(false),
  /** A replica that stops renewing its member Lease this long loses its share; renewed every third of it. */
  probeSharingLeaseDuration: durationMs('30s').refine((ms) => ms >= 3_000, 'must be at least 3s (renewed every third of it)'),
  /**
   * The leader's share of the probes against a member's 1: it also imports
   * the others' results and writes every status and event, about 5 % of a
   * full scan's work on the scale-out bench; more replicas want less.
   */
  probeSharingLeaderWeight: z.coerce.number().min(0.05).max(1).default(0.85),
});
export type OperatorConfig = z.infer<typeof operatorConfigSchema>;

const FLAGS = {
  kubeconfig: { env: 'KUBECONFIG', type: 'string' },
  namespace: { env: 'CERTKEEPER_NAMESPACE', type: 'string' },
  'watch-namespaces': { env: 'CERTKEEPER_WATCH_NAMESPACES', type: 'string', multiple: true },
  'leader-elect': { env: 'CERTKEEPER_LEADER_ELECT', type: 'string' },
  'lease-name': { env: 'CERTKEEPER_LEASE_NAME', type: 'string' },
  identity: { env: 'CERTKEEPER_IDENTITY', type: 'string' },
  'http-host': { env: 'CERTKEEPER_HTTP_HOST', type: 'string' },
  'http-port': { env: 'CERTKEEPER_HTTP_PORT', type: 'string' },
  'http-auth': { env: 'CERTKEEPER_HTTP_AUTH', type: 'string' },
  workers: { env: 'CERTKEEPER_WORKERS', type: 'string' },
  'log-level': { env: 'LOG_LEVEL', type: 'string' },
  'alertmanager-url': { env: 'CERTKEEPER_ALERTMANAGER_URL', type: 'string', multiple: true },
  'alertmanager-username': { env: 'CERTKEEPER_ALERTMANAGER_USERNAME', type: 'string' },
  'alertmanager-password-file': { env: 'CERTKEEPER_ALERTMANAGER_PASSWORD_FILE', type: 'string' },
  'alertmanager-bearer-token-file': { env: 'CERTKEEPER_ALERTMANAGER_BEARER_TOKEN_FILE', type: 'string' },
  'alertmanager-ca-file': { env: 'CERTKEEPER_ALERTMANAGER_CA_FILE', type: 'string' },
  'alert-evaluation-interval': { env: 'CERTKEEPER_ALERT_EVALUATION_INTERVAL', type: 'string' },
  'alert-resend-interval': { env: 'CERTKEEPER_ALERT_RESEND_INTERVAL', type: 'string' },
  'alert-not-ready-after': { env: 'CERTKEEPER_ALERT_NOT_READY_AFTER', type: 'string' },
  'acme-http01-port': { env: 'CERTKEEPER_ACME_HTTP01_PORT', type: 'string' },
  'acme-http01-service': { env: 'CERTKEEPER_ACME_HTTP01_SERVICE', type: 'string' },
  'acme-ca-file': { env: 'CERTKEEPER_ACME_CA_FILE', type: 'string' },
  'acme-self-check-nameserver': { env: 'CERTKEEPER_ACME_SELF_CHECK_NAMESERVER', type: 'string' },
  'acme-http01-self-check-port': { env: 'CERTKEEPER_ACME_HTTP01_SELF_CHECK_PORT', type: 'string' },
  'acme-self-check-timeout': { env: 'CERTKEEPER_ACME_SELF_CHECK_TIMEOUT', type: 'string' },
  'acme-ari-min-interval': { env: 'CERTKEEPER_ACME_ARI_MIN_INTERVAL', type: 'string' },
  'acme-ari-max-interval': { env: 'CERTKEEPER_ACME_ARI_MAX_INTERVAL', type: 'string' },
  'probe-concurrency': { env: 'CERTKEEPER_PROBE_CONCURRENCY', type: 'string' },
  'probe-allowed-cidrs': { env: 'CERTKEEPER_PROBE_ALLOWED_CIDRS', type: 'string', multiple: true },
  'endpoint-interval': { env: 'CERTKEEPER_ENDPOINT_INTERVAL', type: 'string' },
  'endpoint-recheck-interval': { env: 'CERTKEEPER_ENDPOINT_RECHECK_INTERVAL', type: 'string' },
  'reload-enabled': { env: 'CERTKEEPER_RELOAD_ENABLED', type: 'string' },
  'inventory-sources': { env: 'CERTKEEPER_INVENTORY_SOURCES', type: 'string', multiple: true },
  'inventory-configmap-selector': { env: 'CERTKEEPER_INVENTORY_CONFIGMAP_SELECTOR', type: 'string' },
  'inventory-consumers': { env: 'CERTKEEPER_INVENTORY_CONSUMERS', type: 'string', multiple: true },
  'alert-api-server-ca-severity': { env: 'CERTKEEPER_ALERT_API_SERVER_CA_SEVERITY', type: 'string' },
  'probe-sharing': { env: 'CERTKEEPER_PROBE_SHARING', type: 'string' },
  'probe-sharing-lease-duration': { env: 'CERTKEEPER_PROBE_SHARING_LEASE_DURATION', type: 'string' },
  'probe-sharing-leader-weight': { env: 'CERTKEEPER_PROBE_SHARING_LEADER_WEIGHT', type: 'string' },
} as const;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export class ConfigError extends Error {}

export function loadOperatorConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(FLAGS).map(([flag, f]) => [flag, { type: f.type, ...('multiple' in f ? { multiple: f.multiple } : {}) }])),
    strict: true,
    allowPositionals: false,
  });
  const raw: Record<string, unknown> = {};
  for (const [flag, f] of Object.entries(FLAGS)) {
    const v = values[flag] ?? env[f.env];
    if (v !== undefined && v !== '') raw[camel(flag)] = v;
  }
  const parsed = operatorConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `--${i.path.join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`);
    throw new ConfigError(`invalid operator settings: ${problems.join('; ')}`);
  }
  return parsed.data;
}

export const operatorFlagHelp = Object.entries(FLAGS)
  .map(([flag, f]) => `  --${flag.padEnd(14)} (env ${f.env})${'multiple' in f ? ' repeatable; env comma-separated' : ''}`)
  .join('\n');
