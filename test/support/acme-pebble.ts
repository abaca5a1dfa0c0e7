/**
 * A Pebble of an ACME test file's own, for what the shared one cannot be
 * asked to do: resolve through BIND (DNS-01 against a real authoritative
 * server), require External Account Binding, offer profiles, offer alternate
 * chains. Started by the same launcher as the shared one (hack/env/acme.ts),
 * with the environment's PKI (so the same CA file is trusted) and binaries;
 * it runs on loopback ports of its own and stops with the file.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { inject } from 'vitest';
import { startPebble } from '../../hack/env/acme.js';
import { pkiPaths } from '../../hack/env/certificates.js';
import { freePorts } from '../../hack/env/ports.js';
import { ensureTools } from '../../hack/env/tools.js';

export interface PebbleVariantOptions {
  /** host:port Pebble resolves every name through. */
  dnsServer: string;
  /** Where its validator connects for HTTP-01 (the operator's responder port). */
  httpPort: number;
  /** keyID -> base64url HMAC key; when given, accounts must bind one of them. */
  eabKeys?: Record<string, string>;
  profiles?: Record<string, { description: string; validityPeriod: number }>;
  /** PEBBLE_ALTERNATE_ROOTS: extra roots, each with its own chain. */
  alternateRoots?: number;
  /** Names it refuses to issue for (rejectedIdentifier). */
  domainBlocklist?: readonly string[];
  /** Its Retry-After in seconds (0: none); the environment's 1 s / 1 s when absent, which the operator waits out. */
  retryAfter?: { authz: number; order: number };
}

export interface PebbleVariant {
  directoryUrl: string;
  managementUrl: string;
  caFile: string;
  logFile: string;
  stop(): Promise<void>;
  /** Starts it again on the same ports (after stop): a CA back from an outage, with none of its old state (accounts, orders). */
  restart(): Promise<void>;
}

export async function startPebbleVariant(name: string, o: PebbleVariantOptions): Promise<PebbleVariant> {
  const tools = await ensureTools();
  const envDir = inject('envDir');
  const [port, managementPort, tlsPort] = (await freePorts(3)) as [number, number, number];
  const launch = (run: number) =>
    startPebble({
      binary: tools.pebble,
      name: `pebble-${name}`,
      dir: join(envDir, `pebble-${name}-${run}-${randomBytes(3).toString('hex')}`),
      pki: pkiPaths(join(envDir, 'pki')),
      port,
      managementPort,
      httpChallengePort: o.httpPort,
      tlsAlpnChallengePort: tlsPort,
      dnsServer: o.dnsServer,
      eabKeys: o.eabKeys,
      profiles: o.profiles,
      alternateRoots: o.alternateRoots,
      domainBlocklist: o.domainBlocklist,
      ...(o.retryAfter === undefined ? {} : { retryAfter: o.retryAfter }),
      // No authorization reuse: every order proves its names.
      authzReusePercent: 0,
    });
  let pebble = await launch(0);
  let runs = 1;
  return {
    directoryUrl: pebble.directoryUrl,
    managementUrl: pebble.managementUrl,
    caFile: inject('acme').serverCaPath,
    get logFile() {
      return pebble.logFile;
    },
    stop: () => pebble.process.stop(),
    async restart() {
      pebble = await launch(runs++);
    },
  };
}
