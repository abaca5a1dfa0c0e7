import { readFileSync } from 'node:fs';

/**
 * certkeeper's version, from package.json one level above this module: above
 * src/ when run from the sources, above dist/ in the build, where every file
 * of the bundle (entry and chunks alike) sits directly in dist/. Read only
 * here, so that depth holds for the one module that asks.
 */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
