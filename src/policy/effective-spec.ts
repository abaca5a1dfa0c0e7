import { createHash } from 'node:crypto';
import type { CertificateSpec } from '../api/certificate.js';
import { DEFAULT_DURATION_MS, defaultKeySize, type EffectiveSpec } from '../model/spec.js';
import { parseDuration } from '../api/duration.js';
import type { CertificateGuardrails, TLSPolicy } from '../api/tlspolicy.js';
import type { CaConstraints } from '../pki/spec.js';
import { normalizeIpAddress } from '../pki/names.js';
import { resolveUsages } from '../pki/usages.js';
import { compareText } from '../text-order.js';

export function effectiveSpec(spec: CertificateSpec, policy: TLSPolicy | undefined): EffectiveSpec {
  const guard = policy?.spec.certificates;
  const algorithm = spec.privateKey?.algorithm ?? 'RSA';
  const renewBeforeText = spec.renewBefore ?? (spec.renewBeforePercentage === undefined ? guard?.renewBefore : undefined);
  const durationText = spec.duration ?? guard?.defaultDuration;
  return {
    secretName: spec.secretName,
    commonName: spec.commonName,
    dnsNames: [...(spec.dnsNames ?? [])],
    ipAddresses: canonicalIps(spec.ipAddresses ?? []),
    uris: [...(spec.uris ?? [])],
    emailAddresses: [...(spec.emailAddresses ?? [])],
    subject: spec.subject ?? {},
    durationMs: durationText === undefined ? DEFAULT_DURATION_MS : parseDuration(durationText),
    renewBeforeMs: renewBeforeText === undefined ? undefined : parseDuration(renewBeforeText),
    renewBeforePercentage: spec.renewBeforePercentage,
    renewBeforeFromPolicy: spec.renewBefore === undefined && renewBeforeText !== undefined,
    key: {
      algorithm,
      size: algorithm === 'Ed25519' ? 0 : (spec.privateKey?.size ?? defaultKeySize(algorithm)),
      encoding: algorithm === 'Ed25519' ? 'PKCS8' : (spec.privateKey?.encoding ?? 'PKCS1'),
      rotationPolicy: spec.privateKey?.rotationPolicy ?? 'Always',
    },
    // The usages the certificate will really carry (defaults, CA and key-type rules applied by the PKI layer).
    usages: resolveUsages({ usages: spec.usages, isCA: spec.isCA, keyAlgorithm: algorithm }).names,
    isCA: spec.isCA ?? false,
    caConstraints: spec.isCA === true && guard?.allowCA === true ? caConstraintsOf(guard) : undefined,
  };
}

/**
 * What a CA the policy allows may sign: leaves only (pathLen 0), and only
 * for the names the policy allows, as far as name constraints can say it. A
 * dNSName constraint is a domain and everything below it, so each glob
 * becomes its fixed suffix ("**.team.example.com" and "web-*.team.example.com"
 * both become "team.example.com"); a glob with no fixed suffix ("**") leaves
 * DNS names unconstrained.
 */
export function caConstraintsOf(guard: CertificateGuardrails): CaConstraints {
  const dns = guard.allowedDomains?.map(fixedSuffix);
  const email = guard.allowedEmailDomains?.map(fixedSuffix);
  return {
    pathLength: 0,
    ...(dns === undefined || dns.includes('') ? {} : { permittedDNSDomains: [...new Set(dns)] }),
    ...(guard.allowedIPRanges === undefined ? {} : { permittedIPRanges: guard.allowedIPRanges }),
    ...(email === undefined || email.includes('') ? {} : { permittedEmailDomains: [...new Set(email)] }),
  };
}

/** The labels after the last one with a wildcard: "**.team.example.com" -> "team.example.com". */
function fixedSuffix(glob: string): string {
  const labels = glob.toLowerCase().split('.');
  let last = -1;
  labels.forEach((l, i) => {
    if (l.includes('*')) last = i;
  });
  return labels.slice(last + 1).join('.');
}

/**
 * A digest of everything that shapes the issued certificate. Stored on the
 * Secret, so a spec change (names, key, usages, duration) is seen as such even
 * for properties that cannot be read back from the certificate itself.
 */
export function issuanceSpecHash(spec: EffectiveSpec, issuerIdentity: string): string {
  const sorted = (xs: readonly string[]) => [...xs].sort();
  const canonical = JSON.stringify({
    cn: spec.commonName ?? null,
    dns: sorted(spec.dnsNames),
    ip: sorted(spec.ipAddresses),
    uri: sorted(spec.uris),
    email: sorted(spec.emailAddresses),
    subject: Object.fromEntries(Object.entries(spec.subject).sort(([a], [b]) => compareText(a, b))),
    duration: spec.durationMs,
    key: [spec.key.algorithm, spec.key.size, spec.key.encoding],
    usages: sorted(spec.usages),
    isCA: spec.isCA,
    // Undefined drops out of the JSON: hashes of Certificates that are not CAs stay what they were.
    caConstraints: spec.caConstraints,
    issuer: issuerIdentity,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** IP addresses compare in canonical form ("::1" and "0:0::1" are one address), as the certificate reports them. */
function canonicalIps(ips: readonly string[]): string[] {
  return ips.map((ip) => {
    try {
      return normalizeIpAddress(ip);
    } catch {
      return ip;
    }
  });
}
