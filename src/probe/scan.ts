import { PROTOCOL_VERSIONS, type ProtocolVersion } from './protocols.js';
import { suitesForVersion } from './suites.js';
import { probeChainAndStapling, type ServedChain } from './jobs/certificate.js';
import { probeServerPreference, probeVersionSuites, type ServerPreference, type SuiteProbe } from './jobs/cipher-suites.js';
import { ALPN_PROTOCOLS, groupsToProbe, probeAlpn, probeGroup, probeGroupTls13, probeSecureRenegotiation, secureRenegotiationOf, type AlpnProtocol, type StapledResponse } from './jobs/features.js';
import { LEGACY_CIPHERS, pinnedVersion, type EphemeralKey } from './jobs/handshake-info.js';
import { probeHttpHead, type HttpHead } from './jobs/hsts.js';
import { createLimiter, since, type JobOutcome, type ProbeTarget } from './jobs/outcome.js';
import { probePostQuantum, type PostQuantumObservation } from './jobs/post-quantum.js';
import { probeProtocol, type ProtocolProbe } from './jobs/protocol-versions.js';
import { probeCrl, type CrlCheck } from './jobs/revocation.js';
import { extendedMasterSecretOf, probeCcsInjection, probeClientRenegotiation, probeFallbackScsv, probeHeartbleed, type VulnerabilityVerdict } from './jobs/classics.js';
import { chainsToPublicRoots } from '../pki/trust-anchors.js';
import { probeResumption, type ResumptionMechanism, type ResumptionTiming } from './jobs/resumption.js';
import type { HandshakeOptions } from './jobs/tls-handshake.js';

// Runs the jobs against one endpoint and keeps what each returned, untouched:
// the observations are plain data (JSON-safe), judged later by the analyser.
// Versions come first (everything else depends on which are accepted), then
// all other jobs run together under one connection limit. Connections are
// spent only where a finding needs them: suites by elimination (N+1 hellos
// for N accepted), TLS 1.3 groups by hand-built hello, one handshake for the
// chain and the OCSP staple; full handshakes where only a finished one tells
// (key exchange of a TLS 1.2 suite, ALPN, resumption, HSTS).

export interface ScanOptions {
  /** Bound on each job's connection (connect + handshake + inspection). Default 4000 ms. */
  timeoutMs?: number;
  /** Connections in flight at once. Default 8. */
  concurrency?: number;
  /** Also fetch `GET /` for the HSTS header (HTTP endpoints). Default false. */
  http?: boolean;
  /** Full + resumed handshake pairs per resumption mechanism. Default 3. */
  resumptionRounds?: number;
  /** The whole scan: jobs not started by then are not started, and the scan rejects with ScanDeadlineError. Default: none. */
  deadlineMs?: number;
  /**
   * 'private': fetch the leaf's CRL (http, at most 1 MiB and 3 s) when the chain does not lead to a public root.
   * Default 'off': the URL is the served certificate's, so whoever runs the endpoint picks where the prober connects.
   */
  crl?: 'off' | 'private';
}

export interface SuiteObservation {
  version: ProtocolVersion;
  suite: number;
  outcome: JobOutcome<SuiteProbe>;
}

export interface PreferenceObservation {
  version: ProtocolVersion;
  outcome: JobOutcome<ServerPreference>;
}

export interface GroupObservation {
  /** OpenSSL group name. */
  group: string;
  /** The version the group was probed with. */
  version: ProtocolVersion;
  outcome: JobOutcome<EphemeralKey>;
}

/** Everything one scan saw. A check that did not apply (no TLS at all, no TLS 1.2) is undefined. */
export interface ScanObservations {
  target: ProbeTarget;
  startedAt: string;
  durationMs: number;
  protocols: Record<ProtocolVersion, JobOutcome<ProtocolProbe>>;
  suites: SuiteObservation[];
  preferences: PreferenceObservation[];
  groups: GroupObservation[];
  /** TLS 1.3 only: post-quantum groups, by hand-built hello. */
  postQuantum: PostQuantumObservation | undefined;
  chain: JobOutcome<ServedChain> | undefined;
  ocspStapling: JobOutcome<StapledResponse> | undefined;
  /** Only when asked for and the chain is private. */
  crl: JobOutcome<CrlCheck> | undefined;
  alpn: Record<AlpnProtocol, JobOutcome<null>> | undefined;
  resumption: Partial<Record<ResumptionMechanism, JobOutcome<ResumptionTiming>>>;
  secureRenegotiation: JobOutcome<null> | undefined;
  /** The classics, TLS 1.2 and older only (see jobs/classics.ts). */
  extendedMasterSecret: JobOutcome<null> | undefined;
  fallbackScsv: JobOutcome<null> | undefined;
  clientRenegotiation: JobOutcome<null> | undefined;
  heartbleed: JobOutcome<VulnerabilityVerdict> | undefined;
  ccsInjection: JobOutcome<VulnerabilityVerdict> | undefined;
  http: JobOutcome<HttpHead> | undefined;
}

const DEFAULTS = { timeoutMs: 4_000, concurrency: 8, http: false, resumptionRounds: 3 } as const;

function newest(versions: readonly ProtocolVersion[]): ProtocolVersion | undefined {
  return versions[versions.length - 1];
}

/** Offer only ECDHE suites when probing groups below TLS 1.3, so the server cannot dodge to RSA or DHE. */
function groupProbeOptions(version: ProtocolVersion): HandshakeOptions {
  const pinned = pinnedVersion(version);
  if (version === 'TLSv1.3') return pinned;
  return { ...pinned, ciphers: pinned.ciphers === LEGACY_CIPHERS ? 'ECDHE:@SECLEVEL=0' : 'ECDHE' };
}

export async function scanEndpoint(target: ProbeTarget, options: ScanOptions = {}): Promise<ScanObservations> {
  const { timeoutMs, concurrency, http, resumptionRounds } = { ...DEFAULTS, ...options };
  const startedAt = new Date();
  const start = performance.now();
  const limit = createLimiter(concurrency, options.deadlineMs === undefined ? undefined : start + options.deadlineMs);

  const protocolOutcomes = await Promise.all(PROTOCOL_VERSIONS.map((version) => limit(() => probeProtocol(target, version, timeoutMs))));
  const protocols = Object.fromEntries(PROTOCOL_VERSIONS.map((v, i) => [v, protocolOutcomes[i]])) as Record<ProtocolVersion, JobOutcome<ProtocolProbe>>;
  const acceptedVersions = PROTOCOL_VERSIONS.filter((v) => protocols[v].status === 'accepted');
  const best = newest(acceptedVersions);
  const empty: ScanObservations = {
    target,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    protocols,
    suites: [],
    preferences: [],
    groups: [],
    postQuantum: undefined,
    chain: undefined,
    ocspStapling: undefined,
    crl: undefined,
    alpn: undefined,
    resumption: {},
    secureRenegotiation: undefined,
    extendedMasterSecret: undefined,
    fallbackScsv: undefined,
    clientRenegotiation: undefined,
    heartbleed: undefined,
    ccsInjection: undefined,
    http: undefined,
  };
  if (best === undefined) return { ...empty, durationMs: since(start) };

  const base = pinnedVersion(best === 'SSLv3' ? 'TLSv1.0' : best);
  const bestBelow13 = newest(acceptedVersions.filter((v) => v !== 'TLSv1.3' && v !== 'SSLv3'));

  const suitesAndPreferences = Promise.all(
    acceptedVersions.map(async (version) => {
      const { outcomes, fullOffer, pickOrder } = await probeVersionSuites(target, version, suitesForVersion(version), timeoutMs, limit);
      const observations = outcomes.map(({ suite, outcome }): SuiteObservation => ({ version, suite: suite.id, outcome }));
      const acceptedSuites = outcomes.filter((o) => o.outcome.status === 'accepted').map((o) => o.suite);
      const preference = await limit(() => probeServerPreference(target, version, acceptedSuites, timeoutMs, pickOrder));
      return { version, fullOffer, observations, preference: { version, outcome: preference } };
    }),
  );
  // The elimination's first hello for that version is the very offer the renegotiation check makes.
  const secureRenegotiationCheck = async (version: ProtocolVersion): Promise<JobOutcome<null>> => {
    const fullOffer = (await suitesAndPreferences).find((r) => r.version === version)?.fullOffer;
    return fullOffer === undefined ? limit(() => probeSecureRenegotiation(target, version, timeoutMs)) : secureRenegotiationOf(fullOffer);
  };
  const extendedMasterSecretCheck = async (version: ProtocolVersion): Promise<JobOutcome<null>> => {
    const fullOffer = (await suitesAndPreferences).find((r) => r.version === version)?.fullOffer;
    return fullOffer === undefined ? { status: 'error', error: 'no full offer was made with this version', elapsedMs: 0 } : extendedMasterSecretOf(fullOffer);
  };
  // A fallback hello names the version just below the best one, taken or not: a server that honours
  // TLS_FALLBACK_SCSV refuses it before it looks at the version (as sslyze tests). Not for TLS 1.3-only
  // servers (downgrade protection is built in) nor below TLS 1.0.
  const tls13Only = best === 'TLSv1.3' && !acceptedVersions.includes('TLSv1.2');
  const below = PROTOCOL_VERSIONS[PROTOCOL_VERSIONS.indexOf(best) - 1];
  const fallbackVersion = tls13Only || below === undefined || below === 'SSLv3' ? undefined : below;
  const classicVersion = bestBelow13 === 'SSLv3' ? undefined : bestBelow13;
  const nodeName = (v: ProtocolVersion): 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' => (v === 'TLSv1.0' ? 'TLSv1' : v === 'TLSv1.1' ? 'TLSv1.1' : 'TLSv1.2');
  const groupVersion = best === 'SSLv3' ? undefined : best;
  const groups: Promise<GroupObservation[]> =
    groupVersion === undefined
      ? Promise.resolve([])
      : Promise.all(
          groupsToProbe(groupVersion).map(async (group) => ({
            group,
            version: groupVersion,
            outcome: await limit(() => (groupVersion === 'TLSv1.3' ? probeGroupTls13 : probeGroup)(target, groupProbeOptions(groupVersion), group, timeoutMs)),
          })),
        );
  const alpn = Promise.all(ALPN_PROTOCOLS.map((p) => limit(() => probeAlpn(target, base, p, timeoutMs))));
  const chainAndStapling = limit(() => probeChainAndStapling(target, base, timeoutMs));
  // Not under `limit`: the CRL lives on another host, and its own bounds hold it.
  const crl = chainAndStapling.then(async ({ chain }) => {
    if (options.crl !== 'private' || chain.status !== 'accepted') return undefined;
    const served = chain.value.certificates.map((b64) => Buffer.from(b64, 'base64'));
    return chainsToPublicRoots(served, new Date()) ? undefined : probeCrl(chain.value.certificates);
  });
  const postQuantum = acceptedVersions.includes('TLSv1.3') ? probePostQuantum(target, timeoutMs, limit) : undefined;
  const classics = Promise.all([
    bestBelow13 === undefined ? undefined : extendedMasterSecretCheck(bestBelow13),
    fallbackVersion === undefined ? undefined : limit(() => probeFallbackScsv(target, fallbackVersion, timeoutMs)),
    classicVersion === undefined ? undefined : limit(() => probeClientRenegotiation(target, nodeName(classicVersion), timeoutMs)),
    classicVersion === undefined ? undefined : limit(() => probeHeartbleed(target, classicVersion, timeoutMs)),
    classicVersion === undefined ? undefined : limit(() => probeCcsInjection(target, classicVersion, timeoutMs)),
  ]);
  const [suiteResults, groupResults, postQuantumResult, { chain, ocspStapling }, alpnResults, tickets, sessionIds, secureRenegotiation, httpHead] = await Promise.all([
    suitesAndPreferences,
    groups,
    postQuantum,
    chainAndStapling,
    alpn,
    limit(() => probeResumption(target, base, 'ticket', resumptionRounds, timeoutMs)),
    bestBelow13 === undefined ? undefined : limit(() => probeResumption(target, pinnedVersion(bestBelow13), 'sessionId', resumptionRounds, timeoutMs)),
    bestBelow13 === undefined ? undefined : secureRenegotiationCheck(bestBelow13),
    http ? limit(() => probeHttpHead(target, base, timeoutMs)) : undefined,
  ]);
  const crlResult = await crl;
  const [extendedMasterSecret, fallbackScsv, clientRenegotiation, heartbleed, ccsInjection] = await classics;
  const [h2, http11] = alpnResults;
  return {
    ...empty,
    durationMs: since(start),
    suites: suiteResults.flatMap((r) => r.observations),
    preferences: suiteResults.map((r) => r.preference),
    groups: groupResults,
    postQuantum: postQuantumResult,
    chain,
    ocspStapling,
    crl: crlResult,
    alpn: h2 === undefined || http11 === undefined ? undefined : { h2, 'http/1.1': http11 },
    resumption: sessionIds === undefined ? { ticket: tickets } : { ticket: tickets, sessionId: sessionIds },
    secureRenegotiation,
    extendedMasterSecret,
    fallbackScsv,
    clientRenegotiation,
    heartbleed,
    ccsInjection,
    http: httpHead,
  };
}
