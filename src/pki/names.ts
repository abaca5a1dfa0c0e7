import { isIPv4, isIPv6 } from 'node:net';
import { x509 } from './x509.js';
import { PkiError } from './errors.js';
import { TAG_SEQUENCE, concatBytes, encodeTlv, readChildren, readTlv } from './der.js';
import type { CertificateTemplateSpec } from './spec.js';

// Subject names and subjectAltNames. The SAN extension is encoded and decoded
// here by hand (it is a flat list of tagged strings) so that IP addresses are
// exact bytes both ways and SAN kinds we do not model are skipped, not fatal.

export const OID_SUBJECT_ALT_NAME = '2.5.29.17';

// Context-specific primitive tags of GeneralName (RFC 5280 4.2.1.6).
const TAG_RFC822_NAME = 0x81;
const TAG_DNS_NAME = 0x82;
const TAG_URI = 0x86;
const TAG_IP_ADDRESS = 0x87;

export interface SubjectAltNames {
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
}

/** Attribute names the library does not know, so subject strings read "STREET=..." rather than "2.5.4.9=...". */
const EXTRA_ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  STREET: '2.5.4.9',
  postalCode: '2.5.4.17',
  serialNumber: '2.5.4.5',
  UID: '0.9.2342.19200300.100.1.1',
};

const OID = {
  country: '2.5.4.6',
  province: '2.5.4.8',
  locality: '2.5.4.7',
  street: '2.5.4.9',
  postalCode: '2.5.4.17',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  commonName: '2.5.4.3',
  serialNumber: '2.5.4.5',
} as const;

const PRINTABLE_STRING = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * The subject as Go's pkix.Name writes it (C, ST, L, STREET, postalCode, O,
 * OU, CN, serialNumber), one attribute per RDN. Values are passed as typed
 * strings: the library's plain-string form would treat a leading "#" as hex
 * and unescape quotes and backslashes.
 */
export function subjectName(spec: CertificateTemplateSpec): x509.Name {
  const rdns = subjectAttributes(spec).map(({ oid, value, printable }) => ({ [oid]: [printable ? { printableString: value } : { utf8String: value }] }));
  return new x509.Name(rdns, EXTRA_ATTRIBUTE_NAMES);
}

export interface SubjectAttribute {
  oid: string;
  value: string;
  /** PrintableString when the value fits one, else UTF8String. */
  printable: boolean;
}

/** The subject's attributes in Go's order, one per RDN: what subjectName encodes (and template-der.ts, natively). */
export function subjectAttributes(spec: CertificateTemplateSpec): SubjectAttribute[] {
  const s = spec.subject ?? {};
  const attributes: [string, readonly string[] | undefined][] = [
    [OID.country, s.countries],
    [OID.province, s.provinces],
    [OID.locality, s.localities],
    [OID.street, s.streetAddresses],
    [OID.postalCode, s.postalCodes],
    [OID.organization, s.organizations],
    [OID.organizationalUnit, s.organizationalUnits],
    [OID.commonName, spec.commonName ? [spec.commonName] : undefined],
    [OID.serialNumber, s.serialNumber ? [s.serialNumber] : undefined],
  ];
  return attributes.flatMap(([oid, values]) => (values ?? []).map((value) => ({ oid, value, printable: PRINTABLE_STRING.test(value) })));
}

/** RFC 4514-style text of a name in encoding order, with friendly names for common attributes. */
export function formatName(name: x509.Name): string {
  return new x509.Name(name.toArrayBuffer(), EXTRA_ATTRIBUTE_NAMES).toString();
}

export function isNameEmpty(name: x509.Name): boolean {
  return name.toJSON().length === 0;
}

function requireAscii(kind: string, value: string): void {
  // SAN strings are IA5String; internationalised names must arrive as punycode.
  if (!/^[\x21-\x7e]+$/.test(value)) {
    throw new PkiError('InvalidTemplate', `${kind} ${JSON.stringify(value)} must be non-empty printable ASCII`);
  }
}

/** Exact address bytes (4 or 16) of an IP literal; throws InvalidTemplate on anything else. */
export function ipAddressBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip) || ip.includes('%')) {
    throw new PkiError('InvalidTemplate', `ipAddress ${JSON.stringify(ip)} is not an IPv4 or IPv6 address (zones are not allowed)`);
  }
  let text = ip;
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4Tail?.[1] !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = v4Tail[1].split('.').map(Number);
    text = `${text.slice(0, v4Tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const n = parseInt(group, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  return bytes;
}

/** RFC 5952 text of address bytes: lower case, longest zero run compressed, "::ffff:a.b.c.d" for mapped IPv4. */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  if (bytes.length !== 16) return `<${bytes.length}-byte address ${Buffer.from(bytes).toString('hex')}>`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Canonical text of an IP literal, for comparing a spec's ipAddresses with a certificate's. */
export function normalizeIpAddress(ip: string): string {
  return formatIpAddress(ipAddressBytes(ip));
}

function validateUri(uri: string): void {
  requireAscii('uri', uri);
  if (!URL.canParse(uri)) throw new PkiError('InvalidTemplate', `uri ${JSON.stringify(uri)} is not an absolute URI`);
}

function validateEmail(email: string): void {
  requireAscii('emailAddress', email);
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) {
    throw new PkiError('InvalidTemplate', `emailAddress ${JSON.stringify(email)} is not of the form local@domain`);
  }
}

/** Whether the spec asks for any subjectAltName. */
export function hasSubjectAltNames(spec: CertificateTemplateSpec): boolean {
  return [spec.dnsNames, spec.ipAddresses, spec.uris, spec.emailAddresses].some((list) => (list?.length ?? 0) > 0);
}

/**
 * The subjectAltName extension for the spec (in Go's order: DNS, email, IP,
 * URI), or undefined when it asks for none. Strings are written as given.
 */
export function subjectAltNameExtension(spec: CertificateTemplateSpec, critical: boolean): x509.Extension | undefined {
  const value = subjectAltNameValue(spec);
  return value === undefined ? undefined : new x509.Extension(OID_SUBJECT_ALT_NAME, critical, value);
}

/** The DER value of the subjectAltName extension for the spec (see subjectAltNameExtension); undefined when it asks for none. */
export function subjectAltNameValue(spec: CertificateTemplateSpec): Uint8Array | undefined {
  if (!hasSubjectAltNames(spec)) return undefined;
  const ascii = new TextEncoder();
  const names: Uint8Array[] = [];
  for (const dns of spec.dnsNames ?? []) {
    requireAscii('dnsName', dns);
    names.push(encodeTlv(TAG_DNS_NAME, ascii.encode(dns)));
  }
  for (const email of spec.emailAddresses ?? []) {
    validateEmail(email);
    names.push(encodeTlv(TAG_RFC822_NAME, ascii.encode(email)));
  }
  for (const ip of spec.ipAddresses ?? []) names.push(encodeTlv(TAG_IP_ADDRESS, ipAddressBytes(ip)));
  for (const uri of spec.uris ?? []) {
    validateUri(uri);
    names.push(encodeTlv(TAG_URI, ascii.encode(uri)));
  }
  return encodeTlv(TAG_SEQUENCE, concatBytes(names));
}

/** The SANs of a subjectAltName extension value; kinds other than DNS, IP, URI and email are skipped. */
export function readSubjectAltNames(extensionValue: ArrayBuffer | Uint8Array | undefined): SubjectAltNames {
  const result: SubjectAltNames = { dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] };
  if (extensionValue === undefined) return result;
  const sequence = readTlv(extensionValue instanceof Uint8Array ? extensionValue : new Uint8Array(extensionValue), 0);
  if (sequence.tag !== TAG_SEQUENCE) throw new RangeError('subjectAltName is not a SEQUENCE');
  for (const name of readChildren(sequence.value)) {
    switch (name.tag) {
      case TAG_DNS_NAME:
        result.dnsNames.push(Buffer.from(name.value).toString('latin1'));
        break;
      case TAG_IP_ADDRESS:
        result.ipAddresses.push(formatIpAddress(name.value));
        break;
      case TAG_URI:
        result.uris.push(Buffer.from(name.value).toString('latin1'));
        break;
      case TAG_RFC822_NAME:
        result.emailAddresses.push(Buffer.from(name.value).toString('latin1'));
        break;
      default:
        break;
    }
  }
  return result;
}
