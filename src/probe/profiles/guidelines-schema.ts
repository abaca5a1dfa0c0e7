import { z } from 'zod';
import type { Guidelines } from './guidelines.js';
import type { SameType } from './rules.js';

// The schema of a guidelines document (guidelines.ts describes it): what a
// new version's data must pass. The built-in versions are held to it by a
// unit test (test/unit/probe/builtin-profiles.test.ts).

const versionName = z.enum(['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3']);

export const guidelinesConfiguration = z
  .object({
    certificate_curves: z.array(z.string()),
    certificate_signatures: z.array(z.string()),
    certificate_types: z.array(z.enum(['ecdsa', 'rsa'])),
    ciphers_iana: z.array(z.string()),
    ciphersuites: z.array(z.string()),
    dh_param_size: z.number().int().nullable(),
    ecdh_param_size: z.number().int(),
    hsts_min_age: z.number().int(),
    maximum_certificate_lifespan: z.number().int(),
    ocsp_staple: z.boolean(),
    rsa_key_size: z.number().int().nullable(),
    server_preferred_order: z.boolean(),
    tls_curves: z.array(z.string()).min(1),
    tls_versions: z.array(versionName).min(1),
  })
  .strict();

export const guidelinesSchema = z.object({
  id: z.string(),
  title: z.string(),
  version: z.string(),
  published: z.string().optional(),
  configurations: z.object({ modern: guidelinesConfiguration, intermediate: guidelinesConfiguration, old: guidelinesConfiguration.optional() }).strict(),
});

/** Fails to compile when the schema and the Guidelines type part ways. */
export const SCHEMA_MATCHES_GUIDELINES: SameType<z.infer<typeof guidelinesSchema>, Guidelines> = true;
