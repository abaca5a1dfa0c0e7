import { PkiError } from './errors.js';
import { TAG_OID, TAG_SEQUENCE, concatBytes, encodeOid, encodeTlv } from './der.js';
import { OID_SUBJECT_ALT_NAME, subjectAltNameValue, subjectAttributes } from './names.js';
import type { CertificateTemplateSpec, KeyAlgorithm } from './spec.js';
import { templateParts, validateTemplateSpec } from './template.js';
import { resolveUsages } from './usages.js';

// templateParts as DER, built with the DER helpers: the subject and the
// extensions of a certificate are a few fixed shapes, and building them
// through the library's object model (asn1js) cost ~0.4 ms per certificate,
// half of a CA issuance. The bytes are the library's, byte for byte (a unit
// test compares them); nameConstraints, rare and only on CA certificates,
// still comes from the library.

export interface TemplateDer {
  /** The subject Name element. */
  subject: Uint8Array;
  /** Extension elements, in templateParts' order. */
  extensions: Uint8Array[];
}

const TAG_BOOLEAN = 0x01;
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_OCTET_STRING = 0x04;
const TAG_UTF8_STRING = 0x0c;
const TAG_PRINTABLE_STRING = 0x13;
const TAG_SET = 0x31;

const OID_KEY_USAGE = '2.5.29.15';
const OID_EXTENDED_KEY_USAGE = '2.5.29.37';
const OID_BASIC_CONSTRAINTS = '2.5.29.19';

const oidCache = new Map<string, Uint8Array>();

function oid(dotted: string): Uint8Array {
  let der = oidCache.get(dotted);
  if (der === undefined) {
    der = encodeTlv(TAG_OID, encodeOid(dotted));
    oidCache.set(dotted, der);
  }
  return der;
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  const parts = [oid(id)];
  if (critical) parts.push(encodeTlv(TAG_BOOLEAN, Uint8Array.of(0xff)));
  parts.push(encodeTlv(TAG_OCTET_STRING, value));
  return encodeTlv(TAG_SEQUENCE, concatBytes(parts));
}

/** keyUsage flags (named bit k = 2^k) as a DER BIT STRING: bit 0 is the first octet's top bit, trailing zero bits unused. */
function keyUsageBits(flags: number): Uint8Array {
  const length = 32 - Math.clz32(flags);
  const octets = new Uint8Array(Math.ceil(length / 8));
  for (let k = 0; k < length; k++) if (flags & (1 << k)) octets[k >> 3] = (octets[k >> 3] ?? 0) | (0x80 >> (k & 7));
  return encodeTlv(TAG_BIT_STRING, concatBytes([Uint8Array.of(octets.length * 8 - length), octets]));
}

function smallInteger(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new PkiError('InvalidTemplate', `pathLength ${n} is not a non-negative integer`);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  if (bytes.length === 0 || (bytes[0] ?? 0) > 0x7f) bytes.unshift(0);
  return encodeTlv(TAG_INTEGER, Uint8Array.from(bytes));
}

/** templateParts(spec, subjectKeyAlgorithm), as DER. Throws PkiError like it. */
export function templatePartsDer(spec: CertificateTemplateSpec, subjectKeyAlgorithm: KeyAlgorithm): TemplateDer {
  validateTemplateSpec(spec);
  const attributes = subjectAttributes(spec);
  const subject = encodeTlv(
    TAG_SEQUENCE,
    concatBytes(
      attributes.map((a) =>
        encodeTlv(TAG_SET, encodeTlv(TAG_SEQUENCE, concatBytes([oid(a.oid), encodeTlv(a.printable ? TAG_PRINTABLE_STRING : TAG_UTF8_STRING, Buffer.from(a.value, 'utf8'))]))),
      ),
    ),
  );
  const usages = resolveUsages({ usages: spec.usages, isCA: spec.isCA, keyAlgorithm: subjectKeyAlgorithm });
  const extensions: Uint8Array[] = [];
  if (usages.keyUsageFlags !== 0) extensions.push(extension(OID_KEY_USAGE, true, keyUsageBits(usages.keyUsageFlags)));
  if (usages.extendedKeyUsageOids.length > 0) {
    extensions.push(extension(OID_EXTENDED_KEY_USAGE, false, encodeTlv(TAG_SEQUENCE, concatBytes(usages.extendedKeyUsageOids.map(oid)))));
  }
  const constraints = spec.isCA === true ? spec.caConstraints : undefined;
  const basic: Uint8Array[] = [];
  if (spec.isCA === true) basic.push(encodeTlv(TAG_BOOLEAN, Uint8Array.of(0xff)));
  if (constraints?.pathLength !== undefined) basic.push(smallInteger(constraints.pathLength));
  extensions.push(extension(OID_BASIC_CONSTRAINTS, true, encodeTlv(TAG_SEQUENCE, concatBytes(basic))));
  if (constraints !== undefined) {
    // nameConstraints: the library's encoding (GeneralSubtrees), taken from templateParts.
    const limits = templateParts(spec, subjectKeyAlgorithm).extensions.find((e) => e.type === '2.5.29.30');
    if (limits !== undefined) extensions.push(new Uint8Array(limits.rawData));
  }
  const san = subjectAltNameValue(spec);
  if (san !== undefined) extensions.push(extension(OID_SUBJECT_ALT_NAME, attributes.length === 0, san));
  return { subject, extensions };
}
