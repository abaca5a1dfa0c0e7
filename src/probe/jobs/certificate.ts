import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { HandshakeOptions } from './tls-handshake.js';
import { tlsHandshake } from './tls-handshake.js';
import { staplingOf, type StapledResponse } from './features.js';
import { failed, mapAccepted, type JobOutcome, type ProbeTarget } from './outcome.js';

// The chain exactly as served. The handshake runs with an empty trust store,
// so node's getPeerCertificate(true) walks only the certificates the server
// sent (following issuer links from the leaf) and adds none of its own.

export interface ServedChain {
  /** DER, base64, leaf first, in issuer order. */
  certificates: string[];
}

/** Leaf first; stops at a self-signed certificate (node links it to itself) or a repeat. */
export function servedCertificates(socket: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (current !== undefined && current.raw !== undefined && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    out.push(current.raw);
    // node types issuerCertificate as always present; past what was sent it is undefined (or the certificate itself).
    const next: DetailedPeerCertificate | undefined = current.issuerCertificate;
    current = next;
  }
  return out;
}

/** node's codes for a peer its OpenSSL security level refuses (a 512-bit key, an MD5 signature). */
const LOCAL_SECURITY_REFUSAL = /ERR_SSL_(EE_KEY_TOO_SMALL|CA_KEY_TOO_SMALL|CA_MD_TOO_WEAK|DH_KEY_TOO_SMALL)/;

export async function probeChain(target: ProbeTarget, options: HandshakeOptions, timeoutMs: number): Promise<JobOutcome<ServedChain>> {
  const fetch = (handshake: HandshakeOptions) =>
    tlsHandshake(target, handshake, timeoutMs, (socket) => {
      const certificates = servedCertificates(socket).map((der) => der.toString('base64'));
      if (certificates.length === 0) throw new Error('the server sent no certificate');
      return { certificates };
    });
  const first = await fetch(options);
  // Reading a chain too weak for node's defaults is the point of a prober: retry at security level 0.
  if (first.status === 'error' && LOCAL_SECURITY_REFUSAL.test(first.error)) return fetch({ ...options, ciphers: `${options.ciphers ?? 'DEFAULT'}:@SECLEVEL=0` });
  return first;
}

export interface ChainAndStapling {
  chain: JobOutcome<ServedChain>;
  ocspStapling: JobOutcome<StapledResponse>;
}

/**
 * The chain and OCSP stapling from one handshake that sends a status_request
 * (asking for a staple changes nothing in the chain served). As probeChain,
 * a chain too weak for node's defaults is fetched again at security level 0;
 * the stapling check keeps the first handshake's outcome, as it always did.
 */
export async function probeChainAndStapling(target: ProbeTarget, options: HandshakeOptions, timeoutMs: number): Promise<ChainAndStapling> {
  const fetch = (handshake: HandshakeOptions) =>
    tlsHandshake(target, { ...handshake, requestOCSP: true }, timeoutMs, (socket, context) => ({
      certificates: servedCertificates(socket).map((der) => der.toString('base64')),
      stapledBytes: context.ocspResponse?.length,
    }));
  const chainOf = (outcome: Awaited<ReturnType<typeof fetch>>): JobOutcome<ServedChain> =>
    outcome.status === 'accepted' && outcome.value.certificates.length === 0
      ? failed('the server sent no certificate', outcome.elapsedMs)
      : mapAccepted(outcome, ({ certificates }) => ({ certificates }));
  const first = await fetch(options);
  const ocspStapling = staplingOf(mapAccepted(first, (v) => v.stapledBytes));
  if (first.status === 'error' && LOCAL_SECURITY_REFUSAL.test(first.error)) {
    return { chain: chainOf(await fetch({ ...options, ciphers: `${options.ciphers ?? 'DEFAULT'}:@SECLEVEL=0` })), ocspStapling };
  }
  return { chain: chainOf(first), ocspStapling };
}
