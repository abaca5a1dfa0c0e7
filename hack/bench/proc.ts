import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// What Linux says about a process: memory from /proc/<pid>/status, CPU time
// from /proc/<pid>/stat. Reads return undefined once the process is gone.

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`): the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (!Number.isInteger(value) || value <= 0) throw new Error(`getconf CLK_TCK printed ${JSON.stringify(value)}`);
    clockTicks = value;
  }
  return clockTicks;
}

export interface ProcMemory {
  /** Resident set size now, MiB. */
  rssMB: number;
  /** Peak resident set size since the process started (VmHWM), MiB. */
  peakRssMB: number;
  /** Of rssMB: anonymous memory (V8's heap, malloc) and file-backed pages (the node binary's code and data, libraries), MiB. */
  anonMB?: number;
  fileMB?: number;
}

function kilobytesField(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export function readMemory(pid: number): ProcMemory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const rss = kilobytesField(status, 'VmRSS');
  const hwm = kilobytesField(status, 'VmHWM');
  if (rss === undefined || hwm === undefined) return undefined;
  const anon = kilobytesField(status, 'RssAnon');
  const file = kilobytesField(status, 'RssFile');
  return { rssMB: rss / 1024, peakRssMB: hwm / 1024, ...(anon === undefined ? {} : { anonMB: anon / 1024 }), ...(file === undefined ? {} : { fileMB: file / 1024 }) };
}

/** User + system CPU time the process has used so far, in seconds. */
/** A process's CPU time so far, split into its own code (user) and the kernel's work for it (system). */
export interface CpuTimes {
  user: number;
  system: number;
}

export function readCpuTimes(pid: number): CpuTimes | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Field 2 (comm) may hold spaces and parentheses; count from after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15, i.e. 12 and 13 after comm and state.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { user: utime / clockTicksPerSecond(), system: stime / clockTicksPerSecond() };
}

export function readCpuSeconds(pid: number): number | undefined {
  const t = readCpuTimes(pid);
  return t === undefined ? undefined : t.user + t.system;
}

/** The CPU time of a process and all its descendants alive now (nginx: the master and its workers). */
export function readTreeCpuTimes(pid: number): CpuTimes | undefined {
  const own = readCpuTimes(pid);
  if (own === undefined) return undefined;
  let children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      children.push(...readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number));
    }
  } catch {
    children = [];
  }
  for (const child of children) {
    const t = readTreeCpuTimes(child);
    if (t === undefined) continue;
    own.user += t.user;
    own.system += t.system;
  }
  return own;
}

/** Samples a process's RSS at an interval, keeping the highest value seen. */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private peak = 0;
  private last: ProcMemory | undefined;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  sample(): ProcMemory | undefined {
    const memory = readMemory(this.pid);
    if (memory !== undefined) {
      this.last = memory;
      this.peak = Math.max(this.peak, memory.rssMB);
    }
    return memory;
  }

  /** Highest VmRSS sampled so far, MiB. */
  get sampledPeakMB(): number {
    return this.peak;
  }

  get latest(): ProcMemory | undefined {
    return this.last;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** CPU time the whole machine has spent busy (all CPUs, not idle or waiting on I/O), in seconds, from /proc/stat. */
export function readMachineBusySeconds(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (ticks.length < 5 || ticks.some((t) => !Number.isFinite(t))) return undefined;
  const total = ticks.reduce((sum, t) => sum + t, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (total - idle) / clockTicksPerSecond();
}

/**
 * Waits until the machine is quiet: a whole `windowMs` in which all CPUs
 * together were busy less than `maxBusyFraction` of one CPU (after a burst
 * of writes, kube-apiserver and etcd go on compacting and collecting for a
 * while). Gives up after `timeoutMs`. Resolves with the seconds waited and
 * the last window's busy fraction.
 */
export async function waitForQuietMachine(o: { windowMs?: number; maxBusyFraction?: number; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ seconds: number; busy: number; quiet: boolean }> {
  const windowMs = o.windowMs ?? 1_000;
  const maxBusy = o.maxBusyFraction ?? 0.15;
  const started = performance.now();
  let busy = Number.NaN;
  while (performance.now() - started < (o.timeoutMs ?? 60_000)) {
    const before = readMachineBusySeconds();
    const at = performance.now();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    o.signal?.throwIfAborted();
    const after = readMachineBusySeconds();
    if (before === undefined || after === undefined) return { seconds: 0, busy: Number.NaN, quiet: false };
    busy = (after - before) / ((performance.now() - at) / 1000);
    if (busy < maxBusy) return { seconds: (performance.now() - started) / 1000, busy, quiet: true };
  }
  return { seconds: (performance.now() - started) / 1000, busy, quiet: false };
}
