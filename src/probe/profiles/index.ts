import { z } from 'zod';
import { PROTOCOL_VERSIONS } from '../protocols.js';
import { GUIDELINE_IDS, guidelinesConfigurationProfile, PROFILE_NAMES, type GuidelinesId, type ProfileName } from './named.js';
import { ProfileError, type ProfileRules, type TlsProfile } from './rules.js';
import { profileRulesSchema } from './schema.js';

export { CONFIGURATION_NAMES, guidelinesProfile, type ConfigurationName, type Guidelines } from './guidelines.js';
export { guidelinesSchema } from './guidelines-schema.js';
export { MOZILLA_GUIDELINES_5_7, MOZILLA_PROFILE_NAMES, mozillaProfile, type MozillaProfileName } from './mozilla.js';
export {
  DEFAULT_GUIDELINES,
  effectiveGuidelines,
  GUIDELINE_IDS,
  GUIDELINES,
  guidelinesConfigurationProfile,
  PROFILE_NAMES,
  type GuidelinesId,
  type ProfileName,
} from './named.js';
export { ProfileError, type CertificateType, type ProfileRules, type TlsProfile } from './rules.js';
export { profileRulesSchema } from './schema.js';
export { TLSREF_GUIDELINES_6_0 } from './tlsref.js';

// Every profile, the ones users write included: named.ts has the built-in
// ones without the schema library, this module validates custom profiles and
// overrides (and loads zod).

function parseRules(input: unknown, what: string): ProfileRules {
  const parsed = profileRulesSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ProfileError(`${what} is not a valid profile: ${issues}`);
  }
  const rules = parsed.data;
  // minVersion is shorthand: it becomes the version list (and must agree with an explicit one).
  if (rules.minVersion !== undefined) {
    const fromMin = PROTOCOL_VERSIONS.slice(PROTOCOL_VERSIONS.indexOf(rules.minVersion));
    const versions = rules.tlsVersions ?? fromMin;
    return { ...rules, tlsVersions: versions.filter((v) => fromMin.includes(v)) };
  }
  return rules;
}

/** A profile from explicit fields (the `custom` profile). Throws ProfileError naming each bad field. */
export function customProfile(fields: unknown): TlsProfile {
  return { name: 'custom', source: 'custom', rules: parseRules(fields, 'the custom profile') };
}

/** A named profile (of `guidelines`, see effectiveGuidelines), with `overrides` (validated like a custom profile) replacing its fields. */
export function resolveProfile(name: ProfileName, options: { custom?: unknown; overrides?: unknown; guidelines?: GuidelinesId } = {}): TlsProfile {
  const base = name === 'custom' ? customProfile(options.custom ?? {}) : guidelinesConfigurationProfile(name, options.guidelines);
  if (options.overrides === undefined) return base;
  const overrides = parseRules(options.overrides, 'the profile overrides');
  return { ...base, source: `${base.source} with overrides`, rules: { ...base.rules, ...overrides } };
}

export const profileNameSchema = z.enum(PROFILE_NAMES);
export const guidelinesIdSchema = z.enum(GUIDELINE_IDS);
