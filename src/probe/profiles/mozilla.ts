import { guidelinesProfile, type ConfigurationName, type Guidelines } from './guidelines.js';
import type { TlsProfile } from './rules.js';

// Mozilla's server-side TLS recommendations, version 5.7 (May 2023;
// https://ssl-config.mozilla.org/guidelines/5.7.json): the last version with
// `old`, and with DHE suites in intermediate. Kept selectable beside TLSRef
// 6.0 (tlsref.ts); see guidelines.ts for how a version becomes a profile.

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

export const MOZILLA_GUIDELINES_5_7: Guidelines = {
  id: 'Mozilla-5.7',
  title: 'Mozilla server-side TLS 5.7',
  version: '5.7',
  published: '2023-05-15',
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
};

export const MOZILLA_PROFILE_NAMES = ['modern', 'intermediate', 'old'] as const;
export type MozillaProfileName = (typeof MOZILLA_PROFILE_NAMES)[number];

/** One Mozilla 5.7 configuration as certkeeper's profile rules. */
export function mozillaProfile(name: MozillaProfileName, guidelines = MOZILLA_GUIDELINES_5_7): TlsProfile {
  const profile = guidelinesProfile(guidelines, name satisfies ConfigurationName);
  if (profile === undefined) throw new Error(`${guidelines.title} has no ${name} configuration`);
  return profile;
}
