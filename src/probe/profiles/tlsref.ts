import type { Guidelines } from './guidelines.js';

// TLSRef 6.0: Mozilla's server-side TLS guidelines continued under the
// TLSRef name (https://ssl-config.mozilla.org/guidelines/6.0.json). Against
// 5.7: the hybrid X25519MLKEM768 heads tls_curves of both configurations,
// intermediate drops its three DHE suites (all six left are ECDHE with
// AEAD), and `old` is retired. Everything else is 5.7's figures. Read with
// the same schema as 5.7 (guidelines.ts).

const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const CURVES = ['X25519MLKEM768', 'X25519', 'prime256v1', 'secp384r1'];

export const TLSREF_GUIDELINES_6_0: Guidelines = {
  id: 'TLSRef-6.0',
  title: 'TLSRef 6.0',
  version: '6.0',
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
      ciphers_iana: [
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
        'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
      ],
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
  },
};
