import forge from 'node-forge';
import { PkiError, describeCause } from './errors.js';

// Certificates out of keystores that tenants put in Secrets: PKCS#12
// (`*.p12`, `*.pfx`) and Java KeyStores (`*.jks`). Only the certificates are
// read: key bags are skipped without being decrypted, so no private key is
// ever derived, held or reported. The input is untrusted, so every loop and
// every key derivation is bounded before it runs (a PBKDF2 iteration count of
// a billion is a one-line denial of service otherwise).
//
// node-forge provides the ASN.1 reader and the legacy PKCS#12 ciphers (RC2-40,
// 3DES with the PKCS#12 KDF) that node's OpenSSL 3 no longer ships; the walk
// over the PFX structure is ours, so that it can stop at certificates.

export interface KeystoreLimits {
  /** Bytes of the keystore; larger ones are refused unread. */
  maxBytes: number;
  /** Certificates returned; the rest are counted in `omitted`. */
  maxCertificates: number;
  /** Key derivation iterations summed over the whole file (MAC excluded: it is never computed). */
  maxIterations: number;
}

export const DEFAULT_KEYSTORE_LIMITS: KeystoreLimits = { maxBytes: 512 * 1024, maxCertificates: 64, maxIterations: 200_000 };

export interface KeystoreCertificate {
  /** The JKS alias or the PKCS#12 friendlyName, when there is one. */
  alias?: string | undefined;
  der: Uint8Array;
}

export interface KeystoreContents {
  certificates: KeystoreCertificate[];
  /** Certificates beyond maxCertificates. */
  omitted: number;
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  encryptedData: '1.2.840.113549.1.7.6',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  pbes2: '1.2.840.113549.1.5.13',
  pbeSha3DES: '1.2.840.113549.1.12.1.3',
  pbeShaRC2_40: '1.2.840.113549.1.12.1.6',
} as const;

type Asn1 = forge.asn1.Asn1;

const MAC_DIGESTS: Readonly<Record<string, () => forge.md.MessageDigest>> = {
  '1.3.14.3.2.26': () => forge.md.sha1.create(),
  '2.16.840.1.101.3.4.2.1': () => forge.md.sha256.create(),
  '2.16.840.1.101.3.4.2.2': () => forge.md.sha384.create(),
  '2.16.840.1.101.3.4.2.3': () => forge.md.sha512.create(),
};

function invalid(message: string): PkiError {
  return new PkiError('InvalidCertificate', message);
}

function children(node: Asn1 | undefined, what: string): Asn1[] {
  if (node === undefined || !Array.isArray(node.value)) throw invalid(`${what} is not a constructed ASN.1 value`);
  return node.value;
}

function oidOf(node: Asn1 | undefined, what: string): string {
  if (node === undefined || node.type !== forge.asn1.Type.OID || typeof node.value !== 'string') throw invalid(`${what} is not an OID`);
  return forge.asn1.derToOid(node.value);
}

/** The bytes of an OCTET STRING, primitive or (BER) constructed of segments. */
function octets(node: Asn1 | undefined, what: string, depth = 0): string {
  if (node === undefined) throw invalid(`${what} is missing`);
  if (typeof node.value === 'string') return node.value;
  if (depth > 4) throw invalid(`${what} nests too deep`);
  return node.value.map((segment) => octets(segment, what, depth + 1)).join('');
}

function integer(node: Asn1 | undefined, what: string): number {
  if (node === undefined || node.type !== forge.asn1.Type.INTEGER || typeof node.value !== 'string') throw invalid(`${what} is not an INTEGER`);
  // Iteration counts above 2^48 are absurd anyway; refuse rather than lose precision.
  if (node.value.length > 6) return Number.POSITIVE_INFINITY;
  let n = 0;
  for (let i = 0; i < node.value.length; i++) n = n * 256 + node.value.charCodeAt(i);
  return n;
}

function fromDer(bytes: string, what: string): Asn1 {
  try {
    return forge.asn1.fromDer(bytes, { strict: false, parseAllBytes: false, decodeBitStrings: false } as unknown as boolean);
  } catch (err) {
    throw invalid(`${what} is not DER: ${describeCause(err)}`);
  }
}

/** [0] EXPLICIT content of a ContentInfo or SafeBag. */
function explicit0(nodes: Asn1[], index: number, what: string): Asn1 {
  const tagged = nodes[index];
  if (tagged === undefined || tagged.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC || tagged.type !== forge.asn1.Type.NONE) throw invalid(`${what} has no [0] content`);
  const [inner] = children(tagged, what);
  if (inner === undefined) throw invalid(`${what} [0] is empty`);
  return inner;
}

/** Iterations the key derivation of this algorithm would run; throws for algorithms it cannot decrypt. */
function derivationIterations(oid: string, params: Asn1 | undefined): number {
  if (oid === OID.pbeSha3DES || oid === OID.pbeShaRC2_40) return integer(children(params, 'PBE parameters')[1], 'PBE iteration count');
  if (oid === OID.pbes2) {
    const [kdf] = children(params, 'PBES2 parameters');
    const [, kdfParams] = children(kdf, 'PBES2 key derivation');
    return integer(children(kdfParams, 'PBKDF2 parameters')[1], 'PBKDF2 iteration count');
  }
  throw invalid(`encryption algorithm ${oid} is not supported (PBES2, pbeWithSHAAnd3-KeyTripleDES-CBC, pbeWithSHAAnd40BitRC2-CBC are)`);
}

class Pkcs12Reader {
  readonly certificates: KeystoreCertificate[] = [];
  omitted = 0;
  private iterations = 0;

  constructor(
    private readonly password: string,
    private readonly limits: KeystoreLimits,
  ) {}

  read(der: Uint8Array): void {
    const pfx = children(fromDer(forge.util.binary.raw.encode(der), 'PKCS#12'), 'PFX');
    const authSafe = children(pfx[1] === undefined ? undefined : pfx[1], 'PFX authSafe');
    if (oidOf(authSafe[0], 'authSafe contentType') !== OID.data) throw invalid('PKCS#12 authSafe is not "data" (public-key integrity mode is not supported)');
    const content = octets(explicit0(authSafe, 1, 'authSafe'), 'authSafe content');
    // The MAC is what tells a wrong password apart from a corrupt file: decryption with a wrong one often "succeeds" into noise.
    if (pfx[2] !== undefined) this.checkMac(pfx[2], content);
    const contentInfos = children(fromDer(content, 'AuthenticatedSafe'), 'AuthenticatedSafe');
    if (contentInfos.length > 32) throw invalid(`PKCS#12 has ${contentInfos.length} content infos; at most 32 are read`);
    for (const info of contentInfos) this.contentInfo(info);
  }

  private spend(iterations: number): void {
    this.iterations += iterations;
    if (this.iterations > this.limits.maxIterations) {
      throw invalid(`PKCS#12 asks for ${iterations} key derivation iterations; at most ${this.limits.maxIterations} per keystore are run`);
    }
  }

  private checkMac(macData: Asn1, content: string): void {
    const [digestInfo, salt, iterationsNode] = children(macData, 'MacData');
    const [algorithm, digest] = children(digestInfo, 'MAC DigestInfo');
    const oid = oidOf(children(algorithm, 'MAC algorithm')[0], 'MAC algorithm');
    const md = MAC_DIGESTS[oid];
    if (md === undefined) throw invalid(`PKCS#12 MAC digest ${oid} is not supported`);
    const iterations = iterationsNode === undefined ? 1 : integer(iterationsNode, 'MAC iteration count');
    this.spend(iterations);
    const expected = octets(digest, 'MAC digest');
    const saltBytes = octets(salt, 'MAC salt');
    // OpenSSL tries an empty password both as an empty BMPString and as none at all; so do we.
    const candidates = this.password === '' ? ['', null] : [this.password];
    for (const password of candidates) {
      const size = md().digestLength;
      const key = (forge.pkcs12 as unknown as { generateKey(p: string | null, s: forge.util.ByteStringBuffer, id: number, iter: number, n: number, md: forge.md.MessageDigest): forge.util.ByteStringBuffer }).generateKey(
        password,
        forge.util.createBuffer(saltBytes),
        3,
        iterations,
        size,
        md(),
      );
      const hmac = forge.hmac.create();
      hmac.start(md(), key.getBytes());
      hmac.update(content);
      if (hmac.digest().getBytes() === expected) return;
    }
    throw invalid('PKCS#12 integrity check failed: wrong password (or a corrupt file)');
  }

  private contentInfo(info: Asn1): void {
    const parts = children(info, 'ContentInfo');
    const type = oidOf(parts[0], 'ContentInfo contentType');
    if (type === OID.data) this.safeContents(octets(explicit0(parts, 1, 'ContentInfo'), 'SafeContents'), 0);
    else if (type === OID.encryptedData) {
      const plain = this.decrypt(explicit0(parts, 1, 'EncryptedData'));
      try {
        this.safeContents(plain, 0);
      } catch (err) {
        throw invalid(`PKCS#12 decrypted content does not parse (a wrong password, when the file has no MAC): ${describeCause(err)}`);
      }
    }
    // Enveloped (public-key) content cannot be opened without a private key we do not have: skipped.
  }

  private decrypt(encryptedData: Asn1): string {
    const [, eci] = children(encryptedData, 'EncryptedData');
    const [, algorithm, content] = children(eci, 'EncryptedContentInfo');
    const [algOid, params] = children(algorithm, 'content encryption algorithm');
    const oid = oidOf(algOid, 'content encryption algorithm');
    this.spend(derivationIterations(oid, params));
    if (params === undefined || content === undefined) throw invalid('EncryptedContentInfo is incomplete');
    let cipher: forge.cipher.BlockCipher;
    try {
      cipher = (forge.pki as unknown as { pbe: { getCipher(oid: string, params: Asn1, password: string): forge.cipher.BlockCipher } }).pbe.getCipher(oid, params, this.password);
    } catch (err) {
      throw invalid(`PKCS#12 encryption cannot be set up: ${describeCause(err)}`);
    }
    cipher.update(forge.util.createBuffer(octets(content, 'encryptedContent')));
    // A wrong password shows as bad padding; the decrypted bytes then are noise and are not parsed.
    if (!cipher.finish()) throw invalid('PKCS#12 cannot be decrypted: wrong password');
    return cipher.output.getBytes();
  }

  private safeContents(bytes: string, depth: number): void {
    if (depth > 2) throw invalid('PKCS#12 safe contents nest too deep');
    const bags = children(fromDer(bytes, 'SafeContents'), 'SafeContents');
    if (bags.length > 4 * this.limits.maxCertificates) throw invalid(`PKCS#12 holds ${bags.length} bags in one SafeContents; at most ${4 * this.limits.maxCertificates} are read`);
    for (const bag of bags) {
      const parts = children(bag, 'SafeBag');
      const type = oidOf(parts[0], 'SafeBag bagId');
      if (type === OID.certBag) this.certBag(explicit0(parts, 1, 'certBag'), parts[2]);
      else if (type === OID.safeContentsBag) this.safeContents(forge.asn1.toDer(explicit0(parts, 1, 'safeContentsBag')).getBytes(), depth + 1);
      // keyBag and pkcs8ShroudedKeyBag are never opened.
    }
  }

  private certBag(certBag: Asn1, attributes: Asn1 | undefined): void {
    const parts = children(certBag, 'CertBag');
    if (oidOf(parts[0], 'CertBag certId') !== OID.x509Certificate) return;
    if (this.certificates.length >= this.limits.maxCertificates) {
      this.omitted++;
      return;
    }
    const der = forge.util.binary.raw.decode(octets(explicit0(parts, 1, 'CertBag'), 'certValue'));
    this.certificates.push({ der, alias: friendlyName(attributes) });
  }
}

function friendlyName(attributes: Asn1 | undefined): string | undefined {
  if (attributes === undefined || !Array.isArray(attributes.value)) return undefined;
  for (const attribute of attributes.value) {
    if (!Array.isArray(attribute.value)) continue;
    const [type, values] = attribute.value;
    try {
      if (oidOf(type, 'attribute') !== OID.friendlyName) continue;
    } catch {
      continue;
    }
    const value = Array.isArray(values?.value) ? values.value[0] : undefined;
    // forge hands a BMPString over already decoded.
    return value === undefined || typeof value.value !== 'string' ? undefined : value.value.slice(0, 128);
  }
  return undefined;
}

/**
 * The certificates of a PKCS#12 file; `password` may be empty (the common
 * case for trust stores). Throws PkiError for what cannot be read: not
 * PKCS#12, a wrong password, an unsupported algorithm, a limit exceeded.
 */
export function readPkcs12Certificates(der: Uint8Array, password: string, limits: KeystoreLimits = DEFAULT_KEYSTORE_LIMITS): KeystoreContents {
  if (der.length > limits.maxBytes) throw invalid(`PKCS#12 is ${der.length} bytes; at most ${limits.maxBytes} are read`);
  const reader = new Pkcs12Reader(password, limits);
  try {
    reader.read(der);
  } catch (err) {
    if (err instanceof PkiError) throw err;
    throw invalid(`PKCS#12 cannot be read: ${describeCause(err)}`);
  }
  return { certificates: reader.certificates, omitted: reader.omitted };
}

const JKS_MAGIC = 0xfeedfeed;
const JCEKS_MAGIC = 0xcececece;

/** A bounds-checked big-endian reader over a keystore's bytes. */
class Cursor {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  private take(n: number, what: string): Uint8Array {
    if (n < 0 || this.offset + n > this.bytes.length) throw invalid(`Java keystore ends inside ${what}`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u16(what: string): number {
    const b = this.take(2, what);
    return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  }

  u32(what: string): number {
    const b = this.take(4, what);
    return (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
  }

  /** Java's modified UTF-8 with a 16-bit length: close enough to UTF-8 for aliases. */
  utf(what: string): string {
    return Buffer.from(this.take(this.u16(what), what)).toString('utf8');
  }

  bytesOf(n: number, what: string): Uint8Array {
    return this.take(n, what);
  }

  skip(n: number, what: string): void {
    this.take(n, what);
  }
}

/**
 * The certificates of a Java KeyStore (JKS, or JCEKS up to its first secret
 * key entry). Certificates are stored in the clear, so no password is needed;
 * without it the keystore's integrity digest is not checked, and encrypted
 * private keys are skipped unread. Throws PkiError for what is not a keystore.
 */
export function readJksCertificates(der: Uint8Array, limits: KeystoreLimits = DEFAULT_KEYSTORE_LIMITS): KeystoreContents {
  if (der.length > limits.maxBytes) throw invalid(`Java keystore is ${der.length} bytes; at most ${limits.maxBytes} are read`);
  const c = new Cursor(der);
  const magic = c.u32('the header');
  if (magic !== JKS_MAGIC && magic !== JCEKS_MAGIC) throw invalid('not a Java keystore (JKS or JCEKS magic number missing)');
  const version = c.u32('the header');
  if (version !== 1 && version !== 2) throw invalid(`Java keystore version ${version} is not supported`);
  const count = c.u32('the header');
  const out: KeystoreContents = { certificates: [], omitted: 0 };
  // Each entry takes at least 14 bytes: a count larger than that is a lie, not a loop bound.
  if (count > der.length / 14) throw invalid(`Java keystore claims ${count} entries in ${der.length} bytes`);
  const certificate = (alias: string): void => {
    if (version === 2) c.utf('a certificate type');
    const der = c.bytesOf(c.u32('a certificate length'), 'a certificate');
    if (out.certificates.length < limits.maxCertificates) out.certificates.push({ alias, der });
    else out.omitted++;
  };
  for (let i = 0; i < count; i++) {
    const tag = c.u32('an entry tag');
    const alias = c.utf('an alias').slice(0, 128);
    c.skip(8, 'a timestamp');
    if (tag === 1) {
      c.skip(c.u32('an encrypted key length'), 'an encrypted key');
      const chain = c.u32('a chain length');
      if (chain > der.length / 4) throw invalid(`Java keystore claims a chain of ${chain} certificates`);
      for (let j = 0; j < chain; j++) certificate(alias);
    } else if (tag === 2) certificate(alias);
    else if (tag === 3) break; // a JCEKS secret key: a serialized Java object we do not parse; what follows is not reachable.
    else throw invalid(`Java keystore entry ${i + 1} has unknown tag ${tag}`);
  }
  return out;
}
