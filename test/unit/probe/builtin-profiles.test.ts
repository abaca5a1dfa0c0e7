import { describe, expect, it } from 'vitest';
import { CONFIGURATION_NAMES, guidelinesProfile, GUIDELINE_IDS, GUIDELINES, guidelinesSchema, profileRulesSchema } from '../../../src/probe/profiles/index.js';

// The built-in guidelines are read through their types alone (named.ts loads
// no schema library), so the schemas that once checked them at load check
// them here: a new version's data that the schema refuses fails this test.
describe('the built-in guidelines and their profiles', () => {
  for (const id of GUIDELINE_IDS) {
    it(`${id}: the document passes the guidelines schema unchanged`, () => {
      expect(guidelinesSchema.parse(GUIDELINES[id])).toEqual(GUIDELINES[id]);
    });

    it(`${id}: every configuration it has makes rules the profile schema accepts (known suites, no stray field)`, () => {
      const made = CONFIGURATION_NAMES.flatMap((name) => {
        const profile = guidelinesProfile(GUIDELINES[id], name);
        return profile === undefined ? [] : [profile];
      });
      expect(made.length).toBeGreaterThanOrEqual(2);
      for (const profile of made) expect(profileRulesSchema.parse(profile.rules)).toEqual(profile.rules);
    });
  }

  it('a document the schema refuses is caught here: an unknown suite in the rules', () => {
    const bad = { ...GUIDELINES['TLSRef-6.0'].configurations.modern, ciphersuites: ['TLS_NO_SUCH_SUITE'] };
    const profile = guidelinesProfile({ ...GUIDELINES['TLSRef-6.0'], configurations: { modern: bad, intermediate: bad } }, 'modern');
    expect(profileRulesSchema.safeParse(profile?.rules).success).toBe(false);
  });
});
