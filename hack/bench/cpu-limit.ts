import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// A CPU limit for one bench process, as a pod's resources.limits.cpu is one:
// a cgroup of its own with a CFS quota (cgroup v1's cpu controller, or
// cgroup v2's cpu.max where the cpu controller is there). Processes that
// each have a limit, and whose limits together fit in the machine's cores,
// each get their share as they would on nodes of their own. Needs root.

const PERIOD_US = 100_000;
const V1_ROOT = '/sys/fs/cgroup/cpu';
const V2_ROOTS = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'];

type Hierarchy = { version: 1; root: string } | { version: 2; root: string };

function findHierarchy(): Hierarchy | undefined {
  if (existsSync(join(V1_ROOT, 'cpu.cfs_quota_us'))) return { version: 1, root: V1_ROOT };
  for (const root of V2_ROOTS) {
    try {
      if (readFileSync(join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')) return { version: 2, root };
    } catch {
      // not a cgroup2 mount
    }
  }
  return undefined;
}

export interface CpuLimit {
  /** The cgroup's folder. */
  path: string;
  /** Removes the cgroup once every process in it has exited (waits up to 10 s for them). */
  remove: () => Promise<void>;
}

/**
 * Puts `pid` (all its threads) into a new cgroup limited to `millicores` of
 * CPU time per second. Throws, saying why, where the machine has no CPU
 * controller this process may use.
 */
export async function limitCpu(pid: number, millicores: number, name: string): Promise<CpuLimit> {
  const hierarchy = findHierarchy();
  if (hierarchy === undefined) throw new Error('--cpu-limit needs a cgroup cpu controller (cgroup v1 cpu or cgroup v2 with cpu enabled); this machine has neither');
  const path = join(hierarchy.root, `certkeeper-bench-${process.pid}-${name}`);
  const quota = Math.max(1_000, Math.round((millicores / 1000) * PERIOD_US));
  try {
    await mkdir(path);
    if (hierarchy.version === 1) {
      await writeFile(join(path, 'cpu.cfs_period_us'), String(PERIOD_US));
      await writeFile(join(path, 'cpu.cfs_quota_us'), String(quota));
    } else {
      await writeFile(join(path, 'cpu.max'), `${quota} ${PERIOD_US}`);
    }
    await writeFile(join(path, 'cgroup.procs'), String(pid));
  } catch (error) {
    await rmdir(path).catch(() => undefined);
    throw new Error(`--cpu-limit: could not limit process ${pid} in ${path} (root is needed): ${(error as Error).message}`, { cause: error });
  }
  return {
    path,
    remove: async () => {
      for (let i = 0; i < 100; i++) {
        const procs = readFileSync(join(path, 'cgroup.procs'), 'utf8').trim();
        if (procs === '') break;
        await sleep(100);
      }
      await rmdir(path).catch(() => undefined);
    },
  };
}
