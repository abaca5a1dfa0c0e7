import { createECDH, randomBytes } from 'node:crypto';
import { DEFAULT_CIPHERS } from 'node:tls';
import { suiteByName } from '../suites.js';
import { encodeClientHello, tls13ProbeClientHello } from '../wire/client-hello.js';
import type { KeyShareEntry } from '../wire/extensions.js';
import { isHelloRetryRequest, keyShareGroup, selectedVersion } from '../wire/server-hello.js';
import type { EphemeralKey } from './handshake-info.js';
import { accepted, failed, rejected, since, type JobOutcome, type ProbeTarget } from './outcome.js';
import { exchangeHello, serverHelloOf, type RawExchange } from './raw-hello.js';

// Which TLS 1.3 key exchange groups a server accepts, by hand-built hello:
// offer one group with a key share for it, read whether the ServerHello
// takes it. A node:tls handshake per group had to generate a real key first
// (an ffdhe8192 key share alone costs milliseconds of CPU) only to be refused
// most of the time; here the share is a fixed public value (the group's
// generator), since we never derive a secret. The hello offers node's own
// default TLS 1.3 suites, as the node:tls probe did, so a server is judged
// on the same offer.

interface Tls13Group {
  /** IANA named group. */
  id: number;
  /** What node's getEphemeralKeyInfo() reports after a handshake with this group. */
  key: EphemeralKey;
  /** A valid public key share that needs no private key of ours. */
  share: () => Buffer;
}

/** A curve's generator point, uncompressed (the public key of private key 1): on the curve, never the identity. */
function generatorOf(curve: string): () => Buffer {
  let point: Buffer | undefined;
  return () => {
    if (point === undefined) {
      const ecdh = createECDH(curve);
      ecdh.setPrivateKey(Buffer.from([1]));
      point = ecdh.getPublicKey();
    }
    return point;
  };
}

/** RFC 7748 base points: u = 9 (X25519), u = 5 (X448), little-endian. */
function montgomeryBase(u: number, bytes: number): () => Buffer {
  return () => Buffer.concat([Buffer.from([u]), Buffer.alloc(bytes - 1)]);
}

/** RFC 7919 generator g = 2, left-padded to the prime's length (RFC 8446 §4.2.8.1); 1 < 2 < p-1, order q. */
function ffdheGenerator(bits: number): () => Buffer {
  return () => {
    const share = Buffer.alloc(bits / 8);
    share[share.length - 1] = 2;
    return share;
  };
}

const ecdh = (name: string, size: number): EphemeralKey => ({ type: 'ECDH', name, size });
const dh = (size: number): EphemeralKey => ({ type: 'DH', name: undefined, size });

/** By OpenSSL name (the names the group jobs use). */
export const TLS13_GROUPS: Readonly<Record<string, Tls13Group>> = {
  X25519: { id: 29, key: ecdh('X25519', 253), share: montgomeryBase(9, 32) },
  X448: { id: 30, key: ecdh('X448', 448), share: montgomeryBase(5, 56) },
  prime256v1: { id: 23, key: ecdh('prime256v1', 256), share: generatorOf('prime256v1') },
  secp384r1: { id: 24, key: ecdh('secp384r1', 384), share: generatorOf('secp384r1') },
  secp521r1: { id: 25, key: ecdh('secp521r1', 521), share: generatorOf('secp521r1') },
  ffdhe2048: { id: 256, key: dh(2048), share: ffdheGenerator(2048) },
  ffdhe3072: { id: 257, key: dh(3072), share: ffdheGenerator(3072) },
  ffdhe4096: { id: 258, key: dh(4096), share: ffdheGenerator(4096) },
  ffdhe6144: { id: 259, key: dh(6144), share: ffdheGenerator(6144) },
  ffdhe8192: { id: 260, key: dh(8192), share: ffdheGenerator(8192) },
};

/** The TLS 1.3 suites a node:tls client offers by default, as code points. */
export function nodeDefaultTls13Suites(): number[] {
  return DEFAULT_CIPHERS.split(':').flatMap((name) => {
    const suite = suiteByName(name);
    return suite?.tls13 === true ? [suite.id] : [];
  });
}

const WIRE_TLS13 = 0x0304;

/** Pure: what the answer to a one-group TLS 1.3 hello says about that group. */
export function classifyGroupExchange(groupName: string, offeredSuites: readonly number[], exchange: RawExchange, elapsedMs: number): JobOutcome<EphemeralKey> {
  const group = TLS13_GROUPS[groupName];
  if (group === undefined) return failed(`no TLS 1.3 key share known for ${groupName}`, elapsedMs);
  const answer = serverHelloOf(exchange, elapsedMs);
  if ('outcome' in answer) return answer.outcome;
  const { hello } = answer;
  const version = selectedVersion(hello);
  if (version !== WIRE_TLS13) return rejected(`server answered with version 0x${version.toString(16).padStart(4, '0')}`, elapsedMs);
  // We sent a share for the only group offered: a retry request means something else is missing (a cookie).
  if (isHelloRetryRequest(hello)) return failed('server asked to retry the hello', elapsedMs);
  if (!offeredSuites.includes(hello.cipherSuite)) return failed(`server chose suite 0x${hello.cipherSuite.toString(16).padStart(4, '0')}, which was not offered`, elapsedMs);
  const used = keyShareGroup(hello);
  if (used !== group.id) return failed(`server answered with ${used === undefined ? 'no key share' : `a key share for group ${used}`}`, elapsedMs);
  return accepted({ ...group.key }, elapsedMs);
}

/** Accepted when a TLS 1.3 hello offering only `groupName` gets a ServerHello using it. */
export async function offerTls13Group(target: ProbeTarget, groupName: string, timeoutMs: number): Promise<JobOutcome<EphemeralKey>> {
  const start = performance.now();
  const group = TLS13_GROUPS[groupName];
  if (group === undefined) return failed(`no TLS 1.3 key share known for ${groupName}`, 0);
  const cipherSuites = nodeDefaultTls13Suites();
  const share: KeyShareEntry = { group: group.id, keyExchange: group.share() };
  const hello = tls13ProbeClientHello({ cipherSuites, keyShares: [share], serverName: target.serverName, random: randomBytes(32), sessionId: randomBytes(32) });
  const exchange = await exchangeHello(target, encodeClientHello(hello), timeoutMs);
  return classifyGroupExchange(groupName, cipherSuites, exchange, since(start));
}
