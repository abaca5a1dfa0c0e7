import { type Certificate, type SkippedIssuer, certificate as certificateSchema } from '../api/certificate.js';
import { Reason } from '../api/conditions.js';

// A Certificate as the operator holds it: parsed against the API schema once,
// when it arrives from the API server, or kept raw with the reason it does
// not parse (the reconciler reports that reason as InvalidSpec).

export type ParsedCertificate = { ok: true; certificate: Certificate } | { ok: false; raw: Certificate; error: string };

export function parseCertificate(raw: unknown): ParsedCertificate {
  const parsed = certificateSchema.safeParse(raw);
  if (parsed.success) return { ok: true, certificate: parsed.data };
  const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  return { ok: false, raw: raw as Certificate, error: message };
}

/** The object either way: parsed, or as the API server sent it. */
export const certificateOf = (c: ParsedCertificate): Certificate => (c.ok ? c.certificate : c.raw);

/** "namespace/name", the key of a Certificate in caches and the work queue. */
export const certificateKey = (c: Certificate): string => `${c.metadata.namespace ?? 'default'}/${c.metadata.name}`;

/** `certkeeper renew` sets it to the time of the request; a Secret written before it is re-issued. */
export const RENEW_ANNOTATION = 'certkeeper.dev/renew-requested-at';

/**
 * Whether an issuer was passed over because it failed or was not ready, not
 * merely because it can never issue this Certificate (an ACME issuer without a
 * solver for a private name is a choice of the policy, not a fallback).
 */
export function isFallback(skipped: readonly SkippedIssuer[] | undefined): boolean {
  return (skipped ?? []).some((s) => s.reason !== Reason.IssuerNotEligible);
}

/** The issuer that issued the current certificate, when it is a fallback (status.issuer after failing or unready ones). */
export function fallbackIssuer(c: Certificate): string | undefined {
  const issuer = c.status?.issuer;
  return issuer !== undefined && isFallback(c.status?.skippedIssuers) ? issuer : undefined;
}

/** The reload of the current certificate's workloads (spec.reload) did not make them serve it. */
export function reloadDidNotFix(c: Certificate): boolean {
  const r = c.status?.reload;
  return r !== undefined && r.state === 'StillStale' && r.serialNumber === c.status?.serialNumber;
}
