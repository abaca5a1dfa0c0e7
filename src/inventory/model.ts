import type { NamespacePostQuantum } from '../api/tlspolicy.js';
import type { CertificateFacts } from '../model/certificate-facts.js';
import type { Consumers } from './sources/consumers.js';
import type { AlertWindow } from './alert-window.js';

// The inventory's data: one entry per certificate identity (its SHA-256
// fingerprint) with every place it was found, who manages it, and what is
// wrong with it. Plain data: renderers (JSON, table, metrics, alerts) read it
// and hold no verdicts of their own.

/** Stable problem ids: API for filters (`?problem=`), metric labels and scripts. */
export const ProblemId = {
  Expired: 'expired',
  Unparsable: 'unparsable',
  KeyMismatch: 'key_mismatch',
  Incomplete: 'incomplete',
  NotYetValid: 'not_yet_valid',
  Expiring: 'expiring',
  RenewalOverdue: 'renewal_overdue',
  LifetimeExceedsLimit: 'lifetime_exceeds_cabf_limit',
  NotIssued: 'not_issued',
} as const;
export type ProblemId = (typeof ProblemId)[keyof typeof ProblemId];

/** Most severe first: an entry's primary problem is the first of these it has. */
export const PROBLEM_PRECEDENCE: readonly ProblemId[] = [
  ProblemId.Expired,
  ProblemId.Unparsable,
  ProblemId.KeyMismatch,
  ProblemId.Incomplete,
  ProblemId.NotYetValid,
  ProblemId.RenewalOverdue,
  ProblemId.Expiring,
  ProblemId.LifetimeExceedsLimit,
  ProblemId.NotIssued,
];

export const isProblemId = (value: string): value is ProblemId => (PROBLEM_PRECEDENCE as readonly string[]).includes(value);

export type Severity = 'critical' | 'warning' | 'info';

export interface Problem {
  id: ProblemId;
  severity: Severity;
  /** Human-readable, with the numbers ("expires in 5d 2h, at 2026-02-01T00:00:00Z; warning at 21d"). */
  message: string;
  /** The location it concerns (see locationName), when it is not about the certificate itself. */
  location?: string;
}

/** certkeeper: a Certificate writes it. other: another controller's annotations/labels/owner. unmanaged: nobody we can tell. */
export type Managed = 'certkeeper' | 'other' | 'unmanaged';
export const MANAGED_VALUES: readonly Managed[] = ['certkeeper', 'other', 'unmanaged'];

export interface ManagedBy {
  managed: Managed;
  /** "certkeeper", "cert-manager", "openshift-service-ca", "helm", a managed-by label value, or an owner's kind. */
  controller?: string;
  /** What of that controller: "Certificate/web", "Service/api", "release shop/storefront". */
  resource?: string;
}

/** Who a certificate belongs to, from labels and owner references; for people, not decisions. */
export type OwnerHints = Record<string, string>;

export type SecretKey = 'tls.crt' | 'ca.crt';

export interface SecretLocation {
  type: 'secret';
  namespace: string;
  name: string;
  key: SecretKey;
  managedBy: ManagedBy;
  owners: OwnerHints;
  /** Pods, Ingresses and Gateways that use the Secret, when the operator watches them. */
  consumers?: Consumers | undefined;
}

export interface EndpointLocation {
  type: 'endpoint';
  namespace?: string | undefined;
  service?: string | undefined;
  port: number;
  /** host:port that was probed. */
  address: string;
  serverName?: string | undefined;
}

/** A Certificate with no Secret yet: listed so "where is my certificate?" has an answer. */
export interface CertificateLocation {
  type: 'certificate';
  namespace: string;
  name: string;
  secretName: string;
}

/**
 * Where else certificates live (inventory/sources/): trust anchors the API
 * server uses (webhook, APIService and CRD conversion caBundles), trust
 * bundles in ConfigMaps, and PEM files and keystores in Opaque Secrets.
 */
export const SourceKind = {
  ValidatingWebhook: 'validating_webhook',
  MutatingWebhook: 'mutating_webhook',
  APIService: 'api_service',
  CRDConversion: 'crd_conversion',
  ConfigMap: 'configmap',
  SecretPEM: 'secret_pem',
  SecretPKCS12: 'secret_pkcs12',
  SecretJKS: 'secret_jks',
} as const;
export type SourceKind = (typeof SourceKind)[keyof typeof SourceKind];
export const SOURCE_KINDS: readonly SourceKind[] = Object.values(SourceKind);

/** The API server itself trusts these: an expired one breaks every request it intercepts. */
export const API_SERVER_TRUST_KINDS: readonly SourceKind[] = [SourceKind.ValidatingWebhook, SourceKind.MutatingWebhook, SourceKind.APIService, SourceKind.CRDConversion];

export interface BundleLocation {
  type: 'bundle';
  kind: SourceKind;
  /** Absent for cluster-scoped objects (webhook configurations, APIServices, CRDs). */
  namespace?: string | undefined;
  /** The object's name. */
  name: string;
  /** The webhook's name, `spec.caBundle`, or the data key ("ca-bundle.crt", "keystore.p12"). */
  key: string;
  /** The keystore alias or friendlyName, when there is one. */
  alias?: string | undefined;
  /** For ConfigMaps and Secrets: the Pods (and for Secrets, Ingresses and Gateways) that use it. */
  consumers?: Consumers | undefined;
}

export type Location = SecretLocation | EndpointLocation | CertificateLocation | BundleLocation;

export function locationName(l: Location): string {
  switch (l.type) {
    case 'secret':
      return `secret/${l.namespace}/${l.name}#${l.key}`;
    case 'endpoint':
      return l.service === undefined ? `endpoint/${l.address}` : `endpoint/${l.namespace ?? ''}/${l.service}:${l.port}`;
    case 'certificate':
      return `certificate/${l.namespace}/${l.name}`;
    case 'bundle':
      return `${l.kind}/${l.namespace === undefined ? '' : `${l.namespace}/`}${l.name}#${l.key}`;
  }
}

export function locationNamespace(l: Location): string | undefined {
  return l.namespace;
}

export interface InventoryEntry {
  /** "sha256:<fingerprint>"; "secret:<ns>/<name>" for a Secret whose tls.crt does not parse; "certificate:<ns>/<name>" for one not issued yet. */
  id: string;
  /** Absent when there is nothing to parse (see error). */
  certificate?: CertificateFacts;
  /** Why there is no certificate. */
  error?: string;
  locations: Location[];
  managedBy: ManagedBy;
  problems: Problem[];
  primaryProblem: ProblemId | 'none';
  /** When its time becomes a problem (alert-window.ts): the Certificate's renewal schedule when certkeeper renews it, else the most cautious expiry thresholds of its locations. */
  thresholds: AlertWindow;
}

export interface Inventory {
  generatedAt: Date;
  /** The next instant a time-based problem (not yet valid, expiring, expired) changes; undefined when none will. */
  validUntil?: Date | undefined;
  /** Errors first, then soonest expiry first. */
  entries: InventoryEntry[];
  /** Post-quantum key exchange readiness per namespace, of the fully scanned endpoint addresses (absent: none scanned). */
  postQuantum?: NamespacePostQuantum[] | undefined;
}
