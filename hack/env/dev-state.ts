import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { EnvironmentInfo } from './environment.js';
import type { ProcessRecord } from './processes.js';
import { REPO_ROOT } from './tools.js';

/** Where `hack/dev-env.sh` keeps a detached environment between commands. */
export interface DevPaths {
  root: string;
  /** Shell-sourceable description: `source .dev/env`. */
  envFile: string;
  /** The EnvironmentInfo as JSON, with the pids `down` stops. */
  stateFile: string;
  /** The environment's own directory: PKI, configs, etcd data, logs. */
  clusterDir: string;
  pidsDir: string;
  lockFile: string;
  /** Pids of an `up` still starting (or one that died half-way): what `down` must stop then. */
  startingFile: string;
}

export function devPaths(root = process.env.CERTKEEPER_DEV_DIR ?? join(REPO_ROOT, '.dev')): DevPaths {
  return {
    root,
    envFile: join(root, 'env'),
    stateFile: join(root, 'state.json'),
    clusterDir: join(root, 'cluster'),
    pidsDir: join(root, 'pids'),
    lockFile: join(root, 'dev-env.lock'),
    startingFile: join(root, 'starting.json'),
  };
}

const processRecordSchema = z.object({
  name: z.string(),
  pid: z.number().int().positive(),
  command: z.string(),
  startTicks: z.number().optional(),
  logFile: z.string(),
});

const environmentInfoSchema = z.object({
  dir: z.string(),
  caPath: z.string(),
  kubeconfigPath: z.string().optional(),
  apiserverUrl: z.string().optional(),
  versions: z.object({
    kubeApiserver: z.string().optional(),
    etcd: z.string().optional(),
    pebble: z.string().optional(),
  }),
  acme: z
    .object({
      directoryUrl: z.string(),
      serverCaPath: z.string(),
      issuanceRootPath: z.string(),
      httpChallengePort: z.number().int(),
      tlsAlpnChallengePort: z.number().int(),
      pebbleManagementUrl: z.string(),
      challtestsrvUrl: z.string(),
      dnsServer: z.string(),
    })
    .optional(),
  processes: z.array(processRecordSchema),
});

function withTicks(records: z.infer<typeof processRecordSchema>[]): ProcessRecord[] {
  return records.map((record) => ({ ...record, startTicks: record.startTicks }));
}

/** Records the pids of a start in progress, synchronously, the moment each process runs. */
export function recordStarting(paths: DevPaths, records: readonly ProcessRecord[]): void {
  mkdirSync(paths.pidsDir, { recursive: true });
  for (const record of records) writeFileSync(join(paths.pidsDir, `${record.name}.pid`), `${record.pid}\n`);
  writeFileSync(paths.startingFile, JSON.stringify(records, null, 2) + '\n');
}

/** Pids an unfinished `up` left behind; empty when there are none. */
export function readStarting(paths: DevPaths): ProcessRecord[] {
  try {
    return withTicks(z.array(processRecordSchema).parse(JSON.parse(readFileSync(paths.startingFile, 'utf8'))));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

export async function readDevState(paths: DevPaths): Promise<EnvironmentInfo | undefined> {
  let text: string;
  try {
    text = await readFile(paths.stateFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = environmentInfoSchema.parse(JSON.parse(text));
  return { ...parsed, processes: withTicks(parsed.processes) };
}

export async function writeDevState(paths: DevPaths, info: EnvironmentInfo, envText: string): Promise<void> {
  recordStarting(paths, info.processes);
  await writeFile(paths.stateFile, JSON.stringify(info, null, 2) + '\n');
  await writeFile(paths.envFile, envText);
  await rm(paths.startingFile, { force: true });
}

/** Removes everything `up` wrote, the environment directory included. */
export async function clearDevState(paths: DevPaths): Promise<void> {
  await Promise.all(
    [paths.envFile, paths.stateFile, paths.startingFile, paths.pidsDir, paths.clusterDir].map((path) =>
      rm(path, { recursive: true, force: true }),
    ),
  );
}

function lockHolder(lockFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(lockFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Runs `fn` while holding `.dev/dev-env.lock`, so two `up`/`down` never race. */
export async function withDevLock<T>(paths: DevPaths, fn: () => Promise<T>): Promise<T> {
  await mkdir(paths.root, { recursive: true });
  let fd: number | undefined;
  for (let attempt = 0; fd === undefined; attempt++) {
    try {
      fd = openSync(paths.lockFile, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      const holder = lockHolder(paths.lockFile);
      if (holder !== undefined) throw new Error(`another dev-env command (pid ${holder}) is running`);
      rmSync(paths.lockFile, { force: true });
    }
  }
  writeSync(fd, `${process.pid}\n`);
  closeSync(fd);
  try {
    return await fn();
  } finally {
    rmSync(paths.lockFile, { force: true });
  }
}
