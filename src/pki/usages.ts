import { x509 } from './x509.js';
import { PkiError } from './errors.js';
import type { ExtendedKeyUsageName, KeyAlgorithm, KeyUsageName, UsageName } from './spec.js';

// cert-manager's usage strings <-> X.509 keyUsage bits and extKeyUsage OIDs.
// The same resolution is used to build a certificate and to say which usages
// a spec expects, so "does the issued certificate match the spec" compares
// like with like.

const { KeyUsageFlags } = x509;

const KEY_USAGE_FLAG: Readonly<Record<KeyUsageName, number>> = {
  signing: KeyUsageFlags.digitalSignature,
  'digital signature': KeyUsageFlags.digitalSignature,
  'content commitment': KeyUsageFlags.nonRepudiation,
  'key encipherment': KeyUsageFlags.keyEncipherment,
  'key agreement': KeyUsageFlags.keyAgreement,
  'data encipherment': KeyUsageFlags.dataEncipherment,
  'cert sign': KeyUsageFlags.keyCertSign,
  'crl sign': KeyUsageFlags.cRLSign,
  'encipher only': KeyUsageFlags.encipherOnly,
  'decipher only': KeyUsageFlags.decipherOnly,
};

/** Canonical name per bit, in bit order; "signing" is an alias of "digital signature". */
const KEY_USAGE_BY_FLAG: readonly (readonly [number, KeyUsageName])[] = [
  [KeyUsageFlags.digitalSignature, 'digital signature'],
  [KeyUsageFlags.nonRepudiation, 'content commitment'],
  [KeyUsageFlags.keyEncipherment, 'key encipherment'],
  [KeyUsageFlags.dataEncipherment, 'data encipherment'],
  [KeyUsageFlags.keyAgreement, 'key agreement'],
  [KeyUsageFlags.keyCertSign, 'cert sign'],
  [KeyUsageFlags.cRLSign, 'crl sign'],
  [KeyUsageFlags.encipherOnly, 'encipher only'],
  [KeyUsageFlags.decipherOnly, 'decipher only'],
];

const EXTENDED_KEY_USAGE_OID: Readonly<Record<ExtendedKeyUsageName, string>> = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};

/** Canonical name per OID; "s/mime" is an alias of "email protection". */
const EXTENDED_KEY_USAGE_BY_OID: ReadonlyMap<string, ExtendedKeyUsageName> = new Map(
  (Object.entries(EXTENDED_KEY_USAGE_OID) as [ExtendedKeyUsageName, string][])
    .filter(([name]) => name !== 's/mime')
    .map(([name, oid]) => [oid, name]),
);

/** The one name of a usage that has two ("signing" is "digital signature", "s/mime" is "email protection"), as certificates report them. */
export function canonicalUsageName(name: UsageName): UsageName {
  if (name === 'signing') return 'digital signature';
  if (name === 's/mime') return 'email protection';
  return name;
}

function isKeyUsageName(name: string): name is KeyUsageName {
  return Object.hasOwn(KEY_USAGE_FLAG, name);
}

function isExtendedKeyUsageName(name: string): name is ExtendedKeyUsageName {
  return Object.hasOwn(EXTENDED_KEY_USAGE_OID, name);
}

export interface ResolvedUsages {
  /** keyUsage bits (x509.KeyUsageFlags); 0 means no keyUsage extension. */
  keyUsageFlags: number;
  /** extKeyUsage OIDs in first-requested order, without duplicates. */
  extendedKeyUsageOids: string[];
  /** The same, as canonical cert-manager names (what usagesOfCertificate reports). */
  names: UsageName[];
}

/**
 * The usages a certificate gets for a spec:
 * - empty `usages` means "digital signature", "key encipherment" and "server
 *   auth" — but a CA gets no "server auth", because an EKU on a CA constrains
 *   every certificate under it (cert-manager dropped it from its defaults for
 *   the same reason);
 * - `isCA` adds "cert sign";
 * - "key encipherment" is kept only for RSA subject keys: it means RSA key
 *   transport, and RFC 8813/8410 say ECDSA and Ed25519 keys must not assert it
 *   (cert-manager's ACME and Vault paths drop it the same way).
 */
export function resolveUsages(input: {
  usages?: readonly UsageName[] | undefined;
  isCA?: boolean | undefined;
  keyAlgorithm: KeyAlgorithm;
}): ResolvedUsages {
  const isCA = input.isCA ?? false;
  const requested: readonly string[] =
    input.usages !== undefined && input.usages.length > 0
      ? input.usages
      : isCA
        ? ['digital signature', 'key encipherment']
        : ['digital signature', 'key encipherment', 'server auth'];

  let keyUsageFlags = isCA ? KeyUsageFlags.keyCertSign : 0;
  const extendedKeyUsageOids: string[] = [];
  const unknown: string[] = [];
  for (const name of requested) {
    if (isKeyUsageName(name)) {
      keyUsageFlags |= KEY_USAGE_FLAG[name];
    } else if (isExtendedKeyUsageName(name)) {
      const oid = EXTENDED_KEY_USAGE_OID[name];
      if (!extendedKeyUsageOids.includes(oid)) extendedKeyUsageOids.push(oid);
    } else {
      unknown.push(name);
    }
  }
  if (unknown.length > 0) {
    throw new PkiError('InvalidTemplate', `unknown usages: ${unknown.map((u) => JSON.stringify(u)).join(', ')}`);
  }
  if (input.keyAlgorithm !== 'RSA') keyUsageFlags &= ~KeyUsageFlags.keyEncipherment;

  return { keyUsageFlags, extendedKeyUsageOids, names: usageNames(keyUsageFlags, extendedKeyUsageOids) };
}

/** Canonical names of keyUsage bits then extKeyUsage OIDs; OIDs without a cert-manager name are left out. */
export function usageNames(keyUsageFlags: number, extendedKeyUsageOids: readonly string[]): UsageName[] {
  const names: UsageName[] = KEY_USAGE_BY_FLAG.filter(([flag]) => (keyUsageFlags & flag) !== 0).map(([, name]) => name);
  for (const oid of extendedKeyUsageOids) {
    const name = EXTENDED_KEY_USAGE_BY_OID.get(oid);
    if (name !== undefined && !names.includes(name)) names.push(name);
  }
  return names;
}

/** The usages a parsed certificate (or CSR extension list) actually carries. */
export function usagesOfExtensions(extensions: readonly x509.Extension[]): UsageName[] {
  let flags = 0;
  const oids: string[] = [];
  for (const extension of extensions) {
    if (extension instanceof x509.KeyUsagesExtension) flags |= extension.usages;
    if (extension instanceof x509.ExtendedKeyUsageExtension) oids.push(...extension.usages.map(String));
  }
  return usageNames(flags, oids);
}
