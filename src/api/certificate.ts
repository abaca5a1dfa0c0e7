import { z } from 'zod';
import { EXTENDED_KEY_USAGE_NAMES, KEY_USAGE_NAMES } from '../pki/spec.js';
import { API_VERSION, MAX_NAMES, annotationMap, conditionList, dnsLabelName, durationString, labelMap, objectMeta } from './meta.js';

// Field names follow cert-manager's Certificate v1 wherever the meaning is the
// same, so moving over is an apiVersion change plus a policy reference.

// One list of usage names, shared with the PKI layer that turns them into extensions.
export const KEY_USAGES = [...KEY_USAGE_NAMES, ...EXTENDED_KEY_USAGE_NAMES] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export const KEY_ALGORITHMS = ['RSA', 'ECDSA', 'Ed25519'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

const dnsName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
  .meta({ description: 'A lower-case DNS name; a wildcard only as the whole left-most label ("*.example.com").' });

const stringList = (item: z.ZodString, description: string) => z.array(item).max(MAX_NAMES).optional().meta({ description });

export const privateKeySpec = z
  .object({
    algorithm: z.enum(KEY_ALGORITHMS).default('RSA').meta({ description: 'Key algorithm. Default RSA, as in cert-manager.' }),
    size: z
      .int()
      .min(0)
      .max(8192)
      .optional()
      .meta({ description: 'RSA: 2048 (default), 3072, 4096 or 8192 bits. ECDSA: 256 (default), 384 or 521. Ed25519: must be omitted.' }),
    encoding: z.enum(['PKCS1', 'PKCS8']).default('PKCS1').meta({ description: 'PEM encoding of tls.key. Ed25519 keys are always PKCS8.' }),
    rotationPolicy: z
      .enum(['Always', 'Never'])
      .default('Always')
      .meta({ description: 'Always: a new key at every issuance. Never: reuse the key in the Secret while it still matches this spec.' }),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: "self.algorithm != 'RSA' || !has(self.size) || self.size in [2048, 3072, 4096, 8192]",
        message: 'privateKey.size for RSA must be one of 2048, 3072, 4096, 8192',
        fieldPath: '.size',
      },
      {
        rule: "self.algorithm != 'ECDSA' || !has(self.size) || self.size in [256, 384, 521]",
        message: 'privateKey.size for ECDSA must be one of 256, 384, 521',
        fieldPath: '.size',
      },
      {
        rule: "self.algorithm != 'Ed25519' || !has(self.size)",
        message: 'privateKey.size must be omitted for Ed25519',
        fieldPath: '.size',
      },
    ],
  });
export type PrivateKeySpec = z.infer<typeof privateKeySpec>;

export const endpointRef = z.object({
  service: dnsLabelName.meta({ description: 'Service in the Certificate namespace.' }),
  port: z.int().min(1).max(65535),
  serverName: dnsName.optional().meta({ description: 'SNI to send; default: the first dnsName.' }),
});

export const RELOAD_STRATEGIES = ['RolloutRestart'] as const;

/** Opt-in: restart the workloads of pods that still serve an older certificate, once per issued certificate. */
export const reloadSpec = z.object({
  strategy: z
    .enum(RELOAD_STRATEGIES)
    .meta({ description: 'RolloutRestart: restart the Deployment, StatefulSet or DaemonSet owning each stale pod as "kubectl rollout restart" does (PodDisruptionBudgets and rollout settings hold).' }),
  after: durationString('How long an address may serve a stale certificate before its workload is restarted (default 5m).').optional(),
});
export type ReloadSpec = z.infer<typeof reloadSpec>;

export const RELOAD_STATES = ['Restarted', 'Verified', 'StillStale', 'NotRestartable', 'Disabled'] as const;
export type ReloadState = (typeof RELOAD_STATES)[number];

export const reloadStatus = z.object({
  serialNumber: z.string().max(128).meta({ description: 'The certificate the reload was for: at most one restart per issued certificate.' }),
  state: z.enum(RELOAD_STATES),
  time: z.string().max(64).meta({ description: 'When the workloads were restarted (or found not restartable; Disabled: when the operator saw spec.reload while running without --reload-enabled).' }),
  workloads: z.array(z.string().max(320)).max(16).optional().meta({ description: '"Kind/name" of each workload restarted.' }),
  message: z.string().max(2048),
});
export type ReloadStatus = z.infer<typeof reloadStatus>;

export const certificateSpec = z
  .object({
    secretName: dnsLabelName.meta({ description: 'The kubernetes.io/tls Secret that receives tls.crt, tls.key and ca.crt.' }),
    commonName: z.string().min(1).max(64).optional(),
    dnsNames: stringList(dnsName, 'DNS subject alternative names.'),
    ipAddresses: z
      .array(z.string().max(45).meta({ 'x-kubernetes-validations': [{ rule: 'isIP(self)', message: 'must be an IPv4 or IPv6 address' }] }))
      .max(MAX_NAMES)
      .optional()
      .meta({ description: 'IP address subject alternative names.' }),
    uris: stringList(z.string().min(1).max(2048).regex(/^[a-zA-Z][a-zA-Z0-9+.-]*:.+$/), 'URI subject alternative names.'),
    emailAddresses: stringList(z.string().min(3).max(254).regex(/^[^@\s]+@[^@\s]+$/), 'Email subject alternative names.'),
    subject: z
      .object({
        organizations: z.array(z.string().max(64)).max(10).optional(),
        countries: z.array(z.string().max(64)).max(10).optional(),
        organizationalUnits: z.array(z.string().max(64)).max(10).optional(),
        localities: z.array(z.string().max(128)).max(10).optional(),
        provinces: z.array(z.string().max(128)).max(10).optional(),
        streetAddresses: z.array(z.string().max(128)).max(10).optional(),
        postalCodes: z.array(z.string().max(40)).max(10).optional(),
        serialNumber: z.string().max(64).optional(),
      })
      .optional(),
    duration: durationString('Requested lifetime. Default: the policy defaultDuration, else 2160h (90 days).').optional(),
    renewBefore: durationString('Renew this long before notAfter. Default: at 2/3 of the lifetime.').optional(),
    renewBeforePercentage: z
      .int()
      .min(1)
      .max(99)
      .optional()
      .meta({ description: 'Renew when this percentage of the lifetime remains.' }),
    privateKey: privateKeySpec.optional(),
    usages: z.array(z.enum(KEY_USAGES)).max(23).optional().meta({ description: 'Default: digital signature, key encipherment (RSA only), server auth.' }),
    isCA: z.boolean().optional(),
    secretTemplate: z.object({ labels: labelMap.optional(), annotations: annotationMap.optional() }).optional(),
    policyRef: z
      .object({ name: dnsLabelName })
      .optional()
      .meta({
        description:
          'Which of the TLSPolicies that select this namespace to use (never one that does not). Default: the highest-priority TLSPolicy whose namespaceSelector matches this namespace.',
      }),
    endpoints: z.array(endpointRef).max(32).optional().meta({ description: 'Where this certificate must be served; checked live.' }),
    reload: reloadSpec
      .optional()
      .meta({ description: "What to do when pods behind spec.endpoints keep serving an older certificate of this Certificate (default: the TLSPolicy's reload, else nothing)." }),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule:
          'has(self.commonName) || (has(self.dnsNames) && size(self.dnsNames) > 0) || (has(self.ipAddresses) && size(self.ipAddresses) > 0) || (has(self.uris) && size(self.uris) > 0) || (has(self.emailAddresses) && size(self.emailAddresses) > 0)',
        message: 'at least one of commonName, dnsNames, ipAddresses, uris or emailAddresses must be set',
      },
      {
        rule: '!(has(self.renewBefore) && has(self.renewBeforePercentage))',
        message: 'renewBefore and renewBeforePercentage are mutually exclusive: set one',
      },
      {
        rule: '!has(self.renewBefore) || !has(self.duration) || duration(self.renewBefore) < duration(self.duration)',
        message: 'renewBefore must be shorter than duration',
        fieldPath: '.renewBefore',
      },
    ],
  });
export type CertificateSpec = z.infer<typeof certificateSpec>;

export const RENEWAL_BASES = ['Default', 'RenewBefore', 'RenewBeforePercentage', 'PolicyRenewBefore', 'ARI', 'Forced'] as const;
export type RenewalBasis = (typeof RENEWAL_BASES)[number];

export const ACME_ORDER_STATES = ['pending', 'ready', 'processing', 'valid', 'invalid'] as const;
export type AcmeOrderState = (typeof ACME_ORDER_STATES)[number];
export const ACME_CHALLENGE_STATES = ['Pending', 'Presented', 'Accepted', 'Valid', 'Invalid'] as const;
export type AcmeChallengeState = (typeof ACME_CHALLENGE_STATES)[number];
export const ACME_SOLVER_KINDS = ['HTTP01', 'RFC2136'] as const;

const url = z.string().max(2048);

export const acmeChallengeStatus = z.object({
  identifier: z.string().max(255).meta({ description: 'The name being validated; "*.example.com" for a wildcard.' }),
  type: z.enum(['http-01', 'dns-01']),
  authorizationURL: url,
  url,
  token: z.string().max(512),
  solver: z.int().min(0).max(31).meta({ description: 'Index of the solver in the policy that answers this challenge.' }),
  state: z.enum(ACME_CHALLENGE_STATES),
  presentedTime: z.string().max(64).optional(),
  selfCheck: z.string().max(1024).optional().meta({ description: 'Result of the last self-check while it has not passed.' }),
});
export type AcmeChallengeStatus = z.infer<typeof acmeChallengeStatus>;

export const acmeOrderStatus = z.object({
  url,
  state: z.enum(ACME_ORDER_STATES),
  accountURI: url,
  specHash: z.string().max(64).meta({ description: 'The spec the order was made for: a spec change abandons it.' }),
  createdTime: z.string().max(64),
  replaces: z.string().max(512).optional().meta({ description: 'ARI CertID of the certificate this order replaces.' }),
  challenges: z.array(acmeChallengeStatus).max(2 * MAX_NAMES).optional(),
});
export type AcmeOrderStatus = z.infer<typeof acmeOrderStatus>;

export const renewalInfoStatus = z.object({
  serialNumber: z.string().max(128).meta({ description: 'The certificate the window is for.' }),
  windowStart: z.string().max(64),
  windowEnd: z.string().max(64),
  explanationURL: url.optional(),
  fetchedTime: z.string().max(64),
  nextFetchTime: z.string().max(64).meta({ description: "When the window is asked for again (the CA's Retry-After, within limits)." }),
});
export type RenewalInfoStatus = z.infer<typeof renewalInfoStatus>;

export const MAX_ENDPOINT_STATUSES = 50;

export const certificateEndpointStatus = z.object({
  service: z.string().max(253),
  port: z.int().min(1).max(65535),
  address: z.string().max(45),
  serverName: z.string().max(253),
  servedFingerprintSHA256: z.string().max(64).optional(),
  current: z.boolean().meta({ description: 'The address serves this Certificate\'s current certificate (status.fingerprintSHA256).' }),
  error: z.string().max(1024).optional(),
  lastProbeTime: z.string().max(64),
});
export type CertificateEndpointStatus = z.infer<typeof certificateEndpointStatus>;

/** How many issued serial numbers status keeps (a revocation on delete concerns the current one; older ones are history). */
export const MAX_ISSUED_SERIALS = 16;

/** Why an earlier issuer of the policy's spec.issuers did not issue. */
export const skippedIssuer = z.object({
  name: z.string().max(63),
  reason: z.string().max(1024),
  message: z.string().max(1024),
});
export type SkippedIssuer = z.infer<typeof skippedIssuer>;

export const certificateStatus = z.object({
  conditions: conditionList.optional(),
  observedGeneration: z.int().min(0).optional(),
  policy: z.string().max(253).optional().meta({ description: 'The TLSPolicy that governs this Certificate.' }),
  issuer: z.string().max(63).optional().meta({ description: "The issuer (of the policy's spec.issuers; the kind for spec.issuer) that issued the current certificate." }),
  skippedIssuers: z
    .array(skippedIssuer)
    .max(8)
    .optional()
    .meta({ description: 'The issuers before status.issuer in the policy, and why each was not used for the last issuance.' }),
  notBefore: z.string().max(64).optional(),
  notAfter: z.string().max(64).optional(),
  renewalTime: z.string().max(64).optional(),
  renewalBasis: z.enum(RENEWAL_BASES).optional().meta({ description: 'Why renewalTime is what it is.' }),
  revision: z.int().min(0).optional(),
  serialNumber: z.string().max(128).optional(),
  issuedSerialNumbers: z
    .array(z.string().max(128))
    .max(MAX_ISSUED_SERIALS)
    .optional()
    .meta({ description: 'Serial numbers of the certificates certkeeper issued for this Certificate, newest first: only these are ever revoked on delete.' }),
  fingerprintSHA256: z.string().max(64).optional(),
  lastManualRenewalTime: z
    .string()
    .max(64)
    .optional()
    .meta({ description: 'When a certkeeper renew request was last honoured (at most one every 10 minutes).' }),
  failedIssuanceAttempts: z.int().min(0).optional(),
  lastFailureTime: z.string().max(64).optional(),
  lastFailureMessage: z.string().max(4096).optional(),
  nextPrivateKeySecretName: z.string().max(253).optional().meta({ description: 'The Secret holding the private key of the issuance in flight.' }),
  retryAfterTime: z
    .string()
    .max(64)
    .optional()
    .meta({ description: "Earliest time of the next issuance attempt the CA asked for (its Retry-After), when later than the backoff's." }),
  acme: acmeOrderStatus.optional().meta({ description: 'The ACME order in flight: persisted before it is used, so a restart resumes it.' }),
  renewalInfo: renewalInfoStatus.optional().meta({ description: "The CA's suggested renewal window (ACME Renewal Information, RFC 9773) for the current certificate." }),
  endpoints: z
    .array(certificateEndpointStatus)
    .max(MAX_ENDPOINT_STATUSES)
    .optional()
    .meta({ description: 'What each probed backend address of spec.endpoints serves; lagging and failing first.' }),
  reload: reloadStatus.optional().meta({ description: 'The last reload of workloads serving a stale certificate (spec.reload), and whether it fixed them.' }),
});
export type CertificateStatus = z.infer<typeof certificateStatus>;

export const certificate = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Certificate'),
  // Finalizers are read for revokeOnDelete; the rest of ObjectMeta is shared with every kind.
  metadata: objectMeta.extend({ finalizers: z.array(z.string()).optional() }),
  spec: certificateSpec,
  status: certificateStatus.optional(),
});
export type Certificate = z.infer<typeof certificate>;
