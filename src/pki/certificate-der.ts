import { X509Certificate as NodeX509Certificate, createHash } from 'node:crypto';
import { TAG_OID, TAG_SEQUENCE, decodeOid, encodeTlv, readChildren, readTlv, type Tlv } from './der.js';
import { PkiError, describeCause } from './errors.js';
import { decodePemBlocks } from './pem.js';

// A certificate read with the DER helpers alone: the fields certkeeper keeps
// (names, validity, serial, key, the few extensions it reads) without
// building the library's object model, whose asn1js parse costs ~0.3 ms per
// certificate. Every value is a view into `der`; nothing is decoded until
// asked for. Whatever this reader does not recognise (an unusual string type
// in a name, an unusual time format) is left to the library by the callers
// (NativeUnsupported), so exotic certificates read as before.

export interface DerExtension {
  critical: boolean;
  /** Content of extnValue: the extension's own DER. */
  value: Uint8Array;
}

export interface DerCertificate {
  readonly der: Uint8Array;
  /** The TBSCertificate element: what the signature covers. */
  readonly tbs: Uint8Array;
  /** signatureAlgorithm's OID, dotted. */
  readonly signatureAlgorithm: string;
  /** signatureValue's bits (without the unused-bits octet). */
  readonly signature: Uint8Array;
  /** Serial INTEGER content octets. */
  readonly serial: Uint8Array;
  /** Issuer and subject Name elements (content octets of the SEQUENCE). */
  readonly issuer: Uint8Array;
  readonly subject: Uint8Array;
  readonly notBefore: Tlv;
  readonly notAfter: Tlv;
  /** The whole SubjectPublicKeyInfo element, DER. */
  readonly spki: Uint8Array;
  /** By dotted OID. */
  readonly extensions: ReadonlyMap<string, DerExtension>;
}

/** This reader does not handle the input; the caller falls back to the library. */
export class NativeUnsupported extends Error {}

const TAG_BOOLEAN = 0x01;
const TAG_OCTET_STRING = 0x04;

/** Reads a DER certificate; throws RangeError/PkiError on a structure that is not one. */
export function readCertificateDer(der: Uint8Array): DerCertificate {
  const outer = readTlv(der, 0);
  if (outer.tag !== TAG_SEQUENCE || outer.end !== der.length) throw new RangeError('not a single DER SEQUENCE');
  const [tbsTlv, algorithm, signature] = readChildren(outer.value);
  if (tbsTlv?.tag !== TAG_SEQUENCE) throw new RangeError('no TBSCertificate');
  const [algorithmOid] = algorithm === undefined ? [] : readChildren(algorithm.value);
  if (algorithmOid?.tag !== TAG_OID || signature?.tag !== 0x03 || signature.value.length === 0) throw new RangeError('no signature');
  const fields = readChildren(tbsTlv.value);
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const [serial, , issuer, validity, subject, spki] = fields.slice(at);
  if (serial === undefined || issuer === undefined || validity === undefined || subject === undefined || spki === undefined) {
    throw new RangeError('TBSCertificate is missing fields');
  }
  const [notBefore, notAfter] = readChildren(validity.value);
  if (notBefore === undefined || notAfter === undefined) throw new RangeError('validity is missing a time');
  const extensions = new Map<string, DerExtension>();
  const extensionsField = fields.slice(at + 6).find((f) => f.tag === 0xa3);
  if (extensionsField !== undefined) {
    const [list] = readChildren(extensionsField.value);
    for (const extension of list === undefined ? [] : readChildren(list.value)) {
      const parts = readChildren(extension.value);
      const [oid, second, third] = parts;
      if (oid?.tag !== TAG_OID) throw new RangeError('extension without an OID');
      const critical = second?.tag === TAG_BOOLEAN && second.value[0] !== 0;
      const value = second?.tag === TAG_OCTET_STRING ? second : third;
      if (value?.tag !== TAG_OCTET_STRING) throw new RangeError('extension without a value');
      extensions.set(decodeOid(oid.value), { critical, value: value.value });
    }
  }
  return {
    der,
    // The first element of the certificate's content, header included.
    tbs: outer.value.subarray(0, tbsTlv.end),
    signatureAlgorithm: decodeOid(algorithmOid.value),
    signature: signature.value.subarray(1),
    serial: serial.value,
    issuer: issuer.value,
    subject: subject.value,
    notBefore,
    notAfter,
    // Re-encoded: DER lengths are minimal, so these are the certificate's own bytes.
    spki: encodeTlv(spki.tag, spki.value),
    extensions,
  };
}

/** Lower-case hex of the serial's value octets, as the library and `openssl x509 -serial` show it. */
export function serialHex(cert: DerCertificate): string {
  const s = cert.serial;
  // The DER sign octet goes; other leading zeros stay (as the library does).
  const bytes = s.length > 1 && s[0] === 0 && (s[1] ?? 0) > 0x7f ? s.subarray(1) : s;
  return Buffer.from(bytes).toString('hex');
}

/** UTCTime or GeneralizedTime in the forms RFC 5280 allows (Z, whole or fractional seconds). */
export function readTime(tlv: Tlv): Date {
  const text = Buffer.from(tlv.value).toString('latin1');
  let match: RegExpExecArray | null;
  if (tlv.tag === 0x17 && (match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text)) !== null) {
    const yy = Number(match[1]);
    return utc(yy < 50 ? 2000 + yy : 1900 + yy, match, 0);
  }
  if (tlv.tag === 0x18 && (match = /^(\d\d\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d+)?Z$/.exec(text)) !== null) {
    return utc(Number(match[1]), match, Math.floor(Number(`0${match[7] ?? ''}`) * 1000));
  }
  throw new NativeUnsupported(`time ${JSON.stringify(text)}`);
}

function utc(year: number, m: RegExpExecArray, ms: number): Date {
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
}

// The library's attribute names (plus the extra ones names.ts registers), so text matches formatName's.
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.4': 'SN',
  '2.5.4.12': 'T',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'postalCode',
  '2.5.4.5': 'serialNumber',
  '0.9.2342.19200300.100.1.1': 'UID',
};

const TAG_UTF8_STRING = 0x0c;
const TAG_PRINTABLE_STRING = 0x13;
const TAG_IA5_STRING = 0x16;

export interface NameAttribute {
  oid: string;
  value: string;
}

/** A Name's RDNs, each a list of attributes; string types other than UTF8/Printable/IA5 are NativeUnsupported. */
export function readName(content: Uint8Array): NameAttribute[][] {
  return readChildren(content).map((rdn) =>
    readChildren(rdn.value).map((attribute) => {
      const [oid, value] = readChildren(attribute.value);
      if (oid?.tag !== TAG_OID || value === undefined) throw new RangeError('malformed AttributeTypeAndValue');
      return { oid: decodeOid(oid.value), value: decodeString(value) };
    }),
  );
}

function decodeString(tlv: Tlv): string {
  if (tlv.tag === TAG_UTF8_STRING) return Buffer.from(tlv.value).toString('utf8');
  if (tlv.tag === TAG_PRINTABLE_STRING || tlv.tag === TAG_IA5_STRING) {
    if (tlv.value.some((b) => b > 0x7f)) throw new NativeUnsupported('non-ASCII octets in an ASCII string');
    return Buffer.from(tlv.value).toString('latin1');
  }
  throw new NativeUnsupported(`name attribute string tag 0x${tlv.tag.toString(16)}`);
}

/** The library's escaping (formatName), replicated: the same text for the same name. */
function escape(value: string): string {
  return value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (c) => `\\${Buffer.from(c, 'utf8').toString('hex').toUpperCase()}`);
}

/** Text of a Name exactly as formatName (names.ts) writes it. */
export function formatDerName(content: Uint8Array): string {
  return readName(content)
    .map((rdn) => rdn.map((a) => `${ATTRIBUTE_NAMES[a.oid] ?? a.oid}=${escape(a.value)}`).join('+'))
    .join(', ');
}

/** The first commonName, unescaped. */
export function commonNameOf(content: Uint8Array): string | undefined {
  for (const rdn of readName(content)) for (const a of rdn) if (a.oid === '2.5.4.3') return a.value;
  return undefined;
}

// OpenSSL must accept a certificate too (it verifies chains, and TLS peers
// run it), but its parse costs ~0.13 ms: certificates that repeat across
// Secrets (a CA's, an intermediate) are checked once.
const acceptedByOpenSsl = new Map<string, NodeX509Certificate>();
const ACCEPTED_CACHE_SIZE = 512;

/** Node's (OpenSSL's) view of a certificate; cached when `repeated` (not a leaf). Throws when OpenSSL refuses it. */
export function nodeCertificate(der: Uint8Array, repeated: boolean): NodeX509Certificate {
  if (!repeated) return new NodeX509Certificate(der);
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
  let node = acceptedByOpenSsl.get(key);
  if (node === undefined) {
    node = new NodeX509Certificate(der);
    if (acceptedByOpenSsl.size >= ACCEPTED_CACHE_SIZE) acceptedByOpenSsl.delete(acceptedByOpenSsl.keys().next().value ?? '');
    acceptedByOpenSsl.set(key, node);
  }
  return node;
}

/** A certificate of a chain: its DER fields, and OpenSSL's object for signature checks. */
export interface ChainCertificate extends DerCertificate {
  readonly node: NodeX509Certificate;
}

export interface ChainReadOptions {
  /** A CA bundle: all its certificates repeat across calls (their OpenSSL parse is cached). */
  anchors?: boolean;
  /**
   * Leave the leaf's OpenSSL parse until its `node` is asked for (a
   * signature check). For reading a Secret's facts, where only the DER
   * reader's fields are needed and ~0.15 ms per Secret is the difference.
   */
  lazyLeaf?: boolean;
}

/**
 * Every certificate in a PEM bundle, in order, each read by the DER reader
 * and accepted by OpenSSL (but see lazyLeaf). `source` names the input in
 * errors. Throws PkiError (InvalidPEM, InvalidCertificate) like
 * parseCertificateChainPem.
 */
export function readCertificateChainPem(pem: string, source = 'certificate PEM', o: ChainReadOptions = {}): ChainCertificate[] {
  return decodePemBlocks(pem, source).map((block, i) => {
    if (block.type !== 'CERTIFICATE') {
      throw new PkiError('InvalidCertificate', `${source}: PEM block ${block.position} is "${block.type}", expected CERTIFICATE`);
    }
    const invalid = (cause: unknown): PkiError =>
      new PkiError('InvalidCertificate', `${source}: PEM block ${block.position} is not a valid X.509 certificate: ${describeCause(cause)}`, { cause });
    try {
      const der = new Uint8Array(block.der.buffer, block.der.byteOffset, block.der.byteLength);
      // A leaf is met once; what follows it, and trust anchors, repeat.
      const repeated = i > 0 || o.anchors === true;
      const fields = readCertificateDer(der);
      if (repeated || o.lazyLeaf !== true) return { ...fields, node: nodeCertificate(der, repeated) };
      let node: NodeX509Certificate | undefined;
      return {
        ...fields,
        get node(): NodeX509Certificate {
          try {
            node ??= nodeCertificate(der, false);
          } catch (cause) {
            throw invalid(cause);
          }
          return node;
        },
      };
    } catch (cause) {
      throw invalid(cause);
    }
  });
}

/** SHA-256 of the DER certificate, lower-case hex. */
export function fingerprintOf(cert: DerCertificate): string {
  return createHash('sha256').update(cert.der).digest('hex');
}
