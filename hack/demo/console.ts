// How the demo talks to a person: numbered steps, each with its duration,
// details indented under it. Colour only on a terminal, and never with NO_COLOR.

const useColor = process.stdout.isTTY && process.env.NO_COLOR === undefined;

function paint(code: string): (text: string) => string {
  return (text) => (useColor ? `\u001b[${code}m${text}\u001b[0m` : text);
}

export const bold = paint('1');
export const dim = paint('2');
export const green = paint('32');
export const red = paint('31');
export const yellow = paint('33');

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** One indented line under the current step. */
export function detail(text = ''): void {
  for (const line of text.split('\n')) console.log(line === '' ? '' : `    ${line}`);
}

/** `label: value` lines with the values aligned. */
export function facts(entries: readonly (readonly [string, string])[]): void {
  const width = Math.max(...entries.map(([label]) => label.length));
  for (const [label, value] of entries) detail(`${`${label}:`.padEnd(width + 1)} ${value}`);
}

export class Steps {
  private index = 0;

  constructor(private readonly total: number) {}

  /** Runs one numbered step, printing its title first and its duration last. */
  async run<T>(title: string, body: () => Promise<T>): Promise<T> {
    this.index += 1;
    return this.runNamed(`[${this.index}/${this.total}] ${title}`, body);
  }

  /** The last step, whatever step the run got to before it. */
  async final<T>(title: string, body: () => Promise<T>): Promise<T> {
    return this.runNamed(`[${this.total}/${this.total}] ${title}`, body);
  }

  private async runNamed<T>(heading: string, body: () => Promise<T>): Promise<T> {
    console.log(`\n${bold(heading)}`);
    const startedAt = performance.now();
    try {
      const result = await body();
      detail(green(`✔ done in ${formatSeconds(performance.now() - startedAt)}`));
      return result;
    } catch (error) {
      detail(red(`✘ failed after ${formatSeconds(performance.now() - startedAt)}`));
      throw error;
    }
  }
}
