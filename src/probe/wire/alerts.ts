import { uint } from './bytes.js';
import { CONTENT_TYPE, encodeRecord } from './records.js';

// Alert descriptions (RFC 5246 §7.2, RFC 8446 §6, RFC 7301, RFC 7507).
const ALERT_NAMES: Readonly<Record<number, string>> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  112: 'unrecognized_name',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

export const ALERT = { handshakeFailure: 40, protocolVersion: 70, insufficientSecurity: 71, internalError: 80 } as const;

export function alertName(description: number): string {
  return ALERT_NAMES[description] ?? `alert ${description}`;
}

export function encodeAlert(level: 1 | 2, description: number, recordVersion: number): Buffer {
  return encodeRecord(CONTENT_TYPE.alert, recordVersion, Buffer.concat([uint(level, 1), uint(description, 1)]));
}
