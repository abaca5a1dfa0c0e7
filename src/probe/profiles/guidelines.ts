import { postQuantumGroupByName } from '../post-quantum.js';
import type { ProtocolVersion } from '../protocols.js';
import type { ProfileRules, TlsProfile } from './rules.js';

// A version of Mozilla's server-side TLS guidelines (TLSRef from 6.0 on) is a
// data document in the guidelines' own JSON field names; only the fields
// certkeeper checks are kept. One type (here) and one schema
// (guidelines-schema.ts) describe every version, one function turns a
// configuration of any version into profile rules: a new version is a new
// data file (mozilla.ts, tlsref.ts), never an edit of an old one, and never
// new code. The documents are checked against the schema by a unit test, not
// at load: reading them needs no schema library (see rules.ts).

export type GuidelinesVersionName = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/** One configuration, in the guidelines' own field names (those certkeeper checks). */
export interface GuidelinesConfiguration {
  certificate_curves: string[];
  certificate_signatures: string[];
  certificate_types: ('ecdsa' | 'rsa')[];
  ciphers_iana: string[];
  ciphersuites: string[];
  dh_param_size: number | null;
  ecdh_param_size: number;
  hsts_min_age: number;
  maximum_certificate_lifespan: number;
  ocsp_staple: boolean;
  rsa_key_size: number | null;
  server_preferred_order: boolean;
  tls_curves: string[];
  tls_versions: GuidelinesVersionName[];
}

export const CONFIGURATION_NAMES = ['modern', 'intermediate', 'old'] as const;
export type ConfigurationName = (typeof CONFIGURATION_NAMES)[number];

export interface Guidelines {
  /** How certkeeper names this version: 'TLSRef-6.0', 'Mozilla-5.7'. */
  id: string;
  /** How people name it, for reports. */
  title: string;
  version: string;
  published?: string;
  /** `old` is retired from 6.0 on. */
  configurations: { modern: GuidelinesConfiguration; intermediate: GuidelinesConfiguration; old?: GuidelinesConfiguration };
}

const VERSION_NAMES: Readonly<Record<GuidelinesVersionName, ProtocolVersion>> = {
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
  const rules: ProfileRules = {
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
  };
  return { name, source: guidelines.title, rules };
}
