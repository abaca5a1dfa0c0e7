import type { Certificate } from '../api/certificate.js';
import { postQuantumByNamespace, type ReadinessItem } from '../endpoints/post-quantum.js';
import type { PostQuantumReadiness } from '../probe/findings.js';
import { certificateOf, type ParsedCertificate } from '../model/certificate.js';
import { SecretAnnotation, SecretLabel } from '../model/secret.js';
import type { TlsSecretSummary } from '../model/secret.js';
import type { CertificateFacts } from '../model/certificate-facts.js';
import type { SourceSummary } from './sources/read.js';
import type { ConsumerIndex } from './sources/consumers.js';
import {
  type BundleLocation,
  type CertificateLocation,
  type EndpointLocation,
  type Inventory,
  type InventoryEntry,
  type Location,
  type ManagedBy,
  type OwnerHints,
  type Problem,
  ProblemId,
  type SecretKey,
  type SecretLocation,
  locationName,
} from './model.js';
import { certificateProblems, primaryProblem, secretProblems, unreadableSecretProblem, type ExpiryWindow } from './problems.js';
import { AlertWindowRule, alertWindow, renewalScheduleOf, type AlertWindow } from './alert-window.js';
import type { ExpiryThresholds, ThresholdResolver } from './thresholds.js';

// Pure: caches in, inventory out. Called on demand (see live.ts), so it is
// one pass over the Secret summaries with map lookups, no sorting inside loops.

/** A leaf a probe saw on a live endpoint (from the live-validation work; empty until then). */
export interface ServedCertificate {
  namespace?: string | undefined;
  service?: string | undefined;
  port: number;
  address: string;
  serverName?: string | undefined;
  certificate: CertificateFacts;
  /** Full scans only: post-quantum key exchange readiness of the address. */
  postQuantum?: PostQuantumReadiness | undefined;
}

export interface InventoryInput {
  now: Date;
  secrets: Iterable<TlsSecretSummary>;
  certificates: Iterable<ParsedCertificate>;
  thresholds: ThresholdResolver;
  endpoints?: Iterable<ServedCertificate>;
  /** Webhook/APIService/CRD caBundles, ConfigMap bundles, PEM and keystores in other Secrets (sources/read.ts). */
  sources?: Iterable<SourceSummary>;
  /** Who uses each Secret and ConfigMap; absent: consumers are not shown. */
  consumers?: ConsumerIndex | undefined;
}

/** Labels that say whose a Secret is. */
export const OWNER_LABELS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/component',
  'app',
  'team',
  'owner',
] as const;

/** Who writes the Secret: a certkeeper Certificate first, then other controllers' marks, then its owner. */
export function managedByOf(s: TlsSecretSummary, writers: readonly string[] | undefined): ManagedBy {
  const writer = writers?.[0];
  if (writer !== undefined) return { managed: 'certkeeper', controller: 'certkeeper', resource: `Certificate/${writer}` };
  const named = s.annotations[SecretAnnotation.certificateName];
  if (named !== undefined) return { managed: 'certkeeper', controller: 'certkeeper', resource: `Certificate/${named}` };
  const label = s.labels[SecretLabel.managedBy];
  if (label === 'certkeeper') return { managed: 'certkeeper', controller: 'certkeeper' };
  const a = s.managedBy;
  const cmCertificate = a['cert-manager.io/certificate-name'];
  if (cmCertificate !== undefined) return { managed: 'other', controller: 'cert-manager', resource: `Certificate/${cmCertificate}` };
  const cmIssuer = a['cert-manager.io/issuer-name'];
  if (cmIssuer !== undefined) return { managed: 'other', controller: 'cert-manager', resource: `${a['cert-manager.io/issuer-kind'] ?? 'Issuer'}/${cmIssuer}` };
  const service = a['service.beta.openshift.io/originating-service-name'] ?? a['service.alpha.openshift.io/originating-service-name'];
  if (service !== undefined) return { managed: 'other', controller: 'openshift-service-ca', resource: `Service/${service}` };
  const release = a['meta.helm.sh/release-name'];
  if (release !== undefined) return { managed: 'other', controller: 'helm', resource: `release ${a['meta.helm.sh/release-namespace'] ?? s.namespace}/${release}` };
  if (label !== undefined && label !== '') return { managed: 'other', controller: label };
  if (s.owner !== undefined) return { managed: 'other', controller: s.owner.split('/')[0] ?? s.owner, resource: s.owner };
  return { managed: 'unmanaged' };
}

export function ownerHintsOf(s: TlsSecretSummary): OwnerHints {
  const hints: OwnerHints = {};
  for (const key of OWNER_LABELS) {
    const v = s.labels[key];
    if (v !== undefined) hints[key] = v;
  }
  if (s.owner !== undefined) hints.ownerReference = s.owner;
  const release = s.managedBy['meta.helm.sh/release-name'];
  if (release !== undefined) hints.helmRelease = `${s.managedBy['meta.helm.sh/release-namespace'] ?? s.namespace}/${release}`;
  return hints;
}

const RANK: Record<ManagedBy['managed'], number> = { certkeeper: 2, other: 1, unmanaged: 0 };

const UNMANAGED: ManagedBy = Object.freeze({ managed: 'unmanaged' });

interface Draft {
  id: string;
  certificate: CertificateFacts | undefined;
  error: string | undefined;
  locations: Location[];
  problems: Problem[];
  managedBy: ManagedBy;
  warningMs: number;
  criticalMs: number;
  /** The renewal schedule's window, from the Secret a Certificate writes: it decides over every copy's thresholds. */
  managedWindow?: AlertWindow | undefined;
}

class Builder {
  private readonly drafts = new Map<string, Draft>();
  /** "namespace/secretName" -> names of the Certificates writing it. */
  private readonly writers = new Map<string, string[]>();
  private readonly certificatesByKey = new Map<string, Certificate>();

  constructor(private readonly input: InventoryInput) {
    for (const cached of input.certificates) {
      const c = certificateOf(cached);
      const ns = c.metadata?.namespace ?? 'default';
      const name = c.metadata?.name;
      const secretName = c.spec?.secretName;
      if (name === undefined || secretName === undefined) continue;
      this.certificatesByKey.set(`${ns}/${name}`, c);
      const key = `${ns}/${secretName}`;
      const list = this.writers.get(key);
      if (list === undefined) this.writers.set(key, [name]);
      else list.push(name);
    }
  }

  private writerOf(namespace: string, managedBy: ManagedBy): Certificate | undefined {
    const resource = managedBy.managed === 'certkeeper' ? managedBy.resource : undefined;
    return resource?.startsWith('Certificate/') === true ? this.certificatesByKey.get(`${namespace}/${resource.slice('Certificate/'.length)}`) : undefined;
  }

  private thresholdsFor(namespace: string, certificate: Certificate | undefined): ExpiryThresholds {
    return certificate === undefined ? this.input.thresholds.forNamespace(namespace) : this.input.thresholds.forCertificate(certificate);
  }

  private draft(id: string, certificate: CertificateFacts | undefined, managedBy: ManagedBy): Draft {
    let d = this.drafts.get(id);
    if (d === undefined) {
      d = { id, certificate, error: undefined, locations: [], problems: [], managedBy, warningMs: 0, criticalMs: 0 };
      this.drafts.set(id, d);
    }
    return d;
  }

  private addFound(facts: CertificateFacts, location: Location, thresholds: ExpiryThresholds, managedBy: ManagedBy | undefined): Draft {
    const id = `sha256:${facts.fingerprintSHA256}`;
    const d = this.draft(id, facts, UNMANAGED);
    d.locations.push(location);
    d.warningMs = Math.max(d.warningMs, thresholds.warningMs);
    d.criticalMs = Math.max(d.criticalMs, thresholds.criticalMs);
    // Only a Secret's tls.crt says who manages a certificate: copies in ca.crt and endpoints serving it do not.
    if (managedBy !== undefined && RANK[managedBy.managed] > RANK[d.managedBy.managed]) d.managedBy = managedBy;
    return d;
  }

  addSecret(s: TlsSecretSummary): void {
    const writers = this.writers.get(`${s.namespace}/${s.name}`);
    const managedBy = managedByOf(s, writers);
    const owners = ownerHintsOf(s);
    const writer = this.writerOf(s.namespace, managedBy);
    const thresholds = this.thresholdsFor(s.namespace, writer);
    const consumers = this.input.consumers?.of('Secret', s.namespace, s.name);
    const at = (key: SecretKey): SecretLocation => ({ type: 'secret', namespace: s.namespace, name: s.name, key, managedBy, owners, ...(consumers === undefined ? {} : { consumers }) });
    const leaf = s.certificates.leaf;
    if (leaf === undefined) {
      const location = at('tls.crt');
      const d = this.draft(`secret:${s.namespace}/${s.name}`, undefined, managedBy);
      d.error = s.certificates.leafError ?? 'tls.crt cannot be read';
      d.locations.push(location);
      d.problems.push(unreadableSecretProblem(s, locationName(location)));
      d.warningMs = thresholds.warningMs;
      d.criticalMs = thresholds.criticalMs;
    } else {
      const location = at('tls.crt');
      const d = this.addFound(leaf, location, thresholds, managedBy);
      d.problems.push(...secretProblems(s, locationName(location)));
      const schedule = writer === undefined ? undefined : renewalScheduleOf(writer.status, leaf);
      if (schedule !== undefined) d.managedWindow = alertWindow(thresholds, schedule);
    }
    for (const ca of s.certificates.caCertificates) {
      // The Secret's own certificate repeated in ca.crt (self-signed) is one more location of the same identity.
      this.addFound(ca, at('ca.crt'), thresholds, undefined);
    }
  }

  addEndpoint(e: ServedCertificate): void {
    const location: EndpointLocation = { type: 'endpoint', namespace: e.namespace, service: e.service, port: e.port, address: e.address, serverName: e.serverName };
    const thresholds = e.namespace === undefined ? this.input.thresholds.forPolicy(undefined) : this.input.thresholds.forNamespace(e.namespace);
    this.addFound(e.certificate, location, thresholds, undefined);
  }

  addSource(source: SourceSummary): void {
    const thresholds = source.namespace === undefined ? this.input.thresholds.forPolicy(undefined) : this.input.thresholds.forNamespace(source.namespace);
    const consumers =
      source.namespace === undefined || source.items[0] === undefined ? undefined : this.input.consumers?.of(source.items[0].kind === 'configmap' ? 'ConfigMap' : 'Secret', source.namespace, source.name);
    for (const item of source.items) {
      const base: BundleLocation = {
        type: 'bundle',
        kind: item.kind,
        ...(source.namespace === undefined ? {} : { namespace: source.namespace }),
        name: source.name,
        key: item.key,
        ...(consumers === undefined ? {} : { consumers }),
      };
      // A copy in a bundle or keystore says nothing about who manages the certificate.
      for (const c of item.certificates) this.addFound(c.facts, c.alias === undefined ? base : { ...base, alias: c.alias }, thresholds, undefined);
      if (item.certificates.length > 0 || item.error === undefined) continue;
      const id = `${locationName(base)}`;
      const d = this.draft(`bundle:${id}`, undefined, UNMANAGED);
      d.error = item.error;
      d.locations.push(base);
      d.problems.push({ id: ProblemId.Unparsable, severity: 'warning', message: `${id}: ${item.error}`, location: id });
      d.warningMs = thresholds.warningMs;
      d.criticalMs = thresholds.criticalMs;
    }
  }

  /** Certificates whose Secret holds nothing yet. */
  addUnissued(secretKeys: ReadonlySet<string>): void {
    for (const [key, c] of this.certificatesByKey) {
      const ns = c.metadata.namespace ?? 'default';
      if (secretKeys.has(`${ns}/${c.spec.secretName}`)) continue;
      const location: CertificateLocation = { type: 'certificate', namespace: ns, name: c.metadata.name, secretName: c.spec.secretName };
      const ready = c.status?.conditions?.find((x) => x.type === 'Ready');
      const why = ready === undefined ? 'not reconciled yet' : `${ready.reason}: ${ready.message}`;
      const thresholds = this.input.thresholds.forCertificate(c);
      this.drafts.set(`certificate:${key}`, {
        id: `certificate:${key}`,
        certificate: undefined,
        error: `Secret ${ns}/${c.spec.secretName} does not exist yet`,
        locations: [location],
        problems: [{ id: ProblemId.NotIssued, severity: 'info', message: `Certificate ${key} has no Secret ${c.spec.secretName} yet (${why})`, location: locationName(location) }],
        managedBy: { managed: 'certkeeper', controller: 'certkeeper', resource: `Certificate/${c.metadata.name}` },
        warningMs: thresholds.warningMs,
        criticalMs: thresholds.criticalMs,
      });
    }
  }

  /** The earliest future instant at which a time-based problem of any entry changes. */
  nextChange = Number.POSITIVE_INFINITY;

  private noteTransitions(c: CertificateFacts, { warningMs, criticalMs }: ExpiryWindow): void {
    const now = this.input.now.getTime();
    const end = c.notAfter.getTime();
    for (const t of [c.notBefore.getTime(), end - warningMs, end - criticalMs, end]) if (t > now && t < this.nextChange) this.nextChange = t;
  }

  finish(): InventoryEntry[] {
    const entries: InventoryEntry[] = [];
    for (const d of this.drafts.values()) {
      const window = d.managedWindow ?? { rule: AlertWindowRule.Expiry, warningMs: d.warningMs, criticalMs: d.criticalMs };
      if (d.certificate !== undefined) this.noteTransitions(d.certificate, window);
      const problems = d.certificate === undefined ? d.problems : [...certificateProblems(d.certificate, window, this.input.now), ...d.problems];
      const entry: InventoryEntry = { id: d.id, locations: d.locations, managedBy: d.managedBy, problems, primaryProblem: primaryProblem(problems), thresholds: window };
      if (d.certificate !== undefined) entry.certificate = d.certificate;
      if (d.error !== undefined) entry.error = d.error;
      entries.push(entry);
    }
    return entries.sort(compareEntries);
  }
}

/** Entries without a certificate (errors) first, then soonest expiry, then id: the order on-call reads in. */
export function compareEntries(a: InventoryEntry, b: InventoryEntry): number {
  const ta = a.certificate?.notAfter.getTime() ?? Number.NEGATIVE_INFINITY;
  const tb = b.certificate?.notAfter.getTime() ?? Number.NEGATIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function buildInventory(input: InventoryInput): Inventory {
  const builder = new Builder(input);
  const secretKeys = new Set<string>();
  for (const s of input.secrets) {
    secretKeys.add(`${s.namespace}/${s.name}`);
    builder.addSecret(s);
  }
  const readiness: ReadinessItem[] = [];
  for (const e of input.endpoints ?? []) {
    builder.addEndpoint(e);
    if (e.postQuantum !== undefined && e.namespace !== undefined) readiness.push({ namespace: e.namespace, readiness: e.postQuantum });
  }
  for (const source of input.sources ?? []) builder.addSource(source);
  builder.addUnissued(secretKeys);
  const entries = builder.finish();
  return {
    generatedAt: input.now,
    entries,
    validUntil: Number.isFinite(builder.nextChange) ? new Date(builder.nextChange) : undefined,
    ...(readiness.length === 0 ? {} : { postQuantum: postQuantumByNamespace(readiness) }),
  };
}
