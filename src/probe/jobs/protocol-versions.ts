import { WIRE_VERSION, type ProtocolVersion } from '../protocols.js';
import { suitesForVersion } from '../suites.js';
import { negotiatedOf, pinnedVersion } from './handshake-info.js';
import { mapAccepted, type JobOutcome, type ProbeTarget } from './outcome.js';
import { offerRaw } from './raw-hello.js';
import { tlsHandshake } from './tls-handshake.js';

// Is a protocol version accepted? TLS 1.0–1.3 by a real handshake pinned to
// that version; when node's OpenSSL is refused (or cannot speak it at all —
// SSL 3.0), a hand-built hello offering every known suite of that version
// decides, so a server whose only suites node lacks (3DES, RC4) is not
// missed.

export interface ProtocolProbe {
  via: 'node' | 'raw';
  /** IANA code point of the suite the server picked, when known. */
  cipherSuite: number | undefined;
  /** IANA name of that suite. */
  cipherSuiteName: string | undefined;
}

async function rawProbe(target: ProbeTarget, version: ProtocolVersion, timeoutMs: number): Promise<JobOutcome<ProtocolProbe>> {
  const offer = { version: WIRE_VERSION[version], cipherSuites: suitesForVersion(version).map((s) => s.id) };
  const outcome = await offerRaw(target, offer, timeoutMs);
  return mapAccepted(outcome, (a) => ({ via: 'raw' as const, cipherSuite: a.cipherSuite, cipherSuiteName: undefined }));
}

export async function probeProtocol(target: ProbeTarget, version: ProtocolVersion, timeoutMs: number): Promise<JobOutcome<ProtocolProbe>> {
  if (version === 'SSLv3') return rawProbe(target, version, timeoutMs);
  const viaNode = await tlsHandshake(target, pinnedVersion(version), timeoutMs, (socket) => {
    const negotiated = negotiatedOf(socket);
    if (negotiated.protocol !== version) throw new Error(`asked for ${version}, negotiated ${negotiated.protocol ?? 'unknown'}`);
    return { via: 'node' as const, cipherSuite: undefined, cipherSuiteName: negotiated.cipherSuite };
  });
  if (viaNode.status === 'accepted' || version === 'TLSv1.3') return viaNode;
  const viaRaw = await rawProbe(target, version, timeoutMs);
  if (viaRaw.status === 'accepted') return viaRaw;
  // Both refused: report node's reason, it names the alert of a full handshake.
  return viaNode.status === 'rejected' ? viaNode : viaRaw;
}
