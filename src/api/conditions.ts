// Every condition type and reason certkeeper writes, in one place: reasons are
// an API (alerts and scripts match on them), so they are PascalCase constants,
// never ad-hoc strings.

export const ConditionType = {
  Ready: 'Ready',
  Issuing: 'Issuing',
  EndpointsVerified: 'EndpointsVerified',
  PolicyCompliant: 'PolicyCompliant',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const Reason = {
  // Ready
  Issued: 'Issued',
  DoesNotExist: 'DoesNotExist',
  Expired: 'Expired',
  SecretMismatch: 'SecretMismatch',
  IssuanceFailed: 'IssuanceFailed',
  // Issuing
  NotIssuing: 'NotIssuing',
  MissingData: 'MissingData',
  InvalidData: 'InvalidData',
  IncorrectIssuer: 'IncorrectIssuer',
  KeyMismatch: 'KeyMismatch',
  SpecChanged: 'SpecChanged',
  Renewing: 'Renewing',
  ManuallyTriggered: 'ManuallyTriggered',
  Backoff: 'Backoff',
  // Issuing, while an ACME order is in flight
  AccountNotReady: 'AccountNotReady',
  OrderPending: 'OrderPending',
  SelfCheckPending: 'SelfCheckPending',
  Validating: 'Validating',
  Finalizing: 'Finalizing',
  NoSolver: 'NoSolver',
  // Issuing, with spec.issuers: a CA-side failure moved on to the next issuer, or none can issue now
  IssuerFailover: 'IssuerFailover',
  NoIssuerAvailable: 'NoIssuerAvailable',
  // status.skippedIssuers: why an issuer before the one used was passed over
  IssuerNotEligible: 'IssuerNotEligible',
  IssuerUnavailable: 'IssuerUnavailable',
  // PolicyCompliant / policy resolution
  Compliant: 'Compliant',
  NoPolicy: 'NoPolicy',
  PolicyNotFound: 'PolicyNotFound',
  PolicyHasNoIssuer: 'PolicyHasNoIssuer',
  DomainNotAllowed: 'DomainNotAllowed',
  IPAddressNotAllowed: 'IPAddressNotAllowed',
  URINotAllowed: 'URINotAllowed',
  EmailNotAllowed: 'EmailNotAllowed',
  CommonNameNotAllowed: 'CommonNameNotAllowed',
  SubjectNotAllowed: 'SubjectNotAllowed',
  CANotAllowed: 'CANotAllowed',
  UsageNotAllowed: 'UsageNotAllowed',
  DurationTooLong: 'DurationTooLong',
  KeyAlgorithmNotAllowed: 'KeyAlgorithmNotAllowed',
  KeyTooSmall: 'KeyTooSmall',
  InvalidSpec: 'InvalidSpec',
  SecretInUse: 'SecretInUse',
  SecretNotOwned: 'SecretNotOwned',
  // TLSPolicy Ready
  IssuerReady: 'IssuerReady',
  IssuerNotReady: 'IssuerNotReady',
  /** Ready=True, but some of spec.issuers cannot issue (a fallback will). */
  IssuersDegraded: 'IssuersDegraded',
  CASecretNotFound: 'CASecretNotFound',
  CASecretInvalid: 'CASecretInvalid',
  ValidationOnly: 'ValidationOnly',
  AccountRegistered: 'AccountRegistered',
  AccountRegistrationFailed: 'AccountRegistrationFailed',
  AccountKeyInvalid: 'AccountKeyInvalid',
  ExternalAccountKeyMissing: 'ExternalAccountKeyMissing',
  // EndpointsVerified (live probes of spec.endpoints)
  CurrentCertificateServed: 'CurrentCertificateServed',
  StaleCertificate: 'StaleCertificate',
  EndpointUnreachable: 'EndpointUnreachable',
  NoReadyEndpoints: 'NoReadyEndpoints',
  ServiceNotFound: 'ServiceNotFound',
  Pending: 'Pending',
  // Events only
  EndpointsVerified: 'EndpointsVerified',
  TLSPolicyViolation: 'TLSPolicyViolation',
  IssuedByFallback: 'IssuedByFallback',
  // spec.reload
  WorkloadsRestarted: 'WorkloadsRestarted',
  ReloadVerified: 'ReloadVerified',
  ReloadDidNotFix: 'ReloadDidNotFix',
  ReloadNotPossible: 'ReloadNotPossible',
  ReloadDisabled: 'ReloadDisabled',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];
