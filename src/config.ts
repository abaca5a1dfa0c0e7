import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

// Operator settings: flags win over environment variables, which win over
// defaults. Validated once at start so a typo fails loudly, not at 3 a.m.

const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
const port = z.coerce.number().int().min(0).max(65535);

export const operatorConfigSchema = z.object({
  kubeconfig: z.string().optional(),
  namespace: z.string().min(1).default('certkeeper'),
  leaderElect: boolish.default(true),
  leaseName: z.string().min(1).default('certkeeper-operator'),
  identity: z.string().min(1).default(`${hostname()}-${process.pid}`),
  httpHost: z.string().default('0.0.0.0'),
  httpPort: port.default(9402),
  workers: z.coerce.number().int().min(1).max(64).default(4),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});
export type OperatorConfig = z.infer<typeof operatorConfigSchema>;

const FLAGS = {
  kubeconfig: { env: 'KUBECONFIG', type: 'string' },
  namespace: { env: 'CERTKEEPER_NAMESPACE', type: 'string' },
  'leader-elect': { env: 'CERTKEEPER_LEADER_ELECT', type: 'string' },
  'lease-name': { env: 'CERTKEEPER_LEASE_NAME', type: 'string' },
  identity: { env: 'CERTKEEPER_IDENTITY', type: 'string' },
  'http-host': { env: 'CERTKEEPER_HTTP_HOST', type: 'string' },
  'http-port': { env: 'CERTKEEPER_HTTP_PORT', type: 'string' },
  workers: { env: 'CERTKEEPER_WORKERS', type: 'string' },
  'log-level': { env: 'LOG_LEVEL', type: 'string' },
} as const;

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export class ConfigError extends Error {}

export function loadOperatorConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(FLAGS).map(([flag, f]) => [flag, { type: f.type }])),
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
  .map(([flag, f]) => `  --${flag.padEnd(14)} (env ${f.env})`)
  .join('\n');
