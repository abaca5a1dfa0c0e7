import { describe, expect, it } from 'vitest';
import { parseSslyzeJson, parseSslyzeMozillaReport } from '../../../hack/tls/sslyze.js';
import { parseTestsslGroups } from '../../../hack/tls/scanners.js';

// The sslyze readers of the agreement test: a wrong reading would make the
// agreement vacuous, so they get their own cases.

const completed = (result: unknown) => ({ status: 'COMPLETED', result });
function report(over: Record<string, unknown> = {}): string {
  const version = (supported: boolean, suites: string[] = []) => completed({ is_tls_version_supported: supported, accepted_cipher_suites: suites.map((name) => ({ cipher_suite: { name } })) });
  return JSON.stringify({
    server_scan_results: [
      {
        scan_result: {
          ssl_3_0_cipher_suites: version(false),
          tls_1_0_cipher_suites: version(false),
          tls_1_1_cipher_suites: version(false),
          tls_1_2_cipher_suites: version(true, ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256']),
          tls_1_3_cipher_suites: version(true, ['TLS_AES_128_GCM_SHA256']),
          elliptic_curves: completed({ supported_curves: [{ name: 'secp384r1' }, { name: 'X25519' }, { name: 'secp256r1' }] }),
          tls_extended_master_secret: completed({ supports_ems_extension: true }),
          session_renegotiation: completed({ supports_secure_renegotiation: true, is_vulnerable_to_client_renegotiation_dos: false }),
          tls_fallback_scsv: completed({ supports_fallback_scsv: true }),
          heartbleed: completed({ is_vulnerable_to_heartbleed: false }),
          openssl_ccs_injection: completed({ is_vulnerable_to_ccs_injection: false }),
          ...over,
        },
      },
    ],
  });
}

describe('parseSslyzeJson', () => {
  it('reads versions, suites by code point, curves in OpenSSL names and the classics', () => {
    expect(parseSslyzeJson(report())).toEqual({
      protocols: ['TLSv1.2', 'TLSv1.3'],
      suites: { 'TLSv1.2': [0xc02f, 0xc030], 'TLSv1.3': [0x1301] },
      curves: ['X25519', 'prime256v1', 'secp384r1'],
      extendedMasterSecret: true,
      secureRenegotiation: true,
      clientRenegotiation: false,
      fallbackScsv: true,
      heartbleed: false,
      ccsInjection: false,
    });
  });

  it('refuses a check that did not complete and a suite it does not know', () => {
    expect(() => parseSslyzeJson(report({ heartbleed: { status: 'ERROR', error_trace: 'boom' } }))).toThrow(/sslyze heartbleed: ERROR "boom"/);
    expect(() => parseSslyzeJson(report({ tls_1_2_cipher_suites: completed({ is_tls_version_supported: true, accepted_cipher_suites: [{ cipher_suite: { name: 'TLS_MADE_UP' } }] }) }))).toThrow(/TLS_MADE_UP/);
  });
});

describe('parseSslyzeMozillaReport', () => {
  it('reads the issue ids of a failed check, none of a compliant one', () => {
    const failed = [' * TLS 1.3 Cipher Suites:', '', ' COMPLIANCE AGAINST MOZILLA TLS CONFIGURATION', '    Checking results against Mozilla\'s "old" configuration. See https://ssl-config.mozilla.org/ for more details.', '', '    a.test:443: FAILED - Not compliant.', '        * tls_versions: TLS versions {\'TLSv1\'} are supported, but should be rejected.', '        * certificate_path_validation: Certificate path validation failed for CN=a.test.', ''].join('\n');
    expect(parseSslyzeMozillaReport(failed)).toEqual(['certificate_path_validation', 'tls_versions']);
    expect(parseSslyzeMozillaReport('Checking results against Mozilla\'s "modern" configuration.\n    a.test:443: OK - Compliant.\n')).toEqual([]);
    expect(() => parseSslyzeMozillaReport('nothing')).toThrow(/no Mozilla check/);
  });
});

describe('parseTestsslGroups (testssl.sh 3.2 --fs)', () => {
  const entry = (id: string, finding: string) => ({ id, ip: '127.0.0.1/127.0.0.1', port: '443', severity: 'OK', finding });
  it('reads the ML-KEM groups and the classical curves', () => {
    const text = JSON.stringify([entry('FS', 'offered'), entry('FS_KEMs', 'SecP256r1MLKEM768 SecP384r1MLKEM1024 '), entry('FS_ECDHE_curves', 'prime256v1 X25519')]);
    expect(parseTestsslGroups(text)).toEqual({ kems: ['SecP256r1MLKEM768', 'SecP384r1MLKEM1024'], curves: ['prime256v1', 'X25519'] });
  });
  it('no FS_KEMs entry: none accepted', () => {
    expect(parseTestsslGroups(JSON.stringify([entry('FS_ECDHE_curves', 'X25519')])).kems).toEqual([]);
  });
  it('refuses output without a curve verdict (a scan that did not get that far)', () => {
    expect(() => parseTestsslGroups(JSON.stringify([entry('scanProblem', 'connection refused')]))).toThrow(/no FS_ECDHE_curves \(ids: scanProblem\)/);
  });
});
