import { isIP } from 'node:net';
import { normalizeIpAddress } from '../pki/names.js';

// Does a certificate cover the name a client asked for? RFC 6125 §6.4 as
// browsers apply it: subjectAltName only (the CN is ignored), DNS names
// compared case-insensitively without a trailing dot, a wildcard only as the
// whole left-most label and matching exactly one label, IP addresses only
// against iPAddress entries.

function canonicalDnsName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function matchesDnsName(name: string, pattern: string): boolean {
  const host = canonicalDnsName(name);
  const candidate = canonicalDnsName(pattern);
  if (!candidate.startsWith('*.')) return host === candidate;
  const suffix = candidate.slice(1);
  // A wildcard over a single label ("*.com") is never honoured.
  if (suffix.split('.').filter(Boolean).length < 2) return false;
  if (!host.endsWith(suffix)) return false;
  const label = host.slice(0, host.length - suffix.length);
  return label.length > 0 && !label.includes('.');
}

export function hostnameMatches(name: string, dnsNames: readonly string[], ipAddresses: readonly string[]): boolean {
  if (isIP(name) !== 0) {
    const wanted = normalizeIpAddress(name);
    return ipAddresses.some((ip) => {
      try {
        return normalizeIpAddress(ip) === wanted;
      } catch {
        return false;
      }
    });
  }
  return dnsNames.some((pattern) => matchesDnsName(name, pattern));
}
