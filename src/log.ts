import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs on stdout. Redaction is a second line of defence: no code path
 * should hand key material to the logger in the first place.
 */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', name = 'certkeeper'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    redact: {
      paths: ['*.privateKey', '*.privateKeyPem', '*.tls\\.key', '*.data', 'privateKey', 'privateKeyPem'],
      censor: '[redacted]',
    },
  });
}
