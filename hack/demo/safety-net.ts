import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, type ProcessRecord } from '../env/index.js';

// The client side of reaper.ts: a detached process (its own session, so the
// terminal's Ctrl-C does not reach it) that is told what the demo starts and
// cleans up only if the demo dies without tearing down by itself.

export class SafetyNet {
  private constructor(private readonly child: ChildProcess) {}

  static start(): SafetyNet {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'hack', 'demo', 'reaper.ts')], {
      cwd: REPO_ROOT,
      detached: true,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.unref();
    return new SafetyNet(child);
  }

  private send(value: unknown): void {
    this.child.stdin?.write(`${JSON.stringify(value)}\n`);
  }

  watchProcess(record: ProcessRecord): void {
    this.send({ process: record });
  }

  /** A network namespace (and its host veth) to delete if the demo dies before its teardown. */
  watchNetns(name: string, hostInterface: string): void {
    this.send({ netns: { name, hostInterface } });
  }

  watchDir(dir: string): void {
    this.send({ dir });
  }

  /** The demo tore down by itself: the safety net exits without touching anything. */
  async release(): Promise<void> {
    const stdin = this.child.stdin;
    if (stdin === null || stdin.destroyed) return;
    await new Promise<void>((resolve) => {
      stdin.end(`${JSON.stringify({ done: true })}\n`, () => resolve());
    });
  }
}
