import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsTestPki } from './server-pki.js';
import { createTlsTestPki, DAY_MS, goodOcspResponse, issueServerCertificate } from './server-pki.js';
import { startHaproxy, startNginx, type RunningTlsServer, type TlsServerConfig } from './servers.js';

// The servers the prober is proven against, one per situation the issue
// names. Cipher lists are Mozilla's server-side TLS 5.7 figures in OpenSSL
// spelling; a server's SNI name is what its certificate should match.

export const MOZILLA_INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'DHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'DHE-RSA-CHACHA20-POLY1305',
].join(':');

export const MOZILLA_OLD_CIPHERS = [
  MOZILLA_INTERMEDIATE_CIPHERS,
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES256-SHA256',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA256',
  'AES256-SHA256',
  'AES128-SHA',
  'AES256-SHA',
  'DES-CBC3-SHA',
].join(':');

export const MOZILLA_CURVES = 'X25519:prime256v1:secp384r1';
export const HSTS_TWO_YEARS = 'max-age=63072000';

export const FIXTURE_NAMES = ['modern', 'intermediate', 'old', 'expired', 'wrongSan', 'missingIntermediate', 'rsa1024'] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export interface ProbeFixture {
  name: FixtureName;
  server: RunningTlsServer;
  /** SNI to probe with. */
  serverName: string;
}

type Starter = (config: TlsServerConfig, dir: string) => Promise<RunningTlsServer>;

interface FixtureSpec {
  start: Starter;
  serverName: string;
  config: (pki: TlsTestPki, serverName: string) => Promise<TlsServerConfig>;
}

/** Mozilla intermediate, as a platform team would configure its ingress: the test servers, the endpoint tests and the demo. */
export const INTERMEDIATE_TLS = {
  protocols: ['TLSv1.2', 'TLSv1.3'],
  ciphers: MOZILLA_INTERMEDIATE_CIPHERS,
  preferServerCiphers: false,
  curves: MOZILLA_CURVES,
  dhParams: true,
  hsts: HSTS_TWO_YEARS,
} as const;

const intermediateSettings = { ...INTERMEDIATE_TLS, http2: true } as const;

/** Mozilla "old": TLS 1.0 and 1.1, CBC suites, server order. */
export const OLD_TLS = {
  protocols: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
  // OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 signatures) above security level 0.
  ciphers: `${MOZILLA_OLD_CIPHERS}:@SECLEVEL=0`,
  preferServerCiphers: true,
  curves: MOZILLA_CURVES,
  dhParams: true,
  hsts: HSTS_TWO_YEARS,
} as const;

const SPECS: Readonly<Record<FixtureName, FixtureSpec>> = {
  modern: {
    start: startNginx,
    serverName: 'modern.probe.test',
    config: async (pki, name) => {
      const certificate = await issueServerCertificate({ dnsNames: [name], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate });
      return {
        name: 'modern',
        certificate,
        ocspResponse: await goodOcspResponse(certificate.leafPem, pki.ecdsaIntermediate),
        protocols: ['TLSv1.3'],
        ciphers: 'HIGH',
        preferServerCiphers: false,
        curves: MOZILLA_CURVES,
        hsts: HSTS_TWO_YEARS,
        http2: true,
      };
    },
  },
  intermediate: {
    start: startNginx,
    serverName: 'intermediate.probe.test',
    config: async (pki, name) => ({
      name: 'intermediate',
      certificate: await issueServerCertificate({ dnsNames: [name], key: 'RSA-2048', issuer: pki.rsaIntermediate }),
      ...intermediateSettings,
    }),
  },
  old: {
    start: startNginx,
    serverName: 'old.probe.test',
    config: async (pki, name) => ({
      name: 'old',
      certificate: await issueServerCertificate({ dnsNames: [name], key: 'RSA-2048', issuer: pki.rsaIntermediate }),
      ...OLD_TLS,
    }),
  },
  expired: {
    start: startNginx,
    serverName: 'expired.probe.test',
    config: async (pki, name) => ({
      name: 'expired',
      certificate: await issueServerCertificate({
        dnsNames: [name],
        key: 'ECDSA-256',
        issuer: pki.ecdsaIntermediate,
        notBefore: new Date(Date.now() - 40 * DAY_MS),
        durationMs: 30 * DAY_MS,
      }),
      ...intermediateSettings,
    }),
  },
  wrongSan: {
    start: startHaproxy,
    serverName: 'app.probe.test',
    config: async (pki) => ({
      name: 'wrong-san',
      certificate: await issueServerCertificate({ dnsNames: ['other.probe.test'], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate }),
      ...intermediateSettings,
    }),
  },
  missingIntermediate: {
    start: startNginx,
    serverName: 'missing-intermediate.probe.test',
    config: async (pki, name) => ({
      name: 'missing-intermediate',
      certificate: await issueServerCertificate({ dnsNames: [name], key: 'ECDSA-256', issuer: pki.ecdsaIntermediate, sendIntermediate: false }),
      ...intermediateSettings,
    }),
  },
  rsa1024: {
    start: startHaproxy,
    serverName: 'rsa1024.probe.test',
    config: async (pki, name) => ({
      name: 'rsa1024',
      certificate: await issueServerCertificate({ dnsNames: [name], key: 'RSA-1024', issuer: pki.rsaIntermediate }),
      protocols: ['TLSv1', 'TLSv1.1', 'TLSv1.2'],
      // Everything this OpenSSL has, CAMELLIA, ARIA and AES-CCM included (node's own OpenSSL offers none of those).
      ciphers: 'ALL:!aNULL:@SECLEVEL=0',
      preferServerCiphers: true,
      dhParams: true,
      securityLevel0: true,
    }),
  },
};

export async function startFixture(name: FixtureName, pki: TlsTestPki, dir: string): Promise<ProbeFixture> {
  const spec = SPECS[name];
  const server = await spec.start(await spec.config(pki, spec.serverName), dir);
  return { name, server, serverName: spec.serverName };
}

/** Starts every fixture; if one fails, the ones already running are stopped. */
export async function startFixtures(pki: TlsTestPki, dir: string, names: readonly FixtureName[] = FIXTURE_NAMES): Promise<Map<FixtureName, ProbeFixture>> {
  const results = await Promise.allSettled(names.map((name) => startFixture(name, pki, dir)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = results.find((r) => r.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(started.map((f) => f.server.stop()));
    throw failure.reason;
  }
  return new Map(started.map((f) => [f.name, f]));
}

export interface FixtureSet {
  dir: string;
  pki: TlsTestPki;
  /** The root CA as a file, for --ca-file. */
  caFile: string;
  fixture(name: FixtureName): ProbeFixture;
  stop(): Promise<void>;
}

/** A temp directory, the test PKI and the named servers; stop() ends them and removes the directory. */
export async function startFixtureSet(names: readonly FixtureName[] = FIXTURE_NAMES): Promise<FixtureSet> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-probe-'));
  try {
    const pki = await createTlsTestPki();
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, pki.caPem);
    const fixtures = await startFixtures(pki, dir, names);
    return {
      dir,
      pki,
      caFile,
      fixture: (name) => {
        const found = fixtures.get(name);
        if (found === undefined) throw new Error(`fixture ${name} was not started`);
        return found;
      },
      stop: async () => {
        await Promise.all([...fixtures.values()].map((f) => f.server.stop()));
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
