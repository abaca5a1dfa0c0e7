import { z } from 'zod';
import { postQuantumGroupByName } from '../post-quantum.js';
import type { ProtocolVersion } from '../protocols.js';
import { profileRulesSchema, type TlsProfile } from './schema.js';

// A version of Mozilla's server-side TLS guidelines (TLSRef from 6.0 on) is a
// data document in the guidelines' own JSON field names, validated on load;
// only the fields certkeeper checks are kept. One schema reads every version,
// one function turns a configuration of any version into profile rules: a
// new version is a new data file (mozilla.ts, tlsref.ts), never an edit of
// an old one, and never new code.

const versionName = z.enum(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

export const guidelinesConfiguration = z
  .object({
    certificate_curves: z.array(z.string()),
    certificate_signatures: z.array(z.string()),
    certificate_types: z.array(z.enum(['ecdsa', 'rsa'])),
    ciphers_iana: z.array(z.string()),
    ciphersuites: z.array(z.string()),
    dh_param_size: z.number().int().nullable(),
    ecdh_param_size: z.number().int(),
    hsts_min_age: z.number().int(),
    maximum_certificate_lifespan: z.number().int(),
    ocsp_staple: z.boolean(),
    rsa_key_size: z.number().int().nullable(),
    server_preferred_order: z.boolean(),
    tls_curves: z.array(z.string()).min(1),
    tls_versions: z.array(versionName).min(1),
  })
  .strict();

export const CONFIGURATION_NAMES = ['modern', 'intermediate', 'old'] as const;
export type ConfigurationName = (typeof CONFIGURATION_NAMES)[number];

export const guidelinesSchema = z.object({
  /** How certkeeper names this version: 'TLSRef-6.0', 'Mozilla-5.7'. */
  id: z.string(),
  /** How people name it, for reports. */
  title: z.string(),
  version: z.string(),
  published: z.string().optional(),
  /** `old` is retired from 6.0 on. */
  configurations: z.object({ modern: guidelinesConfiguration, intermediate: guidelinesConfiguration, old: guidelinesConfiguration.optional() }).strict(),
});
export type Guidelines = z.infer<typeof guidelinesSchema>;

const VERSION_NAMES: Readonly<Record<z.infer<typeof versionName>, ProtocolVersion>> = {
  TLSv1: 'TLSv1.0',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};

/** The configuration `name` of `guidelines` as profile rules, or undefined when that version has none by that name. */
export function guidelinesProfile(guidelines: Guidelines, name: ConfigurationName): TlsProfile | undefined {
  const c = guidelines.configurations[name];
  if (c === undefined) return undefined;
  // A post-quantum group at the head of tls_curves is the guidelines asking for it first:
  // a recommendation (an advisory when missing), since the guidelines still allow the classical groups after it.
  const first = c.tls_curves[0];
  const postQuantumFirst = first !== undefined && postQuantumGroupByName(first) !== undefined;
  const rules = profileRulesSchema.parse({
    tlsVersions: c.tls_versions.map((v) => VERSION_NAMES[v]),
    cipherSuites: c.ciphers_iana,
    tls13CipherSuites: c.ciphersuites,
    certificateTypes: c.certificate_types,
    certificateCurves: c.certificate_curves,
    certificateSignatures: c.certificate_signatures,
    ...(c.rsa_key_size === null ? {} : { rsaKeySize: c.rsa_key_size }),
    ...(c.dh_param_size === null ? {} : { dhParamSize: c.dh_param_size }),
    ecdhParamSize: c.ecdh_param_size,
    tlsCurves: c.tls_curves,
    ...(postQuantumFirst ? { postQuantumKeyExchange: 'recommended' as const } : {}),
    // false means "let the client choose": not enforcing is then no fault, enforcing is none either.
    ...(c.server_preferred_order ? { serverPreferredOrder: true } : {}),
    maximumCertificateLifespanDays: c.maximum_certificate_lifespan,
    ...(c.ocsp_staple ? { ocspStapling: 'recommended' as const } : {}),
    hstsMinAgeSeconds: c.hsts_min_age,
  });
  return { name, source: guidelines.title, rules };
}
