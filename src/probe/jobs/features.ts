import { WIRE_VERSION, type ProtocolVersion } from '../protocols.js';
import { suitesForVersion } from '../suites.js';
import { ephemeralKeyOf, type EphemeralKey } from './handshake-info.js';
import { mapAccepted, rejected, type JobOutcome, type ProbeTarget } from './outcome.js';
import { offerRaw, type RawAcceptance } from './raw-hello.js';
import { offerTls13Group } from './tls13-groups.js';
import { tlsHandshake, type HandshakeOptions } from './tls-handshake.js';

// Checks that each take one handshake: ALPN, OCSP stapling, key exchange
// groups, secure renegotiation.

export const ALPN_PROTOCOLS = ['h2', 'http/1.1'] as const;
export type AlpnProtocol = (typeof ALPN_PROTOCOLS)[number];

/** Accepted when the server selects `protocol` offered alone. */
export function probeAlpn(target: ProbeTarget, base: HandshakeOptions, protocol: AlpnProtocol, timeoutMs: number): Promise<JobOutcome<null>> {
  return tlsHandshake(target, { ...base, alpnProtocols: [protocol] }, timeoutMs, (socket) => socket.alpnProtocol).then((outcome) => {
    if (outcome.status !== 'accepted') return outcome;
    return outcome.value === protocol ? { ...outcome, value: null } : rejected<null>(outcome.value === false ? 'no protocol selected' : `selected ${outcome.value}`, outcome.elapsedMs);
  });
}

export interface StapledResponse {
  /** Size of the DER OCSP response the server stapled. */
  bytes: number;
}

/** Pure: a handshake that sent a status_request, by the size of what was stapled (undefined: nothing). */
export function staplingOf(outcome: JobOutcome<number | undefined>): JobOutcome<StapledResponse> {
  if (outcome.status !== 'accepted') return outcome;
  const bytes = outcome.value;
  return bytes === undefined || bytes === 0 ? rejected<StapledResponse>('no OCSP response stapled', outcome.elapsedMs) : { ...outcome, value: { bytes } };
}

/** Accepted when the server staples an OCSP response to a status_request. */
export async function probeOcspStapling(target: ProbeTarget, base: HandshakeOptions, timeoutMs: number): Promise<JobOutcome<StapledResponse>> {
  return staplingOf(await tlsHandshake(target, { ...base, requestOCSP: true }, timeoutMs, (_socket, context) => context.ocspResponse?.length));
}

/** Groups probed one at a time, by OpenSSL name. Finite-field groups only exist as named groups in TLS 1.3. */
export const EC_GROUPS = ['X25519', 'X448', 'prime256v1', 'secp384r1', 'secp521r1'] as const;
export const FFDHE_GROUPS = ['ffdhe2048', 'ffdhe3072', 'ffdhe4096', 'ffdhe6144', 'ffdhe8192'] as const;

export function groupsToProbe(version: ProtocolVersion): readonly string[] {
  return version === 'TLSv1.3' ? [...EC_GROUPS, ...FFDHE_GROUPS] : EC_GROUPS;
}

/**
 * Accepted when a TLS 1.3 hello offering only `group` is answered with it, by
 * hand-built hello (no key generated on our side); when that cannot tell (a
 * retry request, an odd answer, a timeout), by a full handshake as below.
 */
export async function probeGroupTls13(target: ProbeTarget, base: HandshakeOptions, group: string, timeoutMs: number): Promise<JobOutcome<EphemeralKey>> {
  const viaRaw = await offerTls13Group(target, group, timeoutMs);
  return viaRaw.status === 'error' ? probeGroup(target, base, group, timeoutMs) : viaRaw;
}

/** Accepted when a handshake offering only `group` completes; the value is the key the server used. */
export function probeGroup(target: ProbeTarget, base: HandshakeOptions, group: string, timeoutMs: number): Promise<JobOutcome<EphemeralKey>> {
  return tlsHandshake(target, { ...base, ecdhCurve: group }, timeoutMs, (socket) => {
    const key = ephemeralKeyOf(socket);
    if (key === undefined) throw new Error('handshake without an ephemeral key exchange');
    return key;
  }).then((outcome) => {
    if (outcome.status !== 'accepted') return outcome;
    // A TLS 1.2 server may complete with a suite that ignores the groups (RSA or DHE key exchange).
    const used = outcome.value.name ?? `ffdhe${outcome.value.size}`;
    return used === group ? outcome : rejected<EphemeralKey>(`server used ${used} instead`, outcome.elapsedMs);
  });
}

/** Pure: what the answer to a hello offering every suite of a version says about secure renegotiation. */
export function secureRenegotiationOf(outcome: JobOutcome<RawAcceptance>): JobOutcome<null> {
  if (outcome.status !== 'accepted') return outcome;
  return outcome.value.secureRenegotiation ? mapAccepted(outcome, () => null) : rejected('ServerHello without renegotiation_info', outcome.elapsedMs);
}

/** Accepted when the ServerHello to a TLS 1.2-or-older hello offering every suite carries renegotiation_info (RFC 5746). */
export async function probeSecureRenegotiation(target: ProbeTarget, version: ProtocolVersion, timeoutMs: number): Promise<JobOutcome<null>> {
  return secureRenegotiationOf(await offerRaw(target, { version: WIRE_VERSION[version], cipherSuites: suitesForVersion(version).map((s) => s.id) }, timeoutMs));
}
