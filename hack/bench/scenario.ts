// `npm run bench -- --scenario NAME [flags]`: which scenario runs, and its own flags.

/** The arguments without `--scenario <name>` when that scenario is asked for, else undefined. */
export function scenarioArgs(argv: readonly string[], name: string): string[] | undefined {
  const i = argv.findIndex((a) => a === '--scenario' || a.startsWith('--scenario='));
  if (i < 0) return undefined;
  const inline = argv[i]?.includes('=') === true;
  const value = inline ? argv[i]?.slice('--scenario='.length) : argv[i + 1];
  if (value !== name) return undefined;
  return argv.filter((_, j) => j !== i && !(j === i + 1 && !inline));
}
