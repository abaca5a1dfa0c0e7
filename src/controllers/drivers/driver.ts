import type { Certificate } from '../../api/certificate.js';
import type { TLSPolicy, TLSPolicyStatus } from '../../api/tlspolicy.js';
import type { Logger } from '../../log.js';
import type { TlsSecretState, ValidSecret } from '../../model/secret.js';
import type { EffectiveSpec, Governed, IssuerKind } from '../../model/spec.js';
import type { Explanation, Violation } from '../../model/violation.js';
import type { IssueResult } from '../certificate/secret-writer.js';

// The contract between the controllers and each kind of issuer. The
// reconcilers hold a Record<IssuerKind, IssuerDriver> and never branch on the
// kind: a new issuer is a new entry, and the Record does not compile without it.
// CA and selfSigned finish an issuance in one step; ACME in many, one per
// reconcile, each resuming from what the Certificate's status recorded.

/** The pure part, usable by decisions: who signs, and what this issuer can never issue. */
export interface IssuerRules {
  /** Names the signer (e.g. "ca:<secret>", "acme:<directory>"): a change of signer is a reason to re-issue. */
  identity(policy: TLSPolicy): string;
  /** A spec this issuer refuses whatever happens (retrying cannot help), or undefined. */
  checkSpec(input: { policy: TLSPolicy; spec: EffectiveSpec }): Violation | undefined;
  /** The names a certificate this issuer signs for `spec` carries: what the Secret is compared with. */
  issuedNames(spec: EffectiveSpec): IssuedNames;
}

export interface IssuedNames {
  /** Undefined when the issuer decides the subject itself (ACME CAs drop or rewrite it): the commonName is then not compared. */
  commonName: { value: string | undefined } | undefined;
  dnsNames: readonly string[];
}

/** Whether a TLSPolicy's issuer can issue now: the TLSPolicy's Ready condition. */
export interface IssuerReadiness {
  ok: boolean;
  explanation: Explanation;
  /** The new status.acme, when this issuer keeps one; absent to leave it as it is. */
  acme?: TLSPolicyStatus['acme'] | undefined;
  /** Look again with a growing delay while not ok (a CA that refuses should see few requests), rather than at the usual interval. */
  backOffWhileNotReady?: boolean;
}

export interface IssueRequest {
  /** "namespace/name" */
  key: string;
  cert: Certificate;
  governed: Governed;
  /** Why issue now (the trigger). */
  trigger: Violation;
  secret: TlsSecretState;
  /** The Secret cache has no such Secret: a one-step issuer may create it without reading first. */
  secretKnownAbsent: boolean;
  now: Date;
  log: Logger;
}

/** Where one step of issuance got to. `cert` is the Certificate as the step left it (its status may have moved). */
export type IssueStep =
  | { kind: 'issued'; result: IssueResult; cert: Certificate }
  /**
   * Not done yet: look again in `ms`. `prerequisite`: it waits for something
   * outside this issuance (the policy's ACME account), which the reconciler
   * shows as Issuing=False with `why`; otherwise the step already wrote its progress.
   */
  | { kind: 'waiting'; ms: number; why: Explanation; prerequisite: boolean }
  /**
   * This attempt failed for a reason the user should see; `retryAfterMs` when the CA asked for a later retry.
   * `side`: whether the CA failed (another issuer may do: unreachable, 5xx, rate limit, account) or the
   * Certificate was refused (the default); `rateLimited` when the CA said so.
   */
  | { kind: 'failed'; message: string; retryAfterMs?: number | undefined; cert: Certificate; side?: 'issuer' | 'certificate' | undefined; rateLimited?: boolean | undefined }
  /** The Certificate was deleted meanwhile. */
  | { kind: 'gone' };

export interface IssuerDriver extends IssuerRules {
  readonly kind: IssuerKind;
  /** `recheck`: ask the CA even if status says all is well (issuances have been failing on the CA's side). */
  readiness(policy: TLSPolicy, options?: { recheck?: boolean }): Promise<IssuerReadiness>;
  /** Issues, or takes the next step of an issuance in flight. Throws only on bugs and transient API failures (retried by the work queue). */
  advance(request: IssueRequest): Promise<IssueStep>;
  /** While the Certificate is current: keeps what this issuer tracks up to date; returns when to look again (ms), if sooner than the renewal. */
  keepCurrent?(request: { key: string; cert: Certificate; governed: Governed; secret: ValidSecret; log: Logger }): Promise<number | undefined>;
  /** Nothing is being issued (current or blocked): takes down what an earlier issuance of this kind left behind. */
  settle?(cert: Certificate, governed: Governed | undefined, log: Logger): Promise<void>;
  /** Keeps this issuer's finalizer on the Certificate in step with the governing policy (undefined: none governs). */
  syncFinalizer?(cert: Certificate, policy: TLSPolicy | undefined): Promise<void>;
  /** This issuer's finalizer, if it keeps one; release() lets the Certificate go (returns a note for the event). */
  readonly finalizer?: string;
  release?(cert: Certificate, policy: TLSPolicy | undefined, log: Logger): Promise<string | undefined>;
  /** The Certificate is gone: drop what is kept in memory for it. */
  forget?(key: string): void;
}

export type IssuerDrivers = Readonly<{ [K in IssuerKind]: IssuerDriver & { readonly kind: K } }>;
