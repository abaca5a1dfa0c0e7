import { rootCertificates } from 'node:tls';
import { readCertificateDer } from '../pki/certificate-der.js';
import { certificateFacts } from '../secrets/facts.js';
import { analyseScan } from '../probe/analyse.js';
import { evaluateCompliance } from '../probe/compliance.js';
import { gradeFindings } from '../probe/grade.js';
import { probeChain } from '../probe/jobs/certificate.js';
import { LEGACY_CIPHERS } from '../probe/jobs/handshake-info.js';
import { ScanDeadlineError, type JobOutcome, type ProbeTarget } from '../probe/jobs/outcome.js';
import { ProfileError, resolveProfile } from '../probe/profiles/index.js';
import type { ProfileRules } from '../probe/profiles/schema.js';
import type { ProtocolVersion } from '../probe/protocols.js';
import { scanEndpoint } from '../probe/scan.js';
import type { EndpointOverrides } from '../api/tlspolicy.js';
import type { EndpointResult, PolicyVerdict } from './results.js';
import type { EndpointTarget, PolicyJudgement } from './targets.js';

// One probe of one target, with src/probe doing the network work. A target
// only Certificates care about gets one handshake (the served leaf is all
// that is compared); a target a TLSPolicy selects gets the full scan, judged
// against each policy's profile, and graded.

export type ProbeResult = Omit<EndpointResult, 'since'>;

export interface EndpointProbeOptions {
  now: () => Date;
  /** Bound on the leaf handshake and on each job of a full scan. Default 5000 ms. */
  timeoutMs?: number;
  /** Connections one full scan opens at once. Default 4: probes already run many at a time. */
  scanConcurrency?: number;
  /** A full scan ends at this; the rest of its jobs are not started. Default SCAN_DEADLINE_MS. */
  scanDeadlineMs?: number;
  /** PEM bundles to trust besides the system roots (the ca.crt of the Certificates served here). */
  trust?: (target: EndpointTarget) => Promise<string | undefined>;
}

const TLS_MIN_VERSION: Readonly<Record<NonNullable<EndpointOverrides['minVersion']>, ProtocolVersion>> = {
  TLSv1: 'TLSv1.0',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};

/** TLSPolicy overrides in the profile's own terms (the API spells TLS 1.0 "TLSv1", as nginx and node do). */
export function profileOverrides(overrides: EndpointOverrides | undefined): ProfileRules | undefined {
  if (overrides === undefined) return undefined;
  const rules: ProfileRules = {};
  if (overrides.minVersion !== undefined) rules.minVersion = TLS_MIN_VERSION[overrides.minVersion];
  if (overrides.cipherSuites !== undefined) rules.cipherSuites = overrides.cipherSuites;
  if (overrides.requireForwardSecrecy !== undefined) rules.requireForwardSecrecy = overrides.requireForwardSecrecy;
  if (overrides.requireOCSPStapling !== undefined) rules.requireOCSPStapling = overrides.requireOCSPStapling;
  if (overrides.requirePostQuantum !== undefined) rules.requirePostQuantum = overrides.requirePostQuantum;
  if (overrides.minDaysToExpiry !== undefined) rules.minDaysToExpiry = overrides.minDaysToExpiry;
  return rules;
}

/** A short class of a probe failure, for the error counter. */
export function failureReason(error: string): string {
  if (/timed out/i.test(error)) return 'timeout';
  if (/cannot connect|before connecting/i.test(error)) return 'connect';
  if (/certificate/i.test(error)) return 'certificate';
  return 'handshake';
}

function leafOf(chain: JobOutcome<{ certificates: string[] }> | undefined): ProbeResult['served'] {
  if (chain?.status !== 'accepted') return undefined;
  const first = chain.value.certificates[0];
  if (first === undefined) return undefined;
  const facts = certificateFacts(readCertificateDer(Buffer.from(first, 'base64')));
  return { fingerprintSHA256: facts.fingerprintSHA256, notAfter: facts.notAfter.toISOString(), facts };
}

function outcomeError(outcome: JobOutcome<unknown> | undefined): string | undefined {
  if (outcome === undefined || outcome.status === 'accepted') return undefined;
  return outcome.status === 'rejected' ? `handshake refused: ${outcome.reason}` : outcome.error;
}

function probeTargetOf(t: EndpointTarget): ProbeTarget {
  return { host: t.address, port: t.targetPort, ...(t.serverName === undefined ? {} : { serverName: t.serverName }) };
}

/** One handshake with the target's SNI: which leaf does it serve? */
export async function probeServedLeaf(t: EndpointTarget, o: EndpointProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  // Any version and suite node can speak: the question is only which certificate comes back.
  const chain = await probeChain(probeTargetOf(t), { minVersion: 'TLSv1', ciphers: LEGACY_CIPHERS }, o.timeoutMs ?? 5_000);
  const base = { probedAt: o.now().getTime(), durationMs: Math.round(performance.now() - started), expected: { ...t.expected } };
  let served: ProbeResult['served'];
  let error = outcomeError(chain);
  try {
    served = leafOf(chain);
  } catch (err) {
    error = `the served certificate cannot be read: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (served === undefined) {
    const message = error ?? 'no certificate was served';
    return { ...base, reachable: false, error: message, errorReason: failureReason(message) };
  }
  return { ...base, reachable: true, served };
}

function verdict(findings: Parameters<typeof evaluateCompliance>[0], j: PolicyJudgement): PolicyVerdict {
  try {
    const profile = resolveProfile(j.profile, { overrides: profileOverrides(j.overrides), ...(j.guidelines === undefined ? {} : { guidelines: j.guidelines }) });
    return { violations: evaluateCompliance(findings, profile).violations.map((v) => ({ id: v.id, message: v.message })) };
  } catch (err) {
    if (!(err instanceof ProfileError)) throw err;
    return { violations: [{ id: 'invalid-profile', message: err.message }] };
  }
}

/** The longest a full scan of one address may take; a normal one takes well under 2 s. */
export const SCAN_DEADLINE_MS = 60_000;

/** The full scan: every protocol version, suite and feature; judged by each policy and graded. */
export async function probeFullScan(t: EndpointTarget, o: EndpointProbeOptions): Promise<ProbeResult> {
  const started = performance.now();
  const extra = await o.trust?.(t);
  // One resumption round: the operator reports whether resumption works, not its latency, and
  // every round is two more handshakes per address.
  let observations;
  try {
    observations = await scanEndpoint(probeTargetOf(t), {
      timeoutMs: o.timeoutMs ?? 5_000,
      concurrency: o.scanConcurrency ?? 4,
      resumptionRounds: 1,
      deadlineMs: o.scanDeadlineMs ?? SCAN_DEADLINE_MS,
    });
  } catch (err) {
    if (!(err instanceof ScanDeadlineError)) throw err;
    // A server answering every handshake slowly (a tenant's tarpit) holds a probe slot one deadline, no longer.
    const deadline = o.scanDeadlineMs ?? SCAN_DEADLINE_MS;
    return { probedAt: o.now().getTime(), durationMs: performance.now() - started, expected: { ...t.expected }, reachable: false, error: `the scan did not finish within ${deadline / 1000} s`, errorReason: 'timeout' };
  }
  const now = o.now();
  const findings = analyseScan(observations, { now, caPem: extra === undefined ? rootCertificates.join('\n') : `${rootCertificates.join('\n')}\n${extra}` });
  const grade = gradeFindings(findings).grade;
  const verdicts: Record<string, PolicyVerdict> = {};
  for (const j of t.judgements) verdicts[j.policy] = verdict(findings, j);
  const protocols: Partial<Record<ProtocolVersion, boolean>> = {};
  for (const p of findings.protocols) if (p.status !== 'error') protocols[p.version] = p.status === 'accepted';
  let served: ProbeResult['served'];
  try {
    served = leafOf(observations.chain);
  } catch {
    served = undefined;
  }
  const postQuantum = findings.tls ? { readiness: findings.postQuantum.readiness, ...(findings.postQuantum.browserChoice === undefined ? {} : { browserChoice: findings.postQuantum.browserChoice }) } : undefined;
  const base = { probedAt: now.getTime(), durationMs: Math.round(performance.now() - started), expected: { ...t.expected }, grade, protocols, verdicts, ...(postQuantum === undefined ? {} : { postQuantum }) };
  if (!findings.tls) {
    const detail = findings.protocols.find((p) => p.detail !== undefined)?.detail;
    const message = findings.reachable ? `no TLS version is accepted${detail === undefined ? '' : ` (${detail})`}` : (detail ?? 'cannot connect');
    return { ...base, reachable: false, error: message, errorReason: failureReason(message) };
  }
  if (served === undefined) {
    const message = findings.certificateError ?? 'no certificate was served';
    return { ...base, reachable: true, error: message, errorReason: 'certificate' };
  }
  return { ...base, reachable: true, served };
}

/** Full scan when a policy judges the target, else the leaf only. */
export function probeTarget(t: EndpointTarget, o: EndpointProbeOptions): Promise<ProbeResult> {
  return t.judgements.length > 0 ? probeFullScan(t, o) : probeServedLeaf(t, o);
}
