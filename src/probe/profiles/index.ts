import { z } from 'zod';
import { PROTOCOL_VERSIONS } from '../protocols.js';
import { MOZILLA_PROFILE_NAMES, mozillaProfile, type MozillaProfileName } from './mozilla.js';
import { profileRulesSchema, type ProfileRules, type TlsProfile } from './schema.js';

export { MOZILLA_GUIDELINES_5_7, MOZILLA_PROFILE_NAMES, mozillaProfile, type MozillaProfileName } from './mozilla.js';
export { profileRulesSchema, type CertificateType, type ProfileRules, type TlsProfile } from './schema.js';

export const PROFILE_NAMES = [...MOZILLA_PROFILE_NAMES, 'custom'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export class ProfileError extends Error {
  override readonly name = 'ProfileError';
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

/** A named profile, with `overrides` (validated like a custom profile) replacing its fields. */
export function resolveProfile(name: ProfileName, options: { custom?: unknown; overrides?: unknown } = {}): TlsProfile {
  const base = name === 'custom' ? customProfile(options.custom ?? {}) : mozillaProfile(name satisfies MozillaProfileName);
  if (options.overrides === undefined) return base;
  const overrides = parseRules(options.overrides, 'the profile overrides');
  return { ...base, source: `${base.source} with overrides`, rules: { ...base.rules, ...overrides } };
}

export const profileNameSchema = z.enum(PROFILE_NAMES);
