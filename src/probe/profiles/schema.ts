import { z } from 'zod';
import { PROTOCOL_VERSIONS } from '../protocols.js';
import { suiteByName } from '../suites.js';
import { CERTIFICATE_TYPES, type ProfileRules, type SameType } from './rules.js';

export type { CertificateType, ProfileRules, TlsProfile } from './rules.js';

// The schema of the profiles users write (custom profiles, overrides): the
// fields of ProfileRules (rules.ts, where each is described), each checked.

const suiteName = z.string().refine((name) => suiteByName(name) !== undefined, { message: 'not a known cipher suite (IANA or OpenSSL name)' });

export const certificateTypeSchema = z.enum(CERTIFICATE_TYPES);

export const profileRulesSchema = z
  .object({
    tlsVersions: z.array(z.enum(PROTOCOL_VERSIONS)).min(1),
    minVersion: z.enum(PROTOCOL_VERSIONS),
    cipherSuites: z.array(suiteName),
    tls13CipherSuites: z.array(suiteName),
    certificateTypes: z.array(certificateTypeSchema).min(1),
    certificateCurves: z.array(z.string()).min(1),
    certificateSignatures: z.array(z.string()).min(1),
    rsaKeySize: z.number().int().positive(),
    dhParamSize: z.number().int().positive(),
    ecdhParamSize: z.number().int().positive(),
    tlsCurves: z.array(z.string()).min(1),
    postQuantumKeyExchange: z.enum(['required', 'recommended']),
    requirePostQuantum: z.boolean(),
    serverPreferredOrder: z.boolean(),
    maximumCertificateLifespanDays: z.number().positive(),
    ocspStapling: z.enum(['required', 'recommended']),
    requireOCSPStapling: z.boolean(),
    hstsMinAgeSeconds: z.number().int().nonnegative(),
    requireForwardSecrecy: z.boolean(),
    requireAEAD: z.boolean(),
    minDaysToExpiry: z.number().nonnegative(),
  })
  .partial()
  .strict();

/** Fails to compile when the schema and ProfileRules part ways. */
export const SCHEMA_MATCHES_RULES: SameType<z.infer<typeof profileRulesSchema>, ProfileRules> = true;
