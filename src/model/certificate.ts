import { type Certificate, certificate as certificateSchema } from '../api/certificate.js';

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
