import { BlockList, isIP } from 'node:net';
import { domainMatchesGlob } from './domain-glob.js';

// Matching the identities a certificate can carry, other than DNS names,
// against what a policy allows. Each matcher is linear (or a table the size
// of name x pattern): tenants choose the names, and a policy's patterns must
// not become a way to burn the operator's CPU.

/** Whether `ip` lies in one of the CIDRs (node's BlockList: v4 and v6, exact prefix arithmetic). */
export function ipInRanges(ip: string, cidrs: readonly string[]): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  const ranges = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix = ''] = cidr.split('/');
    const addressFamily = isIP(address);
    const bits = Number(prefix);
    if (addressFamily === 0 || prefix === '' || !Number.isInteger(bits)) continue;
    ranges.addSubnet(address, bits, addressFamily === 4 ? 'ipv4' : 'ipv6');
  }
  return ranges.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

type Token = { kind: 'char'; char: string } | { kind: 'segment' } | { kind: 'any' };

function tokens(pattern: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '*' && pattern[i + 1] === '*') {
      out.push({ kind: 'any' });
      i++;
    } else if (pattern[i] === '*') out.push({ kind: 'segment' });
    else out.push({ kind: 'char', char: pattern[i] ?? '' });
  }
  return out;
}

/**
 * A URI against a pattern: "*" matches any run of characters but "/", "**"
 * any run at all, everything else itself. A table of pattern x URI positions,
 * each filled once: no backtracking blow-up whatever the pattern.
 */
export function uriMatches(uri: string, pattern: string): boolean {
  const t = tokens(pattern);
  // next[i]: tokens from j+1 on match uri from i on; filled from the end.
  let next: boolean[] = Array.from({ length: uri.length + 1 }, (_, i) => i === uri.length);
  for (let j = t.length - 1; j >= 0; j--) {
    const token = t[j] as Token;
    const here: boolean[] = new Array<boolean>(uri.length + 1).fill(false);
    for (let i = uri.length; i >= 0; i--) {
      if (token.kind === 'char') here[i] = i < uri.length && uri[i] === token.char && next[i + 1] === true;
      // A star matches nothing (next[i]) or one more character and stays (here[i + 1]).
      else if (token.kind === 'any') here[i] = next[i] === true || (i < uri.length && here[i + 1] === true);
      else here[i] = next[i] === true || (i < uri.length && uri[i] !== '/' && here[i + 1] === true);
    }
    next = here;
  }
  return next[0] === true;
}

/** The domain of a mailbox against domain globs (as allowedDomains reads them). */
export function emailDomainAllowed(email: string, globs: readonly string[]): boolean {
  const at = email.lastIndexOf('@');
  if (at < 0) return false;
  const domain = email.slice(at + 1);
  return globs.some((g) => domainMatchesGlob(domain, g));
}
