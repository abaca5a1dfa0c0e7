import { mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { run } from './support.js';

// hack/cluster.sh up on a machine that lacks something: one clear message that
// names it, at once, and nothing started. The checks run before the running
// cluster is even looked at, so these leave it alone.

const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/go/bin'];

/** A PATH with every command of this machine except `missing`. */
async function pathWithout(missing: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'certkeeper-path-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const seen = new Set<string>([missing]);
  for (const bin of BIN_DIRS) {
    const entries = await readdir(bin).catch(() => [] as string[]);
    for (const name of entries) {
      if (seen.has(name)) continue;
      seen.add(name);
      await symlink(join(bin, name), join(dir, name));
    }
  }
  return dir;
}

describe('hack/cluster.sh up refuses what cannot work', () => {
  it('names a missing package and where it comes from', async () => {
    const path = await pathWithout('containerd');
    const result = await run('bash', ['hack/cluster.sh', 'up'], { env: { PATH: path } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/missing: containerd .*hack\/install-deps\.sh/);
    expect(result.stderr).not.toContain('starting');
  });

  it('names the missing permission when not run as root', async () => {
    const result = await run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'bash', 'hack/cluster.sh', 'up']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('run as root');
  });
});
