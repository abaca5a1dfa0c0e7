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
