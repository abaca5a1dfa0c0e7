import { rootCertificates } from 'node:tls';
import { analyseCertificate } from './certificate-analysis.js';
import {
  FINDINGS_SCHEMA_VERSION,
  type CheckResult,
  type Coverage,
  type CrlFindings,
  type VulnerabilityFinding,
  type GroupFinding,
  type HstsFindings,
  type KeyExchangeFindings,
  type ProbeFindings,
  type ProtocolFinding,
  type ResumptionFindings,
  type ServerPreferenceFinding,
  type SuiteFinding,
  type SuiteProbeError,
} from './findings.js';
import { nominalGroupBits } from './groups.js';
import type { JobOutcome } from './jobs/outcome.js';
import type { ResumptionTiming } from './jobs/resumption.js';
import { analysePostQuantum } from './post-quantum-analysis.js';
import { PROTOCOL_VERSIONS } from './protocols.js';
import type { ScanObservations } from './scan.js';
import { describeSuiteId, suiteById } from './suites.js';

// The pure analyser: observations in, frozen findings out. It decides
// nothing about quality; it only derives facts (which suites, which groups,
// does the chain verify, does the name match).

export interface AnalyseOptions {
  now: Date;
  /** PEM trust anchors (--ca-file); node's bundled Mozilla roots when absent. */
  caPem?: string;
}

function check<T>(outcome: JobOutcome<T> | undefined): CheckResult {
  if (outcome === undefined) return { support: 'not-tested' };
  switch (outcome.status) {
    case 'accepted':
      return { support: 'yes' };
    case 'rejected':
      return { support: 'no', detail: outcome.reason };
    case 'error':
      return { support: 'unknown', detail: outcome.error };
  }
}

function coverage(values: readonly boolean[]): Coverage {
  if (values.length === 0 || values.every((v) => !v)) return 'none';
  return values.every((v) => v) ? 'all' : 'some';
}

function protocolFindings(observations: ScanObservations): ProtocolFinding[] {
  return PROTOCOL_VERSIONS.map((version) => {
    const outcome = observations.protocols[version];
    switch (outcome.status) {
      case 'accepted':
        return { version, status: 'accepted', via: outcome.value.via };
      case 'rejected':
        return { version, status: 'rejected', detail: outcome.reason };
      case 'error':
        return { version, status: 'error', detail: outcome.error };
    }
  });
}

function groupName(type: 'ECDH' | 'DH', name: string | undefined, size: number): string {
  return type === 'DH' ? `DH ${size}` : (name ?? `ECDH ${size}`);
}

function suiteFindings(observations: ScanObservations): { suites: SuiteFinding[]; errors: SuiteProbeError[] } {
  const suites: SuiteFinding[] = [];
  const errors: SuiteProbeError[] = [];
  for (const { version, suite: id, outcome } of observations.suites) {
    const suite = suiteById(id);
    if (suite === undefined) continue;
    if (outcome.status === 'error') errors.push({ version, id, name: suite.name, error: outcome.error });
    if (outcome.status !== 'accepted') continue;
    const key = outcome.value.ephemeralKey;
    suites.push({
      version,
      id,
      name: suite.name,
      openssl: suite.openssl,
      keyExchange: suite.keyExchange,
      authentication: suite.authentication,
      cipher: suite.cipher,
      mode: suite.mode,
      strengthBits: suite.strengthBits,
      forwardSecrecy: suite.forwardSecrecy,
      aead: suite.aead,
      export: suite.export,
      anonymous: suite.anonymous,
      via: outcome.value.via,
      ...(key === undefined ? {} : { keyExchangeGroup: groupName(key.type, key.name, key.size), keyExchangeBits: nominalGroupBits(key.name ?? '', key.size) }),
    });
  }
  const versionIndex = (v: SuiteFinding['version']): number => PROTOCOL_VERSIONS.indexOf(v);
  suites.sort((a, b) => versionIndex(a.version) - versionIndex(b.version) || a.id - b.id);
  return { suites, errors };
}

function preferenceFindings(observations: ScanObservations): ServerPreferenceFinding[] {
  return observations.preferences.map(({ version, outcome }) =>
    outcome.status === 'accepted'
      ? { version, enforced: outcome.value.enforced, order: outcome.value.order.map(describeSuiteId) }
      : { version, enforced: undefined, order: [], detail: outcome.status === 'rejected' ? outcome.reason : outcome.error },
  );
}

function minimum(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : Math.min(...values);
}

function keyExchangeFindings(observations: ScanObservations, suites: readonly SuiteFinding[]): KeyExchangeFindings {
  const groups: GroupFinding[] = [];
  const groupErrors: string[] = [];
  for (const { group, outcome } of observations.groups) {
    if (outcome.status === 'accepted') groups.push({ name: group, bits: nominalGroupBits(group, outcome.value.size) });
    if (outcome.status === 'error') groupErrors.push(`${group}: ${outcome.error}`);
  }
  const ecdh = [...groups.filter((g) => !g.name.startsWith('ffdhe')).map((g) => g.bits), ...suites.filter((s) => s.keyExchangeGroup !== undefined && !s.keyExchangeGroup.startsWith('DH ')).map((s) => s.keyExchangeBits ?? 0)];
  const dh = [...groups.filter((g) => g.name.startsWith('ffdhe')).map((g) => g.bits), ...suites.filter((s) => s.keyExchangeGroup?.startsWith('DH ') === true).map((s) => s.keyExchangeBits ?? 0)];
  return {
    groups,
    groupErrors,
    minEcdhBits: minimum(ecdh),
    minDhBits: minimum(dh),
    rsaKeyTransport: suites.some((s) => s.keyExchange === 'RSA'),
  };
}

function resumptionFindings(observations: ScanObservations): ResumptionFindings {
  const { ticket, sessionId } = observations.resumption;
  const timed = [ticket, sessionId].find((o): o is Extract<JobOutcome<ResumptionTiming>, { status: 'accepted' }> => o?.status === 'accepted');
  return {
    sessionIds: check(sessionId),
    tickets: check(ticket),
    fullHandshakeMs: timed?.value.fullHandshakeMs,
    resumedHandshakeMs: timed?.value.resumedHandshakeMs,
  };
}

/** Pure: the directives of a Strict-Transport-Security value (RFC 6797 §6.1). */
export function parseHsts(header: string): Pick<HstsFindings, 'maxAgeSeconds' | 'includeSubDomains' | 'preload'> {
  const directives = header.split(';').map((d) => d.trim().toLowerCase());
  const maxAge = directives.map((d) => /^max-age\s*=\s*"?(\d+)"?$/.exec(d)?.[1]).find((v) => v !== undefined);
  return {
    ...(maxAge === undefined ? {} : { maxAgeSeconds: Number(maxAge) }),
    includeSubDomains: directives.includes('includesubdomains'),
    preload: directives.includes('preload'),
  };
}

function hstsFindings(observations: ScanObservations): HstsFindings {
  const outcome = observations.http;
  if (outcome === undefined) return { support: 'not-tested' };
  if (outcome.status !== 'accepted') return check(outcome);
  const header = outcome.value.strictTransportSecurity;
  if (header === undefined) return { support: 'no', detail: `HTTP ${outcome.value.status} without Strict-Transport-Security` };
  return { support: 'yes', header, ...parseHsts(header) };
}

function findingsTls(observations: ScanObservations): boolean {
  return PROTOCOL_VERSIONS.some((v) => observations.protocols[v].status === 'accepted');
}

function vulnerability(outcome: JobOutcome<'vulnerable' | 'not-vulnerable'> | undefined): VulnerabilityFinding {
  if (outcome === undefined) return { status: 'not-tested' };
  if (outcome.status === 'accepted') return { status: outcome.value };
  return { status: 'unknown', detail: outcome.status === 'rejected' ? outcome.reason : outcome.error };
}

/** Pure: the CRL check against the clock. */
export function crlFindings(outcome: ScanObservations['crl'], now: Date): CrlFindings {
  if (outcome === undefined) return { status: 'not-tested' };
  if (outcome.status === 'rejected') return { status: 'not-tested', detail: outcome.reason };
  if (outcome.status === 'error') return { status: 'unavailable', detail: outcome.error };
  const c = outcome.value;
  const base = { url: c.url, thisUpdate: c.thisUpdate, ...(c.nextUpdate === undefined ? {} : { nextUpdate: c.nextUpdate }), ...(c.signatureValid === undefined ? {} : { signatureValid: c.signatureValid }) };
  if (c.signatureValid === false) return { ...base, status: 'unavailable', detail: `the CRL is not signed by the served issuer (${c.issuer})` };
  if (c.listsLeaf) return { ...base, status: 'revoked', detail: `the CRL of ${c.issuer} lists the certificate` };
  if (c.nextUpdate !== undefined && new Date(c.nextUpdate) < now) return { ...base, status: 'stale', detail: `the CRL's nextUpdate (${c.nextUpdate}) has passed` };
  return { ...base, status: 'current' };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function collectErrors(observations: ScanObservations, suiteErrors: readonly SuiteProbeError[]): { check: string; message: string }[] {
  const errors: { check: string; message: string }[] = [];
  for (const version of PROTOCOL_VERSIONS) {
    const outcome = observations.protocols[version];
    if (outcome.status === 'error') errors.push({ check: `protocol ${version}`, message: outcome.error });
  }
  for (const e of suiteErrors) errors.push({ check: `suite ${e.name} (${e.version})`, message: e.error });
  const singles: [string, JobOutcome<unknown> | undefined][] = [
    ['certificate chain', observations.chain],
    ['OCSP stapling', observations.ocspStapling],
    ['ALPN h2', observations.alpn?.h2],
    ['ALPN http/1.1', observations.alpn?.['http/1.1']],
    ['session tickets', observations.resumption.ticket],
    ['session ids', observations.resumption.sessionId],
    ['secure renegotiation', observations.secureRenegotiation],
    ['extended master secret', observations.extendedMasterSecret],
    ['TLS_FALLBACK_SCSV', observations.fallbackScsv],
    ['client-initiated renegotiation', observations.clientRenegotiation],
    ['Heartbleed', observations.heartbleed],
    ['CCS injection', observations.ccsInjection],
    ['HTTP head', observations.http],
    ...observations.preferences.map((p): [string, JobOutcome<unknown>] => [`server preference ${p.version}`, p.outcome]),
    ...observations.groups.map((g): [string, JobOutcome<unknown>] => [`group ${g.group}`, g.outcome]),
    ...(observations.postQuantum?.groups ?? []).map((g): [string, JobOutcome<unknown>] => [`post-quantum group ${g.group}`, g.outcome]),
    ['post-quantum browser offer', observations.postQuantum?.browserOffer],
  ];
  for (const [name, outcome] of singles) if (outcome?.status === 'error') errors.push({ check: name, message: outcome.error });
  return errors;
}

export function analyseScan(observations: ScanObservations, options: AnalyseOptions): ProbeFindings {
  const { target } = observations;
  const protocols = protocolFindings(observations);
  const { suites, errors: suiteErrors } = suiteFindings(observations);
  const connectFailure = (p: ProtocolFinding): boolean => p.status === 'error' && (p.detail?.startsWith('cannot connect') === true || p.detail === 'connect timed out');
  const reachable = !protocols.every(connectFailure);
  let certificate: ProbeFindings['certificate'];
  let certificateError: string | undefined;
  if (observations.chain?.status === 'accepted') {
    try {
      certificate = analyseCertificate(
        observations.chain.value.certificates.map((b64) => Buffer.from(b64, 'base64')),
        {
          name: target.serverName ?? target.host,
          now: options.now,
          anchorsPem: options.caPem ?? rootCertificates.join('\n'),
          anchors: options.caPem === undefined ? 'system' : 'ca-bundle',
        },
      );
    } catch (error) {
      certificateError = `the served certificate cannot be read: ${error instanceof Error ? error.message : String(error)}`;
    }
  } else if (observations.chain !== undefined) {
    certificateError = observations.chain.status === 'rejected' ? observations.chain.reason : observations.chain.error;
  }
  const findings: ProbeFindings = {
    schemaVersion: FINDINGS_SCHEMA_VERSION,
    target: { host: target.host, port: target.port, serverName: target.serverName },
    scannedAt: observations.startedAt,
    durationMs: observations.durationMs,
    reachable,
    tls: protocols.some((p) => p.status === 'accepted'),
    protocols,
    cipherSuites: suites,
    suiteErrors,
    serverPreference: preferenceFindings(observations),
    keyExchange: keyExchangeFindings(observations, suites),
    postQuantum: analysePostQuantum(observations.postQuantum),
    forwardSecrecy: coverage(suites.map((s) => s.forwardSecrecy)),
    aead: coverage(suites.map((s) => s.aead)),
    certificate,
    ...(certificateError === undefined ? {} : { certificateError }),
    ocspStapling: check(observations.ocspStapling),
    crl: crlFindings(observations.crl, options.now),
    alpn: { h2: check(observations.alpn?.h2), http11: check(observations.alpn?.['http/1.1']) },
    resumption: resumptionFindings(observations),
    secureRenegotiation: check(observations.secureRenegotiation),
    extendedMasterSecret: check(observations.extendedMasterSecret),
    fallbackScsv: observations.fallbackScsv === undefined && findingsTls(observations) ? { support: 'not-tested', detail: 'TLS 1.3 only, or nothing below TLS 1.0' } : check(observations.fallbackScsv),
    clientRenegotiation: check(observations.clientRenegotiation),
    vulnerabilities: { heartbleed: vulnerability(observations.heartbleed), ccsInjection: vulnerability(observations.ccsInjection) },
    hsts: hstsFindings(observations),
    errors: collectErrors(observations, suiteErrors),
  };
  return deepFreeze(findings);
}
