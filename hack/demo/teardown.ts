import { detail, formatSeconds, red } from './console.js';

// Everything the demo starts is registered here the moment it exists, and
// stopped in reverse order exactly once: from main's `finally`, also after
// Ctrl-C (or from the signal handler, if a step cannot be interrupted).

interface Resource {
  what: string;
  stop: () => Promise<void>;
  /** A note on how it went, asked once it stopped ("exited with code 0"). */
  outcome?: () => string | undefined;
}

export class Teardown {
  private readonly resources: Resource[] = [];
  private readonly stragglers: Promise<void>[] = [];
  private running: Promise<boolean> | undefined;

  /**
   * Remembers something to stop. If the teardown already began (Ctrl-C while
   * it was starting), it is stopped at once and the caller is told to give up.
   */
  async add(what: string, stop: () => Promise<void>, outcome?: () => string | undefined): Promise<void> {
    if (this.running !== undefined) {
      await stop().catch(() => undefined);
      throw new Error(`interrupted: ${what} was stopped right after it started`);
    }
    this.resources.push({ what, stop, outcome });
  }

  /** Work that was still starting when Ctrl-C came, and stops what it started once it finishes: waited for at the end. */
  straggler(work: Promise<void>): void {
    this.stragglers.push(work.catch(() => undefined));
  }

  /** Stops everything, newest first; true when every stop succeeded. Later calls share the first one's outcome. */
  run(): Promise<boolean> {
    this.running ??= this.stopAll();
    return this.running;
  }

  private async stopAll(): Promise<boolean> {
    let clean = true;
    if (this.resources.length === 0) detail('nothing was started');
    for (const resource of this.resources.reverse()) {
      const startedAt = performance.now();
      try {
        await resource.stop();
        const note = resource.outcome?.();
        detail(`${resource.what}${note === undefined ? '' : `: ${note}`} (${formatSeconds(performance.now() - startedAt)})`);
      } catch (error) {
        clean = false;
        detail(red(`could not finish "${resource.what}": ${error instanceof Error ? error.message : String(error)}`));
      }
    }
    while (this.stragglers.length > 0) await this.stragglers.shift();
    return clean;
  }
}
