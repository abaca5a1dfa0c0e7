/**
 * The demo's safety net, run as its own detached process (see safety-net.ts).
 *
 * It reads JSON lines on stdin: every process the demo starts and the temp
 * dir it uses, then `done` once the demo has torn down by itself. If stdin
 * closes without `done` — the demo was killed (tsx's CLI SIGKILLs a child that
 * answers Ctrl-C too slowly; `kill -9`; an OOM) — it stops those processes,
 * newest first, then any process whose command line names the demo's own
 * fresh temp dir (the operator while it was still starting, before its pid
 * could be sent), deletes the network namespaces of the endpoint pods, and
 * removes the directory, so nothing outlives the demo.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { IP } from '../env/netns.js';
import { stopRecordedProcess, type ProcessRecord } from '../env/processes.js';

const execFileAsync = promisify(execFile);

const message = z.union([
  z.object({
    process: z.object({
      name: z.string(),
      pid: z.int().positive(),
      command: z.string(),
      startTicks: z.number().optional(),
      logFile: z.string(),
    }),
  }),
  z.object({ dir: z.string().min(1) }),
  z.object({ netns: z.object({ name: z.string().regex(/^ck-\d+-\d+$/), hostInterface: z.string().regex(/^ckh\d+$/) }) }),
  z.object({ done: z.literal(true) }),
]);

const GRACE_MS = 5_000;

/** Pids of processes whose arguments point into `dir` (a directory only this demo run uses). */
async function processesUsing(dir: string): Promise<number[]> {
  const prefix = `${dir}/`;
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const args = await readFile(`/proc/${pid}/cmdline`, 'utf8').then(
      (text) => text.split('\0'),
      () => [],
    );
    if (args.some((arg) => arg.startsWith(prefix) || arg.includes(`=${prefix}`))) pids.push(pid);
  }
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** SIGTERM to what still runs from `dir`, SIGKILL to what is left after the grace period. */
async function stopProcessesUsing(dir: string): Promise<number> {
  const pids = await processesUsing(dir);
  pids.forEach((pid) => signal(pid, 'SIGTERM'));
  const deadline = Date.now() + GRACE_MS;
  let left = pids;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(100);
    const still = new Set(await processesUsing(dir));
    left = left.filter((pid) => still.has(pid));
  }
  left.forEach((pid) => signal(pid, 'SIGKILL'));
  return pids.length;
}

async function main(): Promise<void> {
  const processes: ProcessRecord[] = [];
  const dirs: string[] = [];
  const networks: { name: string; hostInterface: string }[] = [];
  for await (const line of createInterface({ input: process.stdin })) {
    let parsed: z.infer<typeof message>;
    try {
      parsed = message.parse(JSON.parse(line));
    } catch {
      continue;
    }
    if ('done' in parsed) process.exit(0);
    if ('dir' in parsed) dirs.push(parsed.dir);
    else if ('netns' in parsed) networks.push(parsed.netns);
    else processes.push({ ...parsed.process, startTicks: parsed.process.startTicks });
  }
  // stdin closed without `done`: the demo died before its own teardown.
  let stopped = processes.length;
  for (const record of processes.reverse()) await stopRecordedProcess(record).catch(() => undefined);
  for (const dir of dirs) stopped += await stopProcessesUsing(dir).catch(() => 0);
  // Servers inside are stopped by now: the namespace goes, and deleting it removes the veth pair with it.
  for (const network of networks) {
    await execFileAsync(IP, ['netns', 'del', network.name]).catch(() => undefined);
    await execFileAsync(IP, ['link', 'del', network.hostInterface]).catch(() => undefined);
  }
  for (const dir of dirs) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  try {
    process.stderr.write(`[certkeeper demo] the demo ended abruptly: its safety net stopped what it had started (${stopped} processes)${networks.length > 0 ? `, deleted network namespace ${networks.map((n) => n.name).join(', ')}` : ''} and removed ${dirs.join(', ') || 'no directory'}\n`);
  } catch {
    // no terminal left to tell
  }
  process.exit(0);
}

void main();
