// CA/Browser Forum ballot SC-081: the longest validity of a publicly trusted
// TLS server certificate, by the date it was issued (notBefore). Before
// 2026-03-15 the Baseline Requirements allowed 398 days. Days here are whole
// 86,400-second days, compared with the certificate's notAfter - notBefore
// (the BRs count the validity period inclusively, one second more, which no
// issuer relies on).

const STEPS: readonly { from: string; maxDays: number }[] = [
  { from: '2029-03-15T00:00:00Z', maxDays: 47 },
  { from: '2027-03-15T00:00:00Z', maxDays: 100 },
  { from: '2026-03-15T00:00:00Z', maxDays: 200 },
];
const BEFORE_SC081_DAYS = 398;

/** The most days a publicly trusted server certificate issued at `notBefore` may be valid. */
export function maxPublicLifetimeDays(notBefore: Date): number {
  return STEPS.find((s) => notBefore >= new Date(s.from))?.maxDays ?? BEFORE_SC081_DAYS;
}

export interface PublicLifetimeExcess {
  /** notAfter - notBefore in days, to two decimals (as the prober reports validity). */
  lifetimeDays: number;
  /** What SC-081 allows for its issue date. */
  maxDays: number;
}

/** notAfter - notBefore in days, to two decimals. */
export function lifetimeDaysOf(notBefore: Date, notAfter: Date): number {
  return Math.round(((notAfter.getTime() - notBefore.getTime()) / 86_400_000) * 100) / 100;
}

/** The lifetime, when it is longer than a publicly trusted certificate issued at notBefore may have; else undefined. */
export function publicLifetimeExcess(notBefore: Date, lifetimeDays: number): PublicLifetimeExcess | undefined {
  const maxDays = maxPublicLifetimeDays(notBefore);
  return lifetimeDays > maxDays ? { lifetimeDays, maxDays } : undefined;
}

/** The SC-081 finding's words, shared by the prober and the inventory. */
export function publicLifetimeMessage(excess: PublicLifetimeExcess, notBefore: Date): string {
  return `the publicly trusted certificate is valid for ${excess.lifetimeDays} days; issued ${notBefore.toISOString().slice(0, 10)}, the CA/Browser Forum allows at most ${excess.maxDays} (SC-081)`;
}
