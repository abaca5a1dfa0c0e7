import { z } from 'zod';
import type { ProtocolVersion } from '../protocols.js';
import { profileRulesSchema, type TlsProfile } from './schema.js';

// Mozilla's server-side TLS recommendations, version 5.7
// (https://ssl-config.mozilla.org/guidelines/5.7.json), in Mozilla's own
// field names and validated on load; only the fields certkeeper checks are
// kept. A new version is a new data block here, never an edit of this one.

const mozillaVersionName = z.enum(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

const mozillaConfiguration = z
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
    tls_curves: z.array(z.string()),
    tls_versions: z.array(mozillaVersionName).min(1),
  })
  .strict();

const mozillaGuidelines = z.object({
  version: z.string(),
  configurations: z.object({ modern: mozillaConfiguration, intermediate: mozillaConfiguration, old: mozillaConfiguration }).strict(),
});

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const CURVES = ['X25519', 'prime256v1', 'secp384r1'];
const INTERMEDIATE_CIPHERS = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
];

export const MOZILLA_GUIDELINES_5_7 = mozillaGuidelines.parse({
  version: '5.7',
  configurations: {
    modern: {
      certificate_curves: ['prime256v1', 'secp384r1'],
      certificate_signatures: ['ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512'],
      certificate_types: ['ecdsa'],
      ciphers_iana: [],
      ciphersuites: TLS13_SUITES,
      dh_param_size: null,
      ecdh_param_size: 256,
      hsts_min_age: 63072000,
      maximum_certificate_lifespan: 90,
      ocsp_staple: true,
      rsa_key_size: null,
      server_preferred_order: false,
      tls_curves: CURVES,
      tls_versions: ['TLSv1.3'],
    },
    intermediate: {
      certificate_curves: ['prime256v1', 'secp384r1'],
      certificate_signatures: ['sha256WithRSAEncryption', 'ecdsa-with-SHA256', 'ecdsa-with-SHA384', 'ecdsa-with-SHA512'],
      certificate_types: ['ecdsa', 'rsa'],
      ciphers_iana: INTERMEDIATE_CIPHERS,
      ciphersuites: TLS13_SUITES,
      dh_param_size: 2048,
      ecdh_param_size: 256,
      hsts_min_age: 63072000,
      maximum_certificate_lifespan: 366,
      ocsp_staple: true,
      rsa_key_size: 2048,
      server_preferred_order: false,
      tls_curves: CURVES,
      tls_versions: ['TLSv1.2', 'TLSv1.3'],
    },
    old: {
      certificate_curves: ['prime256v1', 'secp384r1'],
      certificate_signatures: ['sha256WithRSAEncryption'],
      certificate_types: ['rsa'],
      ciphers_iana: [
        ...INTERMEDIATE_CIPHERS,
        'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
        'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
        'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
        'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
        'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
        'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
        'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
        'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
        'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256',
        'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256',
        'TLS_RSA_WITH_AES_128_GCM_SHA256',
        'TLS_RSA_WITH_AES_256_GCM_SHA384',
        'TLS_RSA_WITH_AES_128_CBC_SHA256',
        'TLS_RSA_WITH_AES_256_CBC_SHA256',
        'TLS_RSA_WITH_AES_128_CBC_SHA',
        'TLS_RSA_WITH_AES_256_CBC_SHA',
        'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
      ],
      ciphersuites: TLS13_SUITES,
      dh_param_size: 1024,
      ecdh_param_size: 256,
      hsts_min_age: 63072000,
      maximum_certificate_lifespan: 366,
      ocsp_staple: true,
      rsa_key_size: 2048,
      server_preferred_order: true,
      tls_curves: CURVES,
      tls_versions: ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
    },
  },
});

export const MOZILLA_PROFILE_NAMES = ['modern', 'intermediate', 'old'] as const;
export type MozillaProfileName = (typeof MOZILLA_PROFILE_NAMES)[number];

const VERSION_NAMES: Readonly<Record<z.infer<typeof mozillaVersionName>, ProtocolVersion>> = {
  TLSv1: 'TLSv1.0',
  'TLSv1.1': 'TLSv1.1',
  'TLSv1.2': 'TLSv1.2',
  'TLSv1.3': 'TLSv1.3',
};

/** One Mozilla configuration as certkeeper's profile rules (validated again by the rules schema). */
export function mozillaProfile(name: MozillaProfileName, guidelines = MOZILLA_GUIDELINES_5_7): TlsProfile {
  const c = guidelines.configurations[name];
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
    // Mozilla's false means "let the client choose": not enforcing is then no fault, enforcing is none either.
    ...(c.server_preferred_order ? { serverPreferredOrder: true } : {}),
    maximumCertificateLifespanDays: c.maximum_certificate_lifespan,
    ...(c.ocsp_staple ? { ocspStapling: 'recommended' as const } : {}),
    hstsMinAgeSeconds: c.hsts_min_age,
  });
  return { name, source: `Mozilla server-side TLS ${guidelines.version}`, rules };
}
