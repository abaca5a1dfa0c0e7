import { CONFIGURATION_NAMES, guidelinesProfile, type ConfigurationName, type Guidelines } from './guidelines.js';
import { MOZILLA_GUIDELINES_5_7 } from './mozilla.js';
import { ProfileError, type TlsProfile } from './rules.js';
import { TLSREF_GUIDELINES_6_0 } from './tlsref.js';

// Profiles are named by configuration (modern, intermediate, old) within a
// guidelines version (TLSRef-6.0, Mozilla-5.7). TLSRef 6.0 is the default;
// `old` exists only in Mozilla 5.7, so asking for `old` without a version
// means 5.7, and asking for it in 6.0 is an error that says so.
//
// The built-in profiles alone, without the schema library: what `certkeeper
// probe` loads unless it is handed a profile file (index.ts validates those).

export const GUIDELINE_IDS = ['TLSRef-6.0', 'Mozilla-5.7'] as const;
export type GuidelinesId = (typeof GUIDELINE_IDS)[number];
export const DEFAULT_GUIDELINES: GuidelinesId = 'TLSRef-6.0';

export const GUIDELINES: Readonly<Record<GuidelinesId, Guidelines>> = {
  'TLSRef-6.0': TLSREF_GUIDELINES_6_0,
  'Mozilla-5.7': MOZILLA_GUIDELINES_5_7,
};

export const PROFILE_NAMES = [...CONFIGURATION_NAMES, 'custom'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

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
