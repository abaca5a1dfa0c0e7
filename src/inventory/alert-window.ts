import type { ExpiryThresholds } from './thresholds.js';

// The one rule for when a certificate's time becomes a problem. The inventory
// (problems), the pushed alerts, the metrics and the PrometheusRule all read
// a certificate's window from here, so they cannot disagree.
//
// A certificate nobody renews is judged by fixed thresholds before notAfter
// (21 d / 7 d, or its policy's). A certificate a Certificate renews is judged
// by whether its renewal is late: with lifetimes of 6 days or 24 hours, "expires
// within 21 days" is always true and says nothing, while a renewal that did
// not happen on schedule is the thing to page for. With R the renewal time,
// L the lifetime and W = notAfter - R the time renewal has:
//   warning  at R + min(grace% of L, W/3)   (90 d renewed 30 d early: 21 d before expiry)
//   critical at R + 2W/3                    (the same: 10 d before expiry)
// so warning never comes after critical, and both come before expiry however
// late in its life a policy renews. Both are stated as durations before
// notAfter, like fixed thresholds, so every reader compares them the same way.

export const AlertWindowRule = {
  /** Fixed thresholds before notAfter. */
  Expiry: 'expiry',
  /** Past the renewal time by a grace relative to the lifetime. */
  RenewalOverdue: 'renewal_overdue',
} as const;
export type AlertWindowRule = (typeof AlertWindowRule)[keyof typeof AlertWindowRule];

export interface AlertWindow {
  rule: AlertWindowRule;
  /** Warn when less than this is left before notAfter. */
  warningMs: number;
  /** Page when less than this is left before notAfter (never more than warningMs). */
  criticalMs: number;
  /** RenewalOverdue: when the renewal was due. */
  renewalTime?: Date | undefined;
}

/** What a Certificate's status says of the certificate it renews. */
export interface RenewalSchedule {
  notBefore: Date;
  notAfter: Date;
  renewalTime: Date;
}

/** The window of one certificate: `schedule` only for a certificate a Certificate renews. */
export function alertWindow(thresholds: ExpiryThresholds, schedule: RenewalSchedule | undefined): AlertWindow {
  const fixed: AlertWindow = { rule: AlertWindowRule.Expiry, warningMs: thresholds.warningMs, criticalMs: thresholds.criticalMs };
  if (schedule === undefined || thresholds.managed !== 'RenewalOverdue') return fixed;
  const start = schedule.notBefore.getTime();
  const end = schedule.notAfter.getTime();
  const renewal = schedule.renewalTime.getTime();
  // A renewal time outside the certificate's life belongs to another certificate (or none): no schedule to judge.
  if (!(end > start) || renewal < start || renewal >= end) return fixed;
  const renewalWindow = end - renewal;
  const grace = Math.min((end - start) * thresholds.renewalGraceFraction, renewalWindow / 3);
  return {
    rule: AlertWindowRule.RenewalOverdue,
    warningMs: Math.round(renewalWindow - grace),
    criticalMs: Math.round(renewalWindow / 3),
    renewalTime: schedule.renewalTime,
  };
}

function date(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** The schedule a Certificate's status states, when it states one whole. */
export function scheduleOf(status: { notBefore?: string | undefined; notAfter?: string | undefined; renewalTime?: string | undefined } | undefined): RenewalSchedule | undefined {
  const notBefore = date(status?.notBefore);
  const notAfter = date(status?.notAfter);
  const renewalTime = date(status?.renewalTime);
  return notBefore === undefined || notAfter === undefined || renewalTime === undefined ? undefined : { notBefore, notAfter, renewalTime };
}

/**
 * A Certificate's schedule for one certificate its Secret holds: only when
 * its status describes that certificate (the same notAfter), so a Secret
 * changed behind its back is judged by thresholds, not by a schedule that is
 * not its own.
 */
export function renewalScheduleOf(status: Parameters<typeof scheduleOf>[0], leaf: { notBefore: Date; notAfter: Date }): RenewalSchedule | undefined {
  const schedule = scheduleOf(status);
  if (schedule === undefined || Math.abs(schedule.notAfter.getTime() - leaf.notAfter.getTime()) >= 1000) return undefined;
  return { notBefore: leaf.notBefore, notAfter: leaf.notAfter, renewalTime: schedule.renewalTime };
}
