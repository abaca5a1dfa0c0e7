import { z } from 'zod';
import { suiteByName } from '../probe/suites.js';
import { GO_DURATION_PATTERN } from './duration.js';
import { KEY_ALGORITHMS, KEY_USAGES, reloadSpec } from './certificate.js';
import { API_VERSION, conditionList, dnsLabelName, durationString, labelMap, labelSelector, objectMeta, secretKeySelector } from './meta.js';

// A TLSPolicy is the platform team's object: which CA issues for which
// namespaces, what certificates may look like, and when to alert.

const acmeSolver = z.object({
  selector: z
    .object({
      dnsNames: z.array(z.string().max(253)).max(100).optional(),
      dnsZones: z.array(z.string().max(253)).max(100).optional(),
    })
    .optional(),
  http01: z
    .object({
      ingress: z.object({ class: z.string().max(253).optional(), ingressClassName: z.string().max(253).optional() }).optional(),
      gatewayHTTPRoute: z
        .object({
          parentRefs: z
            .array(z.object({ name: z.string().max(253), namespace: z.string().max(63).optional(), sectionName: z.string().max(253).optional() }))
            .max(16),
        })
        .optional(),
    })
    .optional(),
  dns01: z
    .object({
      rfc2136: z.object({
        nameserver: z.string().max(253).meta({ description: 'host:port of the authoritative nameserver that accepts updates.' }),
        tsigKeyName: z.string().max(253).optional(),
        tsigAlgorithm: z.enum(['HMACMD5', 'HMACSHA1', 'HMACSHA224', 'HMACSHA256', 'HMACSHA384', 'HMACSHA512']).optional(),
        tsigSecretSecretRef: secretKeySelector.optional(),
      }),
    })
    .optional(),
});

export const acmeIssuer = z.object({
  server: z.string().max(2048).regex(/^https:\/\//).meta({ description: 'ACME directory URL.' }),
  email: z.string().max(254).optional(),
  privateKeySecretRef: secretKeySelector.meta({ description: 'Account key; generated and stored here when absent.' }),
  externalAccountBinding: z
    .object({
      keyID: z.string().max(1024),
      keySecretRef: secretKeySelector,
      keyAlgorithm: z.enum(['HS256', 'HS384', 'HS512']).optional(),
    })
    .optional(),
  profile: z.string().max(128).optional(),
  preferredChain: z.string().max(512).optional(),
  solvers: z.array(acmeSolver).max(32).optional(),
  revokeOnDelete: z
    .boolean()
    .optional()
    .meta({ description: 'Revoke the certificate at the CA (and delete its Secret) when its Certificate is deleted. Default false: the Secret is kept.' }),
});
export type AcmeIssuerSpec = z.infer<typeof acmeIssuer>;
export type AcmeSolverSpec = z.infer<typeof acmeSolver>;

const issuerKinds = {
  acme: acmeIssuer.optional(),
  ca: z
    .object({ secretName: dnsLabelName.meta({ description: "Secret with tls.crt and tls.key of the CA, in the operator's namespace." }) })
    .optional(),
  selfSigned: z.object({}).optional(),
};
const exactlyOneKind = '(has(self.acme) ? 1 : 0) + (has(self.ca) ? 1 : 0) + (has(self.selfSigned) ? 1 : 0) == 1';

export const issuerSpec = z.object(issuerKinds).meta({
  'x-kubernetes-validations': [
    {
      rule: exactlyOneKind,
      message: 'issuer must set exactly one of acme, ca, selfSigned (omit issuer entirely for a policy that only validates endpoints)',
    },
  ],
});
export type IssuerSpec = z.infer<typeof issuerSpec>;

/** How many issuers a policy may list: a few CAs in order, not a pool. */
export const MAX_ISSUERS = 8;

/** One entry of spec.issuers: an issuer as in spec.issuer, with a name status and events refer to. */
export const namedIssuerSpec = z
  .object({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .meta({ description: 'Names this issuer in status, events, metrics and alerts (a DNS label).' }),
    ...issuerKinds,
  })
  .meta({ 'x-kubernetes-validations': [{ rule: exactlyOneKind, message: 'each issuer must set exactly one of acme, ca, selfSigned' }] });
export type NamedIssuerSpec = z.infer<typeof namedIssuerSpec>;

export const failoverSpec = z.object({
  rateLimitBudget: durationString(
    "A CA's rate limit (HTTP 429) whose Retry-After is at most this long is waited for on the same issuer; a longer one fails over. Default 10m.",
  ).optional(),
});
export type FailoverSpec = z.infer<typeof failoverSpec>;

export const certificateGuardrails = z
  .object({
    allowedDomains: z
      .array(z.string().min(1).max(253))
      .max(100)
      .optional()
      .meta({ description: 'Globs a DNS name must match: "*" one label, "**" any number of labels ("**.team.example.com").' }),
    maxDuration: durationString('Longest lifetime a Certificate may request.').optional(),
    defaultDuration: durationString('Lifetime of Certificates that set no duration.').optional(),
    renewBefore: durationString('Default renewBefore for Certificates that set neither renewBefore nor renewBeforePercentage.').optional(),
    allowedKeyAlgorithms: z.array(z.enum(KEY_ALGORITHMS)).max(3).optional(),
    minRSASize: z.int().min(1024).max(8192).optional(),
    // Every other identity a certificate can carry. Once a policy restricts
    // names (any of allowedDomains, allowedIPRanges, allowedURIs,
    // allowedEmailDomains is set), each kind it does not list is denied: a
    // policy that restricts DNS names cannot be bypassed with an IP, a URI or
    // a mailbox. docs: README "Guardrails".
    allowCA: z
      .boolean()
      .optional()
      .meta({
        description:
          'May a Certificate be a CA (isCA: true)? Default false. An allowed CA is issued with pathLen 0 and name constraints permitting only what this policy allows.',
      }),
    allowedIPRanges: z
      .array(z.string().max(49).meta({ 'x-kubernetes-validations': [{ rule: 'isCIDR(self)', message: 'must be a CIDR, e.g. 10.0.0.0/8 or fd00::/8' }] }))
      .max(100)
      .optional()
      .meta({ description: 'CIDRs every ipAddresses entry must fall in.' }),
    allowedURIs: z
      .array(z.string().min(1).max(2048))
      .max(100)
      .optional()
      .meta({ description: 'Patterns every uris entry must match: "*" any run of characters but "/", "**" any run ("spiffe://cluster.local/ns/team-a/**").' }),
    allowedEmailDomains: z
      .array(z.string().min(1).max(253))
      .max(100)
      .optional()
      .meta({ description: 'Domain globs (as allowedDomains) the domain of every emailAddresses entry must match.' }),
    allowedUsages: z
      .array(z.enum(KEY_USAGES))
      .max(KEY_USAGES.length)
      .optional()
      .meta({
        description:
          'Key usages a Certificate may ask for. Default: digital signature, key encipherment, key agreement, signing, server auth, client auth (plus cert sign and crl sign when allowCA).',
      }),
    allowSubject: z
      .boolean()
      .optional()
      .meta({ description: 'May a Certificate set subject fields (organizations, countries, ...) once this policy restricts names? Default false.' }),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '!has(self.maxDuration) || !has(self.defaultDuration) || duration(self.defaultDuration) <= duration(self.maxDuration)',
        message: 'defaultDuration must not exceed maxDuration',
        fieldPath: '.defaultDuration',
      },
    ],
  });
export type CertificateGuardrails = z.infer<typeof certificateGuardrails>;

export const MANAGED_CERTIFICATE_ALERT_RULES = ['RenewalOverdue', 'ExpiryThresholds'] as const;
export type ManagedCertificateAlertRule = (typeof MANAGED_CERTIFICATE_ALERT_RULES)[number];

export const alertsSpec = z.object({
  expiryWarning: durationString(
    'Warn this long before notAfter (default 504h = 21 days): for certificates no Certificate renews, and for managed ones when managedCertificates is ExpiryThresholds.',
  ).optional(),
  expiryCritical: durationString('Page this long before notAfter (default 168h = 7 days); applies where expiryWarning does.').optional(),
  managedCertificates: z.enum(MANAGED_CERTIFICATE_ALERT_RULES).optional().meta({
    description:
      'How certificates that certkeeper renews are judged. RenewalOverdue (default): only a renewal that is late alerts, a warning once the renewal time has passed by renewalGracePercentage of the lifetime, critical once two thirds of the time between renewal and expiry are gone; a short-lived certificate renewed on schedule never alerts. ExpiryThresholds: expiryWarning and expiryCritical, as for unmanaged certificates.',
  }),
  renewalGracePercentage: z.int().min(1).max(50).optional().meta({
    description:
      'RenewalOverdue: how long after its renewal time a certificate counts as overdue, as a percentage of its lifetime (default 10: 9 days for 90 days, 14h 24m for 6 days), at most a third of the time between renewal and expiry.',
  }),
  labels: labelMap.optional(),
});

/** An IANA service name, as Kubernetes validates port names: lower-case letters, digits and inner hyphens, at most 15 characters, a letter somewhere, no "--". */
export const IANA_PORT_NAME_PATTERN = '^[a-z0-9]([a-z0-9-]*[a-z0-9])?$';

/** A Service port by number or by name (int-or-string, like a Service's targetPort). The CRD checks range, length and characters; the operator also the letter and "--" rules. */
export const servicePortRef = z
  .union([
    z.int().min(1).max(65535),
    z
      .string()
      .min(1)
      .max(15)
      .regex(new RegExp(IANA_PORT_NAME_PATTERN))
      .refine((name) => /[a-z]/.test(name) && !name.includes('--'), { message: 'must be an IANA port name: a letter somewhere and no "--"' }),
  ])
  .meta({ description: 'A Service port number (1-65535) or port name.', 'x-kubernetes-int-or-string': true });
export type ServicePortRef = z.infer<typeof servicePortRef>;

/** Re-probe interval of a policy's endpoints: a Go duration of at least one minute, so a policy cannot turn the prober into a load generator. */
const probeInterval = z
  .string()
  .max(32)
  .regex(new RegExp(GO_DURATION_PATTERN))
  .default('1h')
  .meta({
    description: 'How often each endpoint is probed again (up to +10 % jitter). Default 1h, at least 1m.',
    'x-kubernetes-validations': [
      { rule: `!self.matches('${GO_DURATION_PATTERN.replaceAll('\\.', '[.]')}') || duration(self) >= duration("1m")`, message: 'must be a duration of at least 1m, such as "1h" or "15m"' },
    ],
  });

export const ENDPOINT_PROFILES = ['modern', 'intermediate', 'old'] as const;
/** Versions of the server-side TLS guidelines a policy can judge by (src/probe/profiles); TLSRef 6.0 has no `old`. */
export const ENDPOINT_GUIDELINES = ['TLSRef-6.0', 'Mozilla-5.7'] as const;
export const ENDPOINT_MIN_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;

export const endpointOverrides = z.object({
  minVersion: z.enum(ENDPOINT_MIN_VERSIONS).optional().meta({ description: 'Oldest protocol version allowed.' }),
  cipherSuites: z
    .array(z.string().max(64).refine((name) => suiteByName(name) !== undefined, { message: 'not a known cipher suite (IANA or OpenSSL name)' }))
    .max(64)
    .optional()
    .meta({ description: 'TLS 1.2 (and older) cipher suites allowed, IANA names.' }),
  requireForwardSecrecy: z.boolean().optional(),
  requireOCSPStapling: z.boolean().optional(),
  requirePostQuantum: z
    .boolean()
    .optional()
    .meta({ description: "A browser's offer (X25519MLKEM768 and X25519) must get a post-quantum group; without it, TLSRef 6.0 only advises." }),
  minDaysToExpiry: z.int().min(0).max(3650).optional().meta({ description: 'The served leaf must have at least this many days left.' }),
});
export type EndpointOverrides = z.infer<typeof endpointOverrides>;

export const policyEndpointsSpec = z
  .object({
    serviceSelector: labelSelector.meta({ description: 'Services to probe, in the namespaces this policy governs (namespaceSelector).' }),
    ports: z.array(servicePortRef).max(32).optional().meta({ description: 'Service ports by number or name. Default: every TCP port of the Service.' }),
    interval: probeInterval,
    profile: z.enum(ENDPOINT_PROFILES).default('intermediate').meta({ description: 'Server-side TLS configuration to judge by (TLSRef / Mozilla). Default intermediate.' }),
    guidelines: z
      .enum(ENDPOINT_GUIDELINES)
      .optional()
      .meta({
        description:
          'Version of the guidelines the profile comes from. Default TLSRef-6.0 (post-quantum X25519MLKEM768 first, no DHE); Mozilla-5.7 keeps the 2023 verdicts. `old` exists only in Mozilla-5.7 and is judged by it when this is unset.',
      }),
    overrides: endpointOverrides.optional().meta({ description: 'Fields that tighten or relax the profile.' }),
  })
  .refine((spec) => !(spec.profile === 'old' && spec.guidelines === 'TLSRef-6.0'), { message: 'TLSRef-6.0 has no "old" profile: use guidelines Mozilla-5.7 (or leave it unset)', path: ['guidelines'] })
  .meta({
    'x-kubernetes-validations': [{ rule: "!(has(self.guidelines) && self.guidelines == 'TLSRef-6.0' && has(self.profile) && self.profile == 'old')", message: 'TLSRef-6.0 has no "old" profile: use guidelines Mozilla-5.7 (or leave it unset)' }],
  });
export type PolicyEndpointsSpec = z.infer<typeof policyEndpointsSpec>;

export const tlsPolicySpec = z
  .object({
  namespaceSelector: labelSelector
    .optional()
    .meta({ description: 'Namespaces this policy governs, and the only ones whose Certificates may use it (policyRef chooses among them). Omitted: none. {}: all.' }),
  priority: z.int().min(-1000).max(1000).default(0).meta({ description: 'When several policies select a namespace, the highest priority wins (ties: name order).' }),
  issuer: issuerSpec.optional(),
  issuers: z
    .array(namedIssuerSpec)
    .min(1)
    .max(MAX_ISSUERS)
    .optional()
    .meta({
      description:
        'Issuers in order of preference (instead of issuer): the first one that can issue is used; a CA-side failure (unreachable, 5xx, a rate limit past failover.rateLimitBudget, a refused account) fails over to the next, a refusal caused by the Certificate does not. An issuer that can never issue a Certificate (e.g. ACME without a solver for one of its names) is skipped for it.',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    }),
  failover: failoverSpec.optional().meta({ description: 'How spec.issuers fail over.' }),
  reload: reloadSpec.optional().meta({ description: 'The default spec.reload of the Certificates this policy governs.' }),
  certificates: certificateGuardrails.optional(),
  alerts: alertsSpec.optional(),
  endpoints: policyEndpointsSpec.optional().meta({ description: 'Live validation: every ready backend of the selected Services is probed and judged against a TLS profile.' }),
  trustUnmanagedEndpointSlices: z
    .boolean()
    .optional()
    .meta({
      description:
        'Probe addresses of EndpointSlices written by hand (not by the EndpointSlice controller, not a Pod of the namespace) in the namespaces this policy governs, for Certificate endpoints and for this policy. Default false: whoever may write EndpointSlices could point the operator at any address.',
    }),
  })
  .meta({
    'x-kubernetes-validations': [{ rule: '!(has(self.issuer) && has(self.issuers))', message: 'set issuer or issuers, not both' }],
  });
export type TLSPolicySpec = z.infer<typeof tlsPolicySpec>;

export const MAX_WORST_ENDPOINTS = 20;
export const MAX_ENDPOINT_VIOLATIONS = 5;

export const policyEndpointFinding = z.object({
  namespace: z.string().max(63),
  service: z.string().max(253),
  port: z.int().min(1).max(65535),
  address: z.string().max(45),
  grade: z.string().max(2).meta({ description: 'A+ ... F (an unreachable endpoint gets F).' }),
  violations: z.array(z.string().max(512)).max(MAX_ENDPOINT_VIOLATIONS).meta({ description: '"id: message", at most five.' }),
  error: z.string().max(1024).optional(),
});
export type PolicyEndpointFinding = z.infer<typeof policyEndpointFinding>;

export const MAX_POST_QUANTUM_NAMESPACES = 100;

export const namespacePostQuantum = z.object({
  namespace: z.string().max(63),
  ready: z.int().min(0).meta({ description: "Addresses where a browser's offer (X25519MLKEM768 and X25519) gets a post-quantum group." }),
  partial: z.int().min(0).meta({ description: 'Addresses that accept a post-quantum group but give a browser a classical one.' }),
  classical: z.int().min(0).meta({ description: 'Addresses without post-quantum key exchange (or without TLS 1.3).' }),
  unknown: z.int().min(0).meta({ description: 'Addresses whose probes could not tell, or that were not reached.' }),
});
export type NamespacePostQuantum = z.infer<typeof namespacePostQuantum>;

export const policyEndpointsStatus = z.object({
  total: z.int().min(0).meta({ description: 'Backend addresses selected (each Service port of each ready address).' }),
  compliant: z.int().min(0),
  violating: z.int().min(0),
  unreachable: z.int().min(0),
  lastProbeTime: z.string().max(64).optional(),
  worst: z.array(policyEndpointFinding).max(MAX_WORST_ENDPOINTS).meta({ description: 'The worst endpoints first (lowest grade, then most violations).' }),
  postQuantum: z
    .array(namespacePostQuantum)
    .max(MAX_POST_QUANTUM_NAMESPACES)
    .optional()
    .meta({ description: `Post-quantum key exchange readiness per namespace, by address; at most ${MAX_POST_QUANTUM_NAMESPACES} namespaces, the least ready first.` }),
});
export type PolicyEndpointsStatus = z.infer<typeof policyEndpointsStatus>;

export const acmeAccountStatus = z.object({
  accountURI: z.string().max(2048).optional(),
  server: z.string().max(2048).optional().meta({ description: 'The directory the account is registered with.' }),
  email: z.string().max(254).optional(),
  accountKeyThumbprint: z.string().max(64).optional().meta({ description: 'RFC 7638 thumbprint of the account key (public).' }),
  eabKeyID: z.string().max(1024).optional(),
});

export const issuerHealthStatus = z.object({
  failures: z.int().min(0).meta({ description: 'Consecutive CA-side failures.' }),
  unavailableUntil: z.string().max(64).optional().meta({ description: 'Certificates skip this issuer until then (the CA is not asked meanwhile).' }),
  lastFailureTime: z.string().max(64).optional(),
  lastFailureMessage: z.string().max(1024).optional(),
});
export type IssuerHealthStatus = z.infer<typeof issuerHealthStatus>;

export const issuerStatus = z.object({
  name: z.string().max(63),
  kind: z.enum(['acme', 'ca', 'selfSigned']),
  ready: z.boolean(),
  reason: z.string().max(1024),
  message: z.string().max(4096),
  acme: acmeAccountStatus.optional(),
  health: issuerHealthStatus.optional().meta({ description: 'Present while the issuer is failing (CA-side failures seen by issuances).' }),
});
export type IssuerStatus = z.infer<typeof issuerStatus>;

export const tlsPolicyStatus = z.object({
  conditions: conditionList.optional(),
  observedGeneration: z.int().min(0).optional(),
  issuerKind: z.enum(['acme', 'ca', 'selfSigned', 'none']).optional(),
  acme: acmeAccountStatus.optional(),
  issuers: z
    .array(issuerStatus)
    .max(MAX_ISSUERS)
    .optional()
    .meta({ description: 'Each of spec.issuers, in order: ready or not, its ACME account, its health.', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
  certificates: z.int().min(0).optional().meta({ description: 'Certificates governed by this policy.' }),
  endpoints: policyEndpointsStatus.optional().meta({ description: 'What the last probes of the selected endpoints found.' }),
});
export type TLSPolicyStatus = z.infer<typeof tlsPolicyStatus>;

export const tlsPolicy = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('TLSPolicy'),
  metadata: objectMeta,
  spec: tlsPolicySpec,
  status: tlsPolicyStatus.optional(),
});
export type TLSPolicy = z.infer<typeof tlsPolicy>;
