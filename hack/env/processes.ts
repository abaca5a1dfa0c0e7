import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollUntil, PollTimeoutError, type PollContext } from './poll.js';

/** The executable `binary` from $PATH, as an absolute path; throws `missing` (say how to install it) when there is none. */
export function findOnPath(binary: string, missing: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(missing);
}

/** What the environment remembers of a process it started, enough to stop it from another process. */
export interface ProcessRecord {
  name: string;
  pid: number;
  /** Absolute path of the binary: checked against /proc before any signal is sent. */
  command: string;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  startTicks: number | undefined;
  logFile: string;
}

export interface ProcessSpec {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Own session and no ties to this Node process, so it outlives it (dev-env `up`). */
  detached?: boolean;
  /** Called as soon as the process runs, before any readiness wait: lets the owner record its pid. */
  onStart?: (process: ManagedProcess) => void;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const DEFAULT_GRACE_MS = 5_000;

/** The last `lines` lines of a log file, or a note that it cannot be read. */
export function logTail(file: string, lines = 30): string {
  try {
    const text = readFileSync(file, 'utf8').trimEnd();
    return text.split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(no log at ${file}: ${String(error)})`;
  }
}

function procStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after it do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

function procExecutable(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return undefined;
  }
}

/** True while the pid runs (a zombie nobody reaped counts as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return procState(pid) !== 'Z';
}

/**
 * True when `record` still names the very process we started: same pid,
 * same binary, same start time. Anything else is someone else's process.
 */
export function isRecordedProcessRunning(record: ProcessRecord): boolean {
  if (!pidAlive(record.pid)) return false;
  const executable = procExecutable(record.pid);
  if (executable !== undefined && executable !== record.command) return false;
  const ticks = procStartTicks(record.pid);
  if (record.startTicks !== undefined && ticks !== undefined && ticks !== record.startTicks) return false;
  return true;
}

/**
 * Stops a process recorded by an earlier run: SIGTERM, wait, then SIGKILL.
 * Does nothing unless the pid still belongs to the recorded process.
 */
export async function stopRecordedProcess(record: ProcessRecord, graceMs = DEFAULT_GRACE_MS): Promise<void> {
  if (!isRecordedProcessRunning(record)) return;
  process.kill(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(record.pid)) return;
    await sleep(50);
  }
  if (isRecordedProcessRunning(record)) process.kill(record.pid, 'SIGKILL');
  while (pidAlive(record.pid)) await sleep(20);
}

/** A child process of this environment, its output in a log file. */
export class ManagedProcess {
  readonly name: string;
  readonly record: ProcessRecord;
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | undefined;
  private readonly child: ChildProcess;

  private constructor(spec: ProcessSpec, child: ChildProcess, pid: number) {
    this.name = spec.name;
    this.child = child;
    this.record = {
      name: spec.name,
      pid,
      command: spec.command,
      startTicks: procStartTicks(pid),
      logFile: spec.logFile,
    };
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
  }

  /** Starts the binary; throws at once when it is missing or cannot be executed. */
  static start(spec: ProcessSpec): ManagedProcess {
    try {
      accessSync(spec.command, constants.X_OK);
    } catch {
      throw new Error(`${spec.name}: binary ${spec.command} is missing or not executable`);
    }
    const fd = openSync(spec.logFile, 'w', 0o644);
    writeSync(fd, `# ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdio: ['ignore', fd, fd],
        detached: spec.detached === true,
      });
    } finally {
      closeSync(fd);
    }
    // A spawn failure is reported as an event; without a listener it would crash the process.
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    if (spec.detached === true) child.unref();
    const started = new ManagedProcess(spec, child, child.pid);
    spec.onStart?.(started);
    return started;
  }

  get pid(): number {
    return this.record.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Describes how it ended, for error messages; undefined while it runs. */
  describeExit(): string | undefined {
    if (this.exitInfo === undefined) return undefined;
    const { code, signal } = this.exitInfo;
    return signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
  }

  logTail(lines = 30): string {
    return logTail(this.record.logFile, lines);
  }

  /** Immediate SIGKILL, for when this Node process is exiting and cannot wait. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }

  /** SIGTERM, up to `graceMs` to exit, then SIGKILL. Only ever signals its own pid. */
  async stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const outcome = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout' && this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export interface ProcessWait {
  description: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Processes whose early exit ends the wait with their log tail. */
  watch: readonly ManagedProcess[];
  /** Ends the wait early (Ctrl-C during `up`). */
  signal?: AbortSignal;
}

/** Error whose message carries the log tail of the process that failed. */
function failure(process: ManagedProcess, what: string): Error {
  return new Error(`${what}\n--- last lines of ${process.record.logFile} ---\n${process.logTail()}`);
}

/**
 * pollUntil on processes this environment started (a server coming up, the
 * operator getting something done): fails fast when a watched process exits,
 * and on timeout adds the log tail of the last one watched (the one being
 * waited for) to what pollUntil reports.
 */
export async function waitForReady<T>(probe: (context: PollContext) => Promise<T | undefined>, options: ProcessWait): Promise<Exclude<T, undefined>> {
  const { description, signal } = options;
  try {
    return await pollUntil(probe, {
      description,
      timeoutMs: options.timeoutMs,
      intervalMs: options.intervalMs,
      signal,
      giveUpIf: () => {
        const exited = options.watch.find((watched) => !watched.running);
        return exited === undefined ? undefined : failure(exited, `${exited.name} ${exited.describeExit() ?? 'exited'} while waiting for ${description}`);
      },
    });
  } catch (error) {
    if (signal?.aborted === true) throw new Error(`interrupted while waiting for ${description}`, { cause: error });
    const blamed = options.watch[options.watch.length - 1];
    if (error instanceof PollTimeoutError && blamed !== undefined) throw failure(blamed, error.message);
    throw error;
  }
}

/**
 * Runs what must follow a process's start (readiness, version, config
 * files). If any of it fails the process is stopped before the error
 * propagates, so a failed start leaves nothing running.
 */
export async function stopOnFailure<T>(process: ManagedProcess, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    await process.stop();
    throw error;
  }
}

/**
 * Waits until a Prometheus-family server (Prometheus, Alertmanager) answers
 * its `/-/ready` endpoint; stops it if it does not within `timeoutMs`.
 */
export function waitForPrometheusReady(process: ManagedProcess, url: string, name: string, timeoutMs: number): Promise<true> {
  return stopOnFailure(process, () =>
    waitForReady(
      async () => {
        const res = await fetch(`${url}/-/ready`);
        return res.ok ? true : undefined;
      },
      { description: `${name} on ${url} to be ready`, timeoutMs, watch: [process] },
    ),
  );
}
