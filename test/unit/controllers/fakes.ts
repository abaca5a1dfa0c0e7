import { pino } from 'pino';
import type { Certificate } from '../../../src/api/certificate.js';
import type { TLSPolicy } from '../../../src/api/tlspolicy.js';
import type { IssueRequest, IssueStep, IssuerDriver, IssuerDrivers, IssuerReadiness } from '../../../src/controllers/drivers/driver.js';
import { issuerRules } from '../../../src/controllers/drivers/rules.js';
import type { ReconcileContext } from '../../../src/kube/controller.js';
import type { ObjectReference } from '../../../src/kube/events.js';
import type { IssuedFacts, TlsSecretState, TlsSecretSummary, ValidSecret } from '../../../src/model/secret.js';
import { SecretAnnotation } from '../../../src/model/secret.js';
import type { Governed, IssuerKind } from '../../../src/model/spec.js';
import { effectiveSpec, issuanceSpecHash } from '../../../src/policy/effective-spec.js';

// Fakes for the controllers' unit tests: a silent logger, an event recorder
// that keeps what it was told, issuer drivers that record their calls and
// answer from a script, and Secret summaries as the informer would hold them.

export const silentLog = pino({ level: 'silent' });

export function reconcileContext(): ReconcileContext {
  return { log: silentLog, reconcileId: 'test', signal: new AbortController().signal };
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  regarding: ObjectReference;
  reason: string;
  note: string;
  action: string | undefined;
}

/** Stands in for EventRecorder's normal/warning: keeps every event, in order. */
export class RecordingEvents {
  readonly recorded: RecordedEvent[] = [];

  normal(regarding: ObjectReference, reason: string, note: string, action?: string): void {
    this.recorded.push({ type: 'Normal', regarding, reason, note, action });
  }

  warning(regarding: ObjectReference, reason: string, note: string, action?: string): void {
    this.recorded.push({ type: 'Warning', regarding, reason, note, action });
  }
}

export type DriverCall =
  | { op: 'readiness'; policy: string }
  | { op: 'advance'; request: IssueRequest }
  | { op: 'keepCurrent'; key: string; governed: Governed }
  | { op: 'settle'; cert: string; governed: Governed | undefined }
  | { op: 'syncFinalizer'; cert: string; policy: string | undefined }
  | { op: 'release'; cert: string; policy: string | undefined }
  | { op: 'forget'; key: string };

/**
 * An issuer driver of one kind whose rules are the real ones and whose
 * actions are recorded and answered from a script: `steps` is consumed by
 * advance() in order.
 */
export class FakeDriver<K extends IssuerKind> implements IssuerDriver {
  readonly calls: DriverCall[] = [];
  readonly steps: IssueStep[] = [];
  readinessAnswer: IssuerReadiness = { ok: true, explanation: { reason: 'IssuerReady', message: 'ready' } };
  keepCurrentMs: number | undefined = undefined;
  releaseNote: string | undefined = undefined;
  readonly finalizer: string | undefined;
  readonly identity: IssuerDriver['identity'];
  readonly checkSpec: IssuerDriver['checkSpec'];
  readonly issuedNames: IssuerDriver['issuedNames'];

  constructor(
    readonly kind: K,
    options: { finalizer?: string } = {},
  ) {
    this.finalizer = options.finalizer;
    const rules = issuerRules[kind];
    this.identity = (policy) => rules.identity(policy);
    this.checkSpec = (input) => rules.checkSpec(input);
    this.issuedNames = (spec) => rules.issuedNames(spec);
  }

  readiness(policy: TLSPolicy): Promise<IssuerReadiness> {
    this.calls.push({ op: 'readiness', policy: policy.metadata.name });
    return Promise.resolve(this.readinessAnswer);
  }

  advance(request: IssueRequest): Promise<IssueStep> {
    this.calls.push({ op: 'advance', request });
    const step = this.steps.shift();
    if (step === undefined) return Promise.reject(new Error(`fake ${this.kind} driver: no step scripted`));
    return Promise.resolve(step);
  }

  keepCurrent(r: { key: string; governed: Governed }): Promise<number | undefined> {
    this.calls.push({ op: 'keepCurrent', key: r.key, governed: r.governed });
    return Promise.resolve(this.keepCurrentMs);
  }

  settle(cert: Certificate, governed: Governed | undefined): Promise<void> {
    this.calls.push({ op: 'settle', cert: cert.metadata.name, governed });
    return Promise.resolve();
  }

  syncFinalizer(cert: Certificate, policy: TLSPolicy | undefined): Promise<void> {
    this.calls.push({ op: 'syncFinalizer', cert: cert.metadata.name, policy: policy?.metadata.name });
    return Promise.resolve();
  }

  release(cert: Certificate, policy: TLSPolicy | undefined): Promise<string | undefined> {
    this.calls.push({ op: 'release', cert: cert.metadata.name, policy: policy?.metadata.name });
    return Promise.resolve(this.releaseNote);
  }

  forget(key: string): void {
    this.calls.push({ op: 'forget', key });
  }

  /** The operations called, in order (for assertions that do not care about arguments). */
  ops(): DriverCall['op'][] {
    return this.calls.map((c) => c.op);
  }
}

export interface FakeDrivers {
  drivers: IssuerDrivers;
  selfSigned: FakeDriver<'selfSigned'>;
  ca: FakeDriver<'ca'>;
  acme: FakeDriver<'acme'>;
  all: FakeDriver<IssuerKind>[];
}

export function fakeDrivers(options: { acmeFinalizer?: string } = {}): FakeDrivers {
  const selfSigned = new FakeDriver('selfSigned');
  const ca = new FakeDriver('ca');
  const acme = new FakeDriver('acme', options.acmeFinalizer === undefined ? {} : { finalizer: options.acmeFinalizer });
  return { drivers: { selfSigned, ca, acme }, selfSigned, ca, acme, all: [selfSigned, ca, acme] };
}

/** What `policy` governs `cert` with: the same Governed decide() computes. */
export function governedBy(cert: Certificate, policy: TLSPolicy, kind: IssuerKind): Governed {
  const spec = effectiveSpec(cert.spec, policy);
  const issuerIdentity = issuerRules[kind].identity(policy);
  return { policy, spec, issuerKind: kind, issuerIdentity, issuerName: kind, issuerListed: false, specHash: issuanceSpecHash(spec, issuerIdentity) };
}

/** Facts of a certificate that matches `governed`'s spec, valid from notBefore for `days`. */
export function factsFor(governed: Governed, notBefore: Date, days: number, over: Partial<IssuedFacts> = {}): IssuedFacts {
  return {
    dnsNames: [...governed.spec.dnsNames],
    ipAddresses: [],
    uris: [],
    emailAddresses: [],
    isCA: false,
    commonName: governed.spec.commonName,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86_400_000),
    serialNumber: '0abc',
    fingerprintSHA256: 'f'.repeat(64),
    keyAlgorithm: governed.spec.key.algorithm,
    keySize: governed.spec.key.size,
    ...over,
  };
}

/** A valid Secret state that is current for `governed` (written for its Certificate, with its spec hash and issuer annotations). */
export function validSecret(governed: Governed, facts: IssuedFacts, annotations: Record<string, string> = {}, certificateName = 'web'): ValidSecret {
  return {
    state: 'valid',
    facts,
    annotations: {
      [SecretAnnotation.certificateName]: certificateName,
      [SecretAnnotation.specHash]: governed.specHash,
      [SecretAnnotation.issuer]: governed.issuerIdentity,
      ...annotations,
    },
  };
}

/** A Secret summary as the Secret informer keeps it. */
export function secretSummary(namespace: string, name: string, state: TlsSecretState, resourceVersion = '1'): TlsSecretSummary {
  const annotations = state.state === 'absent' ? {} : state.annotations;
  return { namespace, name, resourceVersion, annotations, labels: {}, state, certificates: { chainLength: 0, caCertificates: [] }, managedBy: {} };
}
