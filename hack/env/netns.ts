import { execFile, execFileSync, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { promisify } from 'node:util';
import { pidAlive } from './processes.js';

// Test hosts that can stand behind a Service. kube-apiserver refuses loopback
// addresses in EndpointSlices, so the servers of the endpoint tests, the demo
// and the bench run in a network namespace of their own, reached from the root
// namespace through a veth pair: host side 10.250.<k>.1, namespace side
// 10.250.<k>.2 and up (several addresses = several "pods"). The addresses
// exist only on this machine, and a blackhole route for 10.250.0.0/16 keeps
// any address of a network already gone from leaving it.
//
// Parallel users (test files, the bench, another checkout) never collide: a
// block is claimed by creating its host veth, named after the block, and the
// kernel refuses a second interface of that name; on EEXIST the next block is
// tried. Namespaces are named ck-<k>-<pid>, so one left behind by a process
// that died is recognised and removed by the next user.

export const IP = '/usr/sbin/ip';
/** Every test network lives in here. */
export const TEST_RANGE = '10.250.0.0/16';
const execFileAsync = promisify(execFile);

/** /24 blocks 10.250.1-127.0/24 for small networks; /22 blocks 10.250.128-252.0/22 for big ones (up to 1,021 addresses). */
const SMALL_BLOCKS = { first: 1, last: 127, prefix: 24, maxAddresses: 253 } as const;
const LARGE_BLOCKS = { first: 128, last: 252, prefix: 22, maxAddresses: 1021 } as const;
const BLOCK_STRIDE = { 24: 1, 22: 4 } as const;

export interface TestNetworkOptions {
  /** Namespace-side addresses to create: 10.250.<k>.2 and up. At most 1,021. */
  addresses: number;
  /** Shown in error messages only. */
  label?: string;
}

export interface TestNetwork {
  /** The network namespace (`ip netns exec <name> ...`). */
  name: string;
  /** The root-namespace end of the veth: where the operator's connections come from. */
  hostAddress: string;
  /** Namespace-side addresses, in order. */
  addresses: readonly string[];
  prefixLength: number;
  /** The veth ends: host side (root namespace) and namespace side. */
  hostInterface: string;
  namespaceInterface: string;
  /** `ip netns exec <name> <command> <args>` as [command, args], for a process to start inside. */
  execArgs(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Deletes the namespace and the host veth. Idempotent; servers inside must be stopped first. */
  teardown(): Promise<void>;
}

class IpCommandError extends Error {}

async function ip(args: readonly string[], input?: string): Promise<string> {
  if (input === undefined) {
    try {
      const { stdout } = await execFileAsync(IP, [...args]);
      return stdout;
    } catch (error) {
      throw ipError(args, error);
    }
  }
  // `ip -batch -` reads its commands from stdin: one process for a thousand addresses.
  return new Promise((resolve, reject) => {
    const child = spawn(IP, [...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(ipError(args, error)));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new IpCommandError(`ip ${args.join(' ')} exited with ${code}: ${stderr.trim()}`))));
    child.stdin.end(input);
  });
}

function ipError(args: readonly string[], error: unknown): IpCommandError {
  const e = error as NodeJS.ErrnoException & { stderr?: string };
  if (e.code === 'ENOENT') return new IpCommandError(`${IP} is missing: network-namespace test hosts need iproute2 (and root)`);
  return new IpCommandError(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
}

const NAME_PATTERN = /^ck-(\d+)-(\d+)$/;

/** Removes namespaces (and their host veths) whose creating process is gone. */
async function reapAbandoned(): Promise<void> {
  let names: string[];
  try {
    names = readdirSync('/run/netns');
  } catch {
    return;
  }
  for (const name of names) {
    const match = NAME_PATTERN.exec(name);
    if (match?.[1] === undefined || match[2] === undefined || pidAlive(Number(match[2]))) continue;
    await ip(['netns', 'del', name]).catch(() => undefined);
    await ip(['link', 'del', hostInterfaceName(Number(match[1]))]).catch(() => undefined);
  }
}

/**
 * 10.250.0.0/16 is dropped in the root namespace unless a live test network's
 * more specific route takes it: an address whose network is gone (a test
 * torn down, an EndpointSlice left in a Terminating namespace) must never be
 * sent to the default gateway. Left in place: harmless, and shared by all users.
 */
async function ensureBlackhole(): Promise<void> {
  const routes = await ip(['route', 'show', 'type', 'blackhole']);
  if (routes.split('\n').some((line) => line.trim().startsWith(`blackhole ${TEST_RANGE}`))) return;
  await ip(['route', 'add', 'blackhole', TEST_RANGE]).catch((error: unknown) => {
    if (!(error instanceof IpCommandError && /exists/i.test(error.message))) throw error;
  });
}

const hostInterfaceName = (k: number): string => `ckh${k}`;
const namespaceInterfaceName = (k: number): string => `ckn${k}`;

/** 10.250.<k>.0/<prefix> overlaps an address some interface of this machine already has. */
function blockInUse(k: number, prefix: 24 | 22): boolean {
  const stride = BLOCK_STRIDE[prefix];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      const parts = a.address.split('.').map(Number);
      if (a.family !== 'IPv4' || parts[0] !== 10 || parts[1] !== 250) continue;
      const third = parts[2] ?? -1;
      if (third >= k && third < k + stride) return true;
    }
  }
  return false;
}

/** The n-th namespace-side address of the block at 10.250.<k>.0 (n = 0 is .2: .0 is the network, .1 the host side). */
function blockAddress(k: number, n: number): string {
  const offset = n + 2;
  return `10.250.${k + Math.floor(offset / 256)}.${offset % 256}`;
}

/** Creates the veth pair of block k; false when another user holds that block. */
async function claimBlock(k: number): Promise<boolean> {
  try {
    await ip(['link', 'add', hostInterfaceName(k), 'type', 'veth', 'peer', 'name', namespaceInterfaceName(k)]);
    return true;
  } catch (error) {
    if (error instanceof IpCommandError && /exists/i.test(error.message)) return false;
    throw error;
  }
}

const live = new Set<TestNetwork>();
let exitHookInstalled = false;

/** A process that exits without its teardown (a crash, process.exit) still removes its namespaces. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const network of live) {
      try {
        execFileSync(IP, ['netns', 'del', network.name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
      try {
        execFileSync(IP, ['link', 'del', network.hostInterface], { stdio: 'ignore' });
      } catch {
        // went with the namespace
      }
    }
  });
}

/**
 * A network namespace with `addresses` addresses, reachable from this
 * namespace. Throws (never skips) when `ip netns` cannot be used.
 */
export async function createTestNetwork(options: TestNetworkOptions): Promise<TestNetwork> {
  const blocks = options.addresses <= SMALL_BLOCKS.maxAddresses ? SMALL_BLOCKS : LARGE_BLOCKS;
  if (!Number.isInteger(options.addresses) || options.addresses < 1 || options.addresses > LARGE_BLOCKS.maxAddresses) {
    throw new Error(`a test network holds 1 to ${LARGE_BLOCKS.maxAddresses} addresses, not ${options.addresses}`);
  }
  // Fails loudly at once when iproute2 or its netns support is missing.
  await ip(['netns', 'list']);
  await ensureBlackhole();
  await reapAbandoned();
  const stride = BLOCK_STRIDE[blocks.prefix];
  let k: number | undefined;
  for (let candidate = blocks.first; candidate <= blocks.last; candidate += stride) {
    if (blockInUse(candidate, blocks.prefix)) continue;
    if (await claimBlock(candidate)) {
      k = candidate;
      break;
    }
  }
  if (k === undefined) throw new Error(`no free 10.250.x.0/${blocks.prefix} block for test network ${options.label ?? ''}: every one is in use`);
  const name = `ck-${k}-${process.pid}`;
  const hostInterface = hostInterfaceName(k);
  const namespaceInterface = namespaceInterfaceName(k);
  const addresses = Array.from({ length: options.addresses }, (_, n) => blockAddress(k, n));
  const hostAddress = `10.250.${k}.1`;
  let namespaceCreated = false;
  const teardown = async (): Promise<void> => {
    live.delete(network);
    if (namespaceCreated) await ip(['netns', 'del', name]).catch((error: unknown) => {
      if (!(error instanceof IpCommandError && /No such file|not found|does not exist/i.test(error.message))) throw error;
    });
    namespaceCreated = false;
    // Deleting the namespace destroys its veth end and with it the pair; this catches a half-built network.
    await ip(['link', 'del', hostInterface]).catch(() => undefined);
  };
  const network: TestNetwork = {
    name,
    hostAddress,
    addresses,
    prefixLength: blocks.prefix,
    hostInterface,
    namespaceInterface,
    execArgs: (command, args) => ({ command: IP, args: ['netns', 'exec', name, command, ...args] }),
    teardown,
  };
  installExitHook();
  live.add(network);
  try {
    await ip(['netns', 'add', name]);
    namespaceCreated = true;
    const setup = [
      `link set ${namespaceInterface} netns ${name}`,
      `addr add ${hostAddress}/${blocks.prefix} dev ${hostInterface}`,
      `link set ${hostInterface} up`,
    ];
    await ip(['-batch', '-'], `${setup.join('\n')}\n`);
    const inside = [
      'link set lo up',
      ...addresses.map((a) => `addr add ${a}/${blocks.prefix} dev ${namespaceInterface}`),
      `link set ${namespaceInterface} up`,
    ];
    await ip(['-n', name, '-batch', '-'], `${inside.join('\n')}\n`);
  } catch (error) {
    await teardown();
    throw error;
  }
  return network;
}
