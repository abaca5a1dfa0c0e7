// Graceful shutdown: on SIGTERM/SIGINT run the registered steps in order
// (e.g. stop informers → stop controllers → release the lease → close HTTP)
// within a deadline shorter than the pod's termination grace period. A
// second signal means "now": exit at once.

import { constants } from 'node:os';
import type { Clock } from '../clock.js';
import { sleep } from '../clock.js';
import type { Logger } from '../log.js';
import { toError } from './errors.js';

export type ShutdownStep = (signal: AbortSignal) => void | Promise<void>;

/** What we need of `process`: signal subscription (a fake in tests). */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownOptions {
  log: Logger;
  clock: Clock;
  /** All steps together. Default 25 s (under Kubernetes' default 30 s grace period). */
  deadlineMs?: number;
  exit?: (code: number) => void;
  signals?: readonly NodeJS.Signals[];
  source?: SignalSource;
}

export class Shutdown {
  private readonly steps: Array<{ name: string; step: ShutdownStep }> = [];
  private readonly abort = new AbortController();
  private readonly signals: readonly NodeJS.Signals[];
  private readonly source: SignalSource;
  private readonly exit: (code: number) => void;
  private running: Promise<number> | undefined;

  constructor(private readonly opts: ShutdownOptions) {
    this.signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
    this.source = opts.source ?? process;
    this.exit = opts.exit ?? ((code) => process.exit(code));
  }

  /** Aborted as soon as shutdown begins, so loops can stop taking new work. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  isShuttingDown(): boolean {
    return this.running !== undefined;
  }

  /** Adds a step; steps run in the order registered. */
  register(name: string, step: ShutdownStep): void {
    this.steps.push({ name, step });
  }

  install(): void {
    for (const s of this.signals) this.source.on(s, this.onSignal);
  }

  uninstall(): void {
    for (const s of this.signals) this.source.off(s, this.onSignal);
  }

  /** Runs the steps once (later calls share the first run); resolves to the exit code. */
  run(reason: string): Promise<number> {
    this.running ??= this.runSteps(reason);
    return this.running;
  }

  private readonly onSignal = (signal: NodeJS.Signals): void => {
    if (this.running !== undefined) {
      this.opts.log.warn({ signal }, 'second signal: exiting immediately');
      this.exit(128 + (constants.signals[signal] ?? 15));
      return;
    }
    void this.run(signal).then((code) => this.exit(code));
  };

  private async runSteps(reason: string): Promise<number> {
    const deadlineMs = this.opts.deadlineMs ?? 25_000;
    this.opts.log.info({ reason, deadlineMs, steps: this.steps.map((s) => s.name) }, 'shutting down');
    this.abort.abort(new Error(`shutdown: ${reason}`));
    const stepsAbort = new AbortController();
    const timer = new AbortController();
    let failed = false;
    const allSteps = (async () => {
      for (const { name, step } of this.steps) {
        if (stepsAbort.signal.aborted) return;
        try {
          await step(stepsAbort.signal);
          this.opts.log.debug({ step: name }, 'shutdown step done');
        } catch (err) {
          failed = true;
          this.opts.log.error({ err: toError(err), step: name }, 'shutdown step failed; continuing');
        }
      }
    })().then(() => true);
    const deadline = sleep(this.opts.clock, deadlineMs, timer.signal).then(
      () => false,
      () => false,
    );
    const finished = await Promise.race([allSteps, deadline]);
    timer.abort();
    if (!finished) {
      stepsAbort.abort(new Error('shutdown deadline exceeded'));
      this.opts.log.error({ deadlineMs }, 'shutdown deadline exceeded; exiting anyway');
      return 1;
    }
    this.opts.log.info('shutdown complete');
    return failed ? 1 : 0;
  }
}
