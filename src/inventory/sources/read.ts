import { createHash } from 'node:crypto';
import { describeCause } from '../../pki/errors.js';
import { readCertificateChainPem } from '../../pki/certificate-der.js';
import { readJksCertificates, readPkcs12Certificates, type KeystoreContents } from '../../pki/keystores.js';
import { encodePem } from '../../pki/pem.js';
import type { CertificateFacts } from '../../model/certificate-facts.js';
import { certificateFacts } from '../../secrets/facts.js';
import { SourceKind } from '../model.js';

// Pure: one Kubernetes object as the API server sent it -> the certificates it
// holds, as public facts. Everything here reads what tenants (ConfigMaps,
// Secrets) or installers (webhook configurations, APIServices, CRDs) wrote,
// so it is bounded in bytes, keys and certificates per object and never
// throws: what cannot be read becomes an `error` on the item. Keystore
// passwords and keys are used to open a keystore and dropped; no fact kept
// here can reveal them.

export interface FoundCertificate {
  facts: CertificateFacts;
  alias?: string | undefined;
}

/** One place inside an object: a webhook's caBundle, a data key. */
export interface FoundItem {
  kind: SourceKind;
  /** The webhook's name, "spec.caBundle", or the data key. */
  key: string;
  certificates: FoundCertificate[];
  /** Certificates past the per-item limit. */
  omitted: number;
  /** Why (some of) it could not be read. */
  error?: string;
}

export interface SourceSummary {
  /** Absent for cluster-scoped objects. */
  namespace?: string | undefined;
  name: string;
  items: FoundItem[];
}

export interface SourceLimits {
  /** Bytes of one value (a caBundle, a data key) that are read. */
  maxValueBytes: number;
  /** Certificates kept per item; a whole trust store keeps its first ones and counts the rest. */
  maxCertificatesPerItem: number;
  /** Items (webhooks, data keys) read per object. */
  maxItemsPerObject: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = { maxValueBytes: 1024 * 1024, maxCertificatesPerItem: 64, maxItemsPerObject: 32 };

/** Annotation on a Secret or ConfigMap naming its data key that holds the PKCS#12 password (default: empty password). */
export const KEYSTORE_PASSWORD_KEY_ANNOTATION = 'certkeeper.dev/keystore-password-key';

const BEGIN_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

type Parsed = Pick<FoundItem, 'certificates' | 'omitted' | 'error'>;

/**
 * Bundles repeat (trust-manager copies one into every namespace, every
 * webhook of a chart carries the same CA): each distinct value is parsed once.
 * Keyed by a digest, never by the value; bounded, oldest forgotten first.
 */
const memo = new Map<string, Parsed>();
const MEMO_SIZE = 512;

function memoized(parts: readonly string[], parse: () => Parsed): Parsed {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  const key = hash.digest('hex');
  const hit = memo.get(key);
  if (hit !== undefined) return hit;
  const parsed = parse();
  if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value ?? '');
  memo.set(key, parsed);
  return parsed;
}

/** The CERTIFICATE blocks of a PEM text (keys and other blocks beside them are skipped unread). */
export function pemCertificates(text: string, source: string, limits: SourceLimits = DEFAULT_SOURCE_LIMITS): Parsed {
  if (text.length > limits.maxValueBytes) return { certificates: [], omitted: 0, error: `${source} is ${text.length} bytes; at most ${limits.maxValueBytes} are read` };
  return memoized(['pem', text], () => {
    const out: Parsed = { certificates: [], omitted: 0 };
    let block = 0;
    for (const match of text.matchAll(CERTIFICATE_BLOCK)) {
      block++;
      if (out.certificates.length >= limits.maxCertificatesPerItem) {
        out.omitted++;
        continue;
      }
      try {
        const [certificate] = readCertificateChainPem(match[0], `${source} certificate ${block}`);
        if (certificate !== undefined) out.certificates.push({ facts: certificateFacts(certificate) });
      } catch (err) {
        out.error ??= describeCause(err);
      }
    }
    if (block === 0) out.error = `${source} holds no PEM certificate`;
    return out;
  });
}

function keystoreFacts(contents: KeystoreContents, source: string): Parsed {
  const out: Parsed = { certificates: [], omitted: contents.omitted };
  contents.certificates.forEach((c, i) => {
    try {
      const [certificate] = readCertificateChainPem(encodePem('CERTIFICATE', c.der), `${source} certificate ${i + 1}`);
      if (certificate !== undefined) out.certificates.push({ facts: certificateFacts(certificate), alias: c.alias });
    } catch (err) {
      out.error ??= describeCause(err);
    }
  });
  return out;
}

function keystore(kind: 'pkcs12' | 'jks', bytes: Buffer, password: string, source: string): Parsed {
  return memoized([kind, createHash('sha256').update(password).digest('hex'), bytes.toString('base64')], () => {
    try {
      return keystoreFacts(kind === 'pkcs12' ? readPkcs12Certificates(bytes, password) : readJksCertificates(bytes), source);
    } catch (err) {
      return { certificates: [], omitted: 0, error: describeCause(err) };
    }
  });
}

/** The item kind of a data key, or undefined when it holds no certificate we read. */
function keystoreKind(key: string): 'pkcs12' | 'jks' | undefined {
  const lower = key.toLowerCase();
  if (lower.endsWith('.p12') || lower.endsWith('.pfx')) return 'pkcs12';
  if (lower.endsWith('.jks') || lower.endsWith('.jceks')) return 'jks';
  return undefined;
}

function base64Bytes(value: string, limits: SourceLimits): Buffer | undefined {
  // base64 is 4/3 of the bytes: refuse before decoding.
  if ((value.length * 3) / 4 > limits.maxValueBytes) return undefined;
  return Buffer.from(value, 'base64');
}

function item(kind: SourceKind, key: string, parsed: Parsed): FoundItem {
  return { kind, key, ...parsed };
}

interface RawMeta {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> } | undefined;
}

interface RawClientConfig {
  caBundle?: string | undefined;
}

function caBundleItem(kind: SourceKind, key: string, caBundle: string | undefined, limits: SourceLimits): FoundItem | undefined {
  if (caBundle === undefined || caBundle === '') return undefined;
  const bytes = base64Bytes(caBundle, limits);
  if (bytes === undefined) return item(kind, key, { certificates: [], omitted: 0, error: `caBundle is larger than ${limits.maxValueBytes} bytes` });
  return item(kind, key, pemCertificates(bytes.toString('utf8'), `${key} caBundle`, limits));
}

function summary(raw: RawMeta, items: FoundItem[], namespaced: boolean): SourceSummary | undefined {
  if (items.length === 0) return undefined;
  const name = raw.metadata?.name ?? '';
  return namespaced ? { namespace: raw.metadata?.namespace ?? '', name, items } : { name, items };
}

export interface RawWebhookConfiguration extends RawMeta {
  webhooks?: { name?: string; clientConfig?: RawClientConfig }[] | undefined;
}

/** Validating/MutatingWebhookConfiguration: the caBundle of each webhook. */
export function webhookConfigurationSource(kind: typeof SourceKind.ValidatingWebhook | typeof SourceKind.MutatingWebhook, raw: RawWebhookConfiguration, limits = DEFAULT_SOURCE_LIMITS): SourceSummary | undefined {
  const items: FoundItem[] = [];
  for (const webhook of (raw.webhooks ?? []).slice(0, limits.maxItemsPerObject)) {
    const found = caBundleItem(kind, webhook.name ?? '?', webhook.clientConfig?.caBundle, limits);
    if (found !== undefined) items.push(found);
  }
  return summary(raw, items, false);
}

export interface RawAPIService extends RawMeta {
  spec?: { caBundle?: string | undefined } | undefined;
}

export function apiServiceSource(raw: RawAPIService, limits = DEFAULT_SOURCE_LIMITS): SourceSummary | undefined {
  const found = caBundleItem(SourceKind.APIService, 'spec.caBundle', raw.spec?.caBundle, limits);
  return summary(raw, found === undefined ? [] : [found], false);
}

export interface RawCustomResourceDefinition extends RawMeta {
  spec?: { conversion?: { webhook?: { clientConfig?: RawClientConfig } | undefined } | undefined } | undefined;
}

export function crdConversionSource(raw: RawCustomResourceDefinition, limits = DEFAULT_SOURCE_LIMITS): SourceSummary | undefined {
  const found = caBundleItem(SourceKind.CRDConversion, 'spec.conversion.webhook', raw.spec?.conversion?.webhook?.clientConfig?.caBundle, limits);
  return summary(raw, found === undefined ? [] : [found], false);
}

/** The password a keystore in this object is opened with: the referenced key's value, or empty. */
function keystorePassword(annotations: Record<string, string> | undefined, read: (key: string) => string | undefined): { password: string; passwordKey?: string; error?: string } {
  const passwordKey = annotations?.[KEYSTORE_PASSWORD_KEY_ANNOTATION];
  if (passwordKey === undefined) return { password: '' };
  const value = read(passwordKey);
  // A trailing newline is what `echo secret > file; kubectl create secret --from-file` leaves.
  if (value === undefined) return { password: '', passwordKey, error: `the password key "${passwordKey}" (annotation ${KEYSTORE_PASSWORD_KEY_ANNOTATION}) is missing` };
  return { password: value.replace(/\r?\n$/, ''), passwordKey };
}

function dataItems(
  entries: [string, () => Buffer | string | undefined][],
  kinds: { pem: SourceKind; pkcs12: SourceKind; jks: SourceKind },
  password: { password: string; passwordKey?: string; error?: string },
  limits: SourceLimits,
): FoundItem[] {
  const items: FoundItem[] = [];
  for (const [key, value] of entries) {
    if (key === password.passwordKey) continue;
    if (items.length >= limits.maxItemsPerObject) break;
    const store = keystoreKind(key);
    const data = value();
    if (data === undefined) {
      if (store !== undefined) items.push(item(kinds[store], key, { certificates: [], omitted: 0, error: `${key} is larger than ${limits.maxValueBytes} bytes` }));
      continue;
    }
    if (store !== undefined) {
      const kind = kinds[store];
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      const parsed = keystore(store, bytes, password.password, key);
      items.push(item(kind, key, password.error !== undefined && store === 'pkcs12' && parsed.certificates.length === 0 ? { ...parsed, error: `${password.error}; ${parsed.error ?? ''}` } : parsed));
      continue;
    }
    const text = typeof data === 'string' ? data : data.toString('utf8');
    if (!text.includes(BEGIN_CERTIFICATE)) continue;
    items.push(item(kinds.pem, key, pemCertificates(text, key, limits)));
  }
  return items;
}

export interface RawSecret extends RawMeta {
  type?: string | undefined;
  data?: Record<string, string> | undefined;
}

/**
 * An Opaque (or any non-TLS) Secret: PEM certificates in any key, PKCS#12 in
 * `*.p12`/`*.pfx` (password from the key the annotation names, else empty),
 * JKS in `*.jks`.
 */
export function secretSource(raw: RawSecret, limits = DEFAULT_SOURCE_LIMITS): SourceSummary | undefined {
  const data = raw.data ?? {};
  const decode = (value: string | undefined): Buffer | undefined => (value === undefined ? undefined : base64Bytes(value, limits));
  const password = keystorePassword(raw.metadata?.annotations, (key) => decode(data[key])?.toString('utf8'));
  const entries = Object.entries(data).map(([key, value]): [string, () => Buffer | undefined] => [key, () => decode(value)]);
  return summary(raw, dataItems(entries, { pem: SourceKind.SecretPEM, pkcs12: SourceKind.SecretPKCS12, jks: SourceKind.SecretJKS }, password, limits), true);
}

export interface RawConfigMap extends RawMeta {
  data?: Record<string, string> | undefined;
  binaryData?: Record<string, string> | undefined;
}

/** A ConfigMap (one the label selector opted in): PEM bundles in data, keystores in binaryData. */
export function configMapSource(raw: RawConfigMap, limits = DEFAULT_SOURCE_LIMITS): SourceSummary | undefined {
  const data = raw.data ?? {};
  const binary = raw.binaryData ?? {};
  const text = (value: string): string | undefined => (value.length > limits.maxValueBytes ? undefined : value);
  const password = keystorePassword(raw.metadata?.annotations, (key) => data[key]);
  const entries: [string, () => Buffer | string | undefined][] = [
    ...Object.entries(data).map(([key, value]): [string, () => string | undefined] => [key, () => text(value)]),
    ...Object.entries(binary).map(([key, value]): [string, () => Buffer | undefined] => [key, () => base64Bytes(value, limits)]),
  ];
  // A ConfigMap is one kind whatever format its keys hold; the key's extension says which.
  const kind = SourceKind.ConfigMap;
  return summary(raw, dataItems(entries, { pem: kind, pkcs12: kind, jks: kind }, password, limits), true);
}
