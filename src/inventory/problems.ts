import type { TlsSecretSummary } from '../model/secret.js';
import type { CertificateFacts } from '../model/certificate-facts.js';
import { PROBLEM_PRECEDENCE, ProblemId, type Problem } from './model.js';
import { AlertWindowRule, type AlertWindow } from './alert-window.js';
import { publicLifetimeMessage } from '../probe/lifetimes.js';

// What is wrong with a certificate, as named pure checks: time-dependent ones
// take `now` (from the injected clock), none touches the API.

export type ExpiryWindow = Pick<AlertWindow, 'warningMs' | 'criticalMs'> & Partial<Pick<AlertWindow, 'rule' | 'renewalTime'>>;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "21d", "5d 3h", "2h 5m", "45s": the two largest units, for people. */
export function formatSpan(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MINUTE) return `${Math.round(abs / 1000)}s`;
  const parts: string[] = [];
  const d = Math.floor(abs / DAY);
  const h = Math.floor((abs % DAY) / HOUR);
  const m = Math.floor((abs % HOUR) / MINUTE);
  if (d > 0) parts.push(`${d}d`);
  if (h > 0) parts.push(`${h}h`);
  if (m > 0 && d === 0) parts.push(`${m}m`);
  return parts.slice(0, 2).join(' ');
}

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

export function expiredProblem(c: CertificateFacts, now: Date): Problem | undefined {
  const left = c.notAfter.getTime() - now.getTime();
  if (left > 0) return undefined;
  return { id: ProblemId.Expired, severity: 'critical', message: `expired ${formatSpan(-left)} ago, at ${iso(c.notAfter)}` };
}

export function expiringProblem(c: CertificateFacts, window: ExpiryWindow, now: Date): Problem | undefined {
  const left = c.notAfter.getTime() - now.getTime();
  if (left <= 0 || left > window.warningMs) return undefined;
  const critical = left <= window.criticalMs;
  const threshold = critical ? window.criticalMs : window.warningMs;
  const severity = critical ? 'critical' : 'warning';
  if (window.rule === AlertWindowRule.RenewalOverdue) {
    const due = window.renewalTime === undefined ? '' : `renewal was due ${formatSpan(now.getTime() - window.renewalTime.getTime())} ago, at ${iso(window.renewalTime)}; `;
    return {
      id: ProblemId.RenewalOverdue,
      severity,
      message: `not renewed: ${due}expires in ${formatSpan(left)}, at ${iso(c.notAfter)} (${severity} when ${formatSpan(threshold)} are left)`,
    };
  }
  return {
    id: ProblemId.Expiring,
    severity,
    message: `expires in ${formatSpan(left)}, at ${iso(c.notAfter)} (${severity} threshold ${formatSpan(threshold)})`,
  };
}

export function notYetValidProblem(c: CertificateFacts, now: Date): Problem | undefined {
  const until = c.notBefore.getTime() - now.getTime();
  if (until <= 0) return undefined;
  return { id: ProblemId.NotYetValid, severity: 'warning', message: `not valid for another ${formatSpan(until)}, until ${iso(c.notBefore)}` };
}

/** Problems of the certificate itself, wherever it is found. */
export function certificateProblems(c: CertificateFacts, window: ExpiryWindow, now: Date): Problem[] {
  return [expiredProblem(c, now), notYetValidProblem(c, now), expiringProblem(c, window, now)].filter((p): p is Problem => p !== undefined);
}

/** Problems of one Secret that holds a parsable tls.crt: its key, and its ca.crt. */
export function secretProblems(s: TlsSecretSummary, location: string): Problem[] {
  const out: Problem[] = [];
  switch (s.state.state) {
    case 'mismatched':
      out.push({ id: ProblemId.KeyMismatch, severity: 'critical', message: `tls.key of Secret ${s.namespace}/${s.name} does not belong to tls.crt`, location });
      break;
    case 'incomplete':
      out.push({ id: ProblemId.Incomplete, severity: 'warning', message: `Secret ${s.namespace}/${s.name} has no ${s.state.missing.join(' and ')}`, location });
      break;
    case 'invalid':
      out.push({ id: ProblemId.Unparsable, severity: 'critical', message: `Secret ${s.namespace}/${s.name}: ${s.state.error}`, location });
      break;
    default:
      break;
  }
  const leaf = s.certificates.leaf;
  if (s.certificates.publicLifetime !== undefined && leaf !== undefined) {
    out.push({ id: ProblemId.LifetimeExceedsLimit, severity: 'warning', message: publicLifetimeMessage(s.certificates.publicLifetime, leaf.notBefore), location });
  }
  if (s.certificates.caError !== undefined) {
    out.push({ id: ProblemId.Unparsable, severity: 'warning', message: `Secret ${s.namespace}/${s.name}: ${s.certificates.caError}`, location });
  }
  return out;
}

/** A Secret whose tls.crt gives no certificate at all. */
export function unreadableSecretProblem(s: TlsSecretSummary, location: string): Problem {
  if (s.state.state === 'incomplete' && s.state.missing.includes('tls.crt')) {
    return { id: ProblemId.Incomplete, severity: 'warning', message: `Secret ${s.namespace}/${s.name} has no ${s.state.missing.join(' and ')}`, location };
  }
  return { id: ProblemId.Unparsable, severity: 'critical', message: `Secret ${s.namespace}/${s.name}: ${s.certificates.leafError ?? 'tls.crt cannot be read'}`, location };
}

/** The first problem in PROBLEM_PRECEDENCE the list holds, or 'none'. */
export function primaryProblem(problems: readonly Problem[]): ProblemId | 'none' {
  for (const id of PROBLEM_PRECEDENCE) if (problems.some((p) => p.id === id)) return id;
  return 'none';
}
