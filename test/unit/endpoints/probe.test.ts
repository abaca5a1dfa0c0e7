import { describe, expect, it } from 'vitest';
import { failureReason, profileOverrides } from '../../../src/endpoints/probe.js';
import { resolveProfile } from '../../../src/probe/index.js';
import { endpointOverrides } from '../../../src/api/tlspolicy.js';

describe('profileOverrides', () => {
  it('maps the TLSPolicy fields onto the profile, spelling TLS 1.0 the profile way', () => {
    expect(profileOverrides(undefined)).toBeUndefined();
    expect(profileOverrides({ minVersion: 'TLSv1', cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'], requireForwardSecrecy: true, requireOCSPStapling: false, minDaysToExpiry: 14 })).toEqual({
      minVersion: 'TLSv1.0',
      cipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
      requireForwardSecrecy: true,
      requireOCSPStapling: false,
      minDaysToExpiry: 14,
    });
  });

  it.each([
    ['TLSv1.3', ['TLSv1.3']],
    ['TLSv1.2', ['TLSv1.2', 'TLSv1.3']],
    ['TLSv1', ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']],
  ] as const)('minVersion %s on intermediate allows %j', (minVersion, versions) => {
    const profile = resolveProfile('intermediate', { overrides: profileOverrides({ minVersion }) });
    expect(profile.rules.tlsVersions).toEqual(versions);
    expect(profile.source).toContain('with overrides');
  });

  it('every override the API accepts is a valid profile field (no ProfileError at probe time)', () => {
    const parsed = endpointOverrides.parse({ minVersion: 'TLSv1.1', cipherSuites: ['ECDHE-RSA-AES128-GCM-SHA256'], requireForwardSecrecy: false, requireOCSPStapling: true, minDaysToExpiry: 0 });
    expect(() => resolveProfile('old', { overrides: profileOverrides(parsed) })).not.toThrow();
    expect(endpointOverrides.safeParse({ cipherSuites: ['NOT_A_SUITE'] }).success).toBe(false);
  });

  it('keeps the profile fields it does not override', () => {
    const base = resolveProfile('intermediate');
    const profile = resolveProfile('intermediate', { overrides: profileOverrides({ minDaysToExpiry: 400 }) });
    expect(profile.rules).toEqual({ ...base.rules, minDaysToExpiry: 400 });
  });
});

describe('failureReason', () => {
  it.each([
    ['connect timed out', 'timeout'],
    ['handshake timed out', 'timeout'],
    ['cannot connect: ECONNREFUSED', 'connect'],
    ['connection closed before connecting', 'connect'],
    ['the served certificate cannot be read: bad DER', 'certificate'],
    ['handshake refused: alert handshake_failure', 'handshake'],
  ])('%s -> %s', (error, reason) => {
    expect(failureReason(error)).toBe(reason);
  });
});
