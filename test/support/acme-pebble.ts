/**
 * A Pebble of an ACME test file's own, for what the shared one cannot be
 * asked to do: resolve through BIND (DNS-01 against a real authoritative
 * server), require External Account Binding, offer profiles, offer alternate
 * chains. It uses the environment's PKI (so the same CA file is trusted) and
 * its binaries; it runs on loopback ports of its own and stops with the file.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { inject } from 'vitest';
import { freePorts } from '../../hack/env/ports.js';
import { ManagedProcess, stopOnFailure, waitForReady } from '../../hack/env/processes.js';
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
}

export interface PebbleVariant {
  directoryUrl: string;
  managementUrl: string;
  caFile: string;
  logFile: string;
  stop(): Promise<void>;
}

export async function startPebbleVariant(name: string, o: PebbleVariantOptions): Promise<PebbleVariant> {
  const tools = await ensureTools();
  const envDir = inject('envDir');
  const dir = join(envDir, `pebble-${name}-${randomBytes(3).toString('hex')}`);
  await mkdir(dir, { recursive: true });
  const [port, managementPort, tlsPort] = (await freePorts(3)) as [number, number, number];
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${managementPort}`,
      certificate: join(envDir, 'pki', 'pebble.crt'),
      privateKey: join(envDir, 'pki', 'pebble.key'),
      httpPort: o.httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: o.eabKeys !== undefined,
      ...(o.eabKeys === undefined ? {} : { externalAccountMACKeys: o.eabKeys }),
      ...(o.profiles === undefined ? {} : { profiles: o.profiles }),
      retryAfter: { authz: 3, order: 5 },
      keyAlgorithm: 'ecdsa',
    },
  };
  const configPath = join(dir, 'pebble-config.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));
  const logFile = join(dir, 'pebble.log');
  const process = ManagedProcess.start({
    name: `pebble-${name}`,
    command: tools.pebble,
    args: ['-config', configPath, '-dnsserver', o.dnsServer],
    // No authorization reuse: every order proves its names.
    env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_AUTHZREUSE: '0', ...(o.alternateRoots === undefined ? {} : { PEBBLE_ALTERNATE_ROOTS: String(o.alternateRoots) }) },
    logFile,
  });
  const caFile = inject('acme').serverCaPath;
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  const managementUrl = `https://127.0.0.1:${managementPort}`;
  return stopOnFailure(process, async () => {
    const agent = new Agent({ ca: await readFile(caFile, 'utf8') });
    const { request } = await import('node:https');
    const get = (url: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(url, { agent, headers: { 'user-agent': 'certkeeper-tests' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    await waitForReady(async () => {
      const statuses = [await get(directoryUrl), await get(`${managementUrl}/roots/0`)];
      if (statuses.some((s) => s !== 200)) throw new Error(`directory and root answered HTTP ${statuses.join(', ')}`);
      return true;
    }, {
      description: `Pebble ${name} at ${directoryUrl}`,
      timeoutMs: 30_000,
      watch: [process],
    });
    return { directoryUrl, managementUrl, caFile, logFile, stop: () => process.stop() };
  });
}
