import { z } from 'zod';
import { PROTOCOL_VERSIONS } from '../protocols.js';
import { CONFIGURATION_NAMES, guidelinesProfile, type ConfigurationName, type Guidelines } from './guidelines.js';
import { MOZILLA_GUIDELINES_5_7 } from './mozilla.js';
import { profileRulesSchema, type ProfileRules, type TlsProfile } from './schema.js';
import { TLSREF_GUIDELINES_6_0 } from './tlsref.js';

export { CONFIGURATION_NAMES, guidelinesProfile, guidelinesSchema, type ConfigurationName, type Guidelines } from './guidelines.js';
export { MOZILLA_GUIDELINES_5_7, MOZILLA_PROFILE_NAMES, mozillaProfile, type MozillaProfileName } from './mozilla.js';
export { profileRulesSchema, type CertificateType, type ProfileRules, type TlsProfile } from './schema.js';
export { TLSREF_GUIDELINES_6_0 } from './tlsref.js';

// Profiles are named by configuration (modern, intermediate, old) within a
// guidelines version (TLSRef-6.0, Mozilla-5.7). TLSRef 6.0 is the default;
// `old` exists only in Mozilla 5.7, so asking for `old` without a version
// means 5.7, and asking for it in 6.0 is an error that says so.

export const GUIDELINE_IDS = ['TLSRef-6.0', 'Mozilla-5.7'] as const;
export type GuidelinesId = (typeof GUIDELINE_IDS)[number];
export const DEFAULT_GUIDELINES: GuidelinesId = 'TLSRef-6.0';

export const GUIDELINES: Readonly<Record<GuidelinesId, Guidelines>> = {
  'TLSRef-6.0': TLSREF_GUIDELINES_6_0,
  'Mozilla-5.7': MOZILLA_GUIDELINES_5_7,
};

export const PROFILE_NAMES = [...CONFIGURATION_NAMES, 'custom'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
}

/** The guidelines a configuration is judged by: the one asked for, else the default, else the newest that has it. */
export function effectiveGuidelines(name: ConfigurationName, asked?: GuidelinesId): GuidelinesId {
  if (asked !== undefined) return asked;
  if (GUIDELINES[DEFAULT_GUIDELINES].configurations[name] !== undefined) return DEFAULT_GUIDELINES;
  return GUIDELINE_IDS.find((id) => GUIDELINES[id].configurations[name] !== undefined) ?? DEFAULT_GUIDELINES;
}

/** A configuration of a guidelines version. Throws ProfileError when that version has none by that name. */
export function guidelinesConfigurationProfile(name: ConfigurationName, asked?: GuidelinesId): TlsProfile {
  const id = effectiveGuidelines(name, asked);
  const profile = guidelinesProfile(GUIDELINES[id], name);
  if (profile === undefined) {
    const having = GUIDELINE_IDS.filter((g) => GUIDELINES[g].configurations[name] !== undefined);
    throw new ProfileError(`${GUIDELINES[id].title} has no "${name}" configuration (retired); it exists in ${having.join(', ') || 'no version'}`);
  }
  return profile;
}

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
