/** The faults the lab injects into one node: its processes, its network (VRRP, Ceph), its mount, its Docker stack. */

import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '../src/actions/processes.js';
import { docker, dockerdArgv } from './docker-stack.js';
import { killPid, readPid, run, spawnDetached, tryRun } from './exec.js';
import type { NodeControl } from './node-control.js';
import { detachLabLoops } from './teardown.js';
import { cephClientArgs } from '../src/actions/ceph/connection.js';
import { GENERATION_META_KEY, OWNER_META_KEY, ownerRecordValue } from '../src/actions/ceph/ownership.js';
import { CEPH_IP, inNodeMounts, inNs, LAB, MOUNT_POINT, NODES, nodeDir, type NodeName } from './topology.js';

/** SIGKILL the engine and keepalived (its VRRP child too): the node's Harbor keeps running. */
export function crashNode(nodes: NodeControl, n: NodeName): void {
  const d = nodeDir(n);
  const pids = [nodes.pids.engine.get(n), readPid(`${d}/keepalived/vrrp.pid`), readPid(`${d}/keepalived/keepalived.pid`), nodes.pids.keepalived.get(n)];
  for (const pid of pids) {
    if (pid && isRunning(pid)) process.kill(pid, 'SIGKILL');
  }
  nodes.pids.engine.delete(n);
  nodes.pids.keepalived.delete(n);
}

/** Wait (up to 5 s) until `pid` holds its file open on the mount (its fd 3), or throw: a fault that did not happen is no test. */
function waitHolding(pid: number, what: string): void {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 100; i++) {
    if (existsSync(`/proc/${String(pid)}/fd/3`)) return;
    if (!isRunning(pid)) break;
    Atomics.wait(nap, 0, 0, 50);
  }
  throw new Error(`${what} (pid ${String(pid)}) does not hold its file on the mount`);
}

/** A process that keeps a file open (and its cwd) on the node's mount: a busy umount. */
export function holdMount(n: NodeName): number {
  // nsenter execs sh (no fork): the pid is the holder's. The cd is sh's: nsenter's --wd opens
  // its directory before it enters the namespace, which would be the bare mount point
  const pid = spawnDetached(
    'the mount holder',
    inNodeMounts(n, ['sh', '-c', 'cd "$1" && exec 3<installer/harbor.yml && exec sleep 600', 'holder', MOUNT_POINT]),
    {
      pidFile: join(nodeDir(n), 'holder.pid'),
    },
  );
  waitHolding(pid, 'the mount holder');
  return pid;
}

/** Split brain: drop VRRP (IP protocol 112) in and out of one node; the link stays up. */
export function cutVrrp(n: NodeName): void {
  const nft = (...args: string[]) => run(inNs(n, ['nft', ...args]));
  nft('add', 'table', 'inet', 'halab');
  nft('add', 'chain', 'inet', 'halab', 'in', '{ type filter hook input priority 0 ; }');
  nft('add', 'chain', 'inet', 'halab', 'out', '{ type filter hook output priority 0 ; }');
  nft('add', 'rule', 'inet', 'halab', 'in', 'ip', 'protocol', '112', 'drop');
  nft('add', 'rule', 'inet', 'halab', 'out', 'ip', 'protocol', '112', 'drop');
}

export function healVrrp(n: NodeName): void {
  run(inNs(n, ['nft', 'delete', 'table', 'inet', 'halab']));
}

/** Storage partition: drop everything to and from Ceph's address in one node; VRRP and clients untouched. */
export function cutCeph(n: NodeName): void {
  const nft = (...args: string[]) => run(inNs(n, ['nft', ...args]));
  nft('add', 'table', 'inet', 'halabceph');
  nft('add', 'chain', 'inet', 'halabceph', 'in', '{ type filter hook input priority 0 ; }');
  nft('add', 'chain', 'inet', 'halabceph', 'out', '{ type filter hook output priority 0 ; }');
  nft('add', 'rule', 'inet', 'halabceph', 'in', 'ip', 'saddr', CEPH_IP, 'drop');
  nft('add', 'rule', 'inet', 'halabceph', 'out', 'ip', 'daddr', CEPH_IP, 'drop');
}

export function healCeph(n: NodeName): void {
  run(inNs(n, ['nft', 'delete', 'table', 'inet', 'halabceph']));
}

/** Every process in the node's network namespace: its engine, keepalived, rbd-fuse, Harbor, writer. */
export function nodePids(n: NodeName): number[] {
  const ns = statSync(`/run/netns/${LAB.prefix}-${n}`).ino;
  return readdirSync('/proc').flatMap((e) => {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid === process.pid) return [];
    try {
      return statSync(`/proc/${pid}/ns/net`).ino === ns ? [pid] : [];
    } catch {
      return [];
    }
  });
}

/** Freeze the whole node (a paused VM): every process of its namespace gets SIGSTOP. */
export function pauseNode(n: NodeName): number[] {
  const pids = nodePids(n);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      // gone
    }
  }
  writeFileSync(join(nodeDir(n), 'paused.pids'), pids.join('\n'));
  return pids;
}

export function resumeNode(n: NodeName, pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
  }
  rmSync(join(nodeDir(n), 'paused.pids'), { force: true });
}

/**
 * Somebody else's filesystem at the node's mount point (an operator's leftover, another
 * service): a 32 MiB ext4 on a loop device, with a process holding it open.
 */
export function mountForeign(n: NodeName): { device: string; holderPid: number } {
  const img = join(LAB.root, `foreign-${n}.img`);
  run(['truncate', '-s', '32M', img]);
  run(['mkfs.ext4', '-q', '-F', img]);
  const device = run(['losetup', '-f', '--show', img]).trim();
  run(inNodeMounts(n, ['mount', device, MOUNT_POINT]));
  run(inNodeMounts(n, ['tee', join(MOUNT_POINT, 'not-harbor.txt')]), { input: 'an operator put this here\n' });
  const holderPid = spawnDetached(
    'the foreign filesystem holder',
    inNodeMounts(n, ['sh', '-c', 'cd "$1" && exec 3<not-harbor.txt && exec sleep 600', 'holder', MOUNT_POINT]),
    {
      pidFile: join(nodeDir(n), 'foreign-holder.pid'),
    },
  );
  waitHolding(holderPid, 'the foreign filesystem holder');
  return { device, holderPid };
}

/**
 * The node's host goes down hard while the other serves, as far as its storage and Docker are
 * concerned: its daemon stops with its containers still defined (restart: always brings them
 * back at the next daemon start), its filesystem, loop device and rbd-fuse are gone.
 */
export async function hostRebootsStorageAndDocker(n: NodeName): Promise<void> {
  const d = nodeDir(n);
  run(dockerdArgv('stop', n, '--keep-containers'), { timeoutMs: 120_000 });
  tryRun(inNodeMounts(n, ['umount', '-l', MOUNT_POINT]));
  // a rebooting host loses rbd-fuse with everything else; ending it first also keeps a fenced
  // one's rejected writes from holding the loop detach until the fence expires
  const fusePid = readPid(`${d}/state/rbd-fuse.pid`);
  if (fusePid) await killPid(fusePid, 2_000);
  detachLabLoops((file) => file.startsWith(`${d}/fuse/`));
  tryRun(inNodeMounts(n, ['umount', '-l', join(d, 'fuse')]));
}

/** Overwrite Harbor's compose file on the node's mounted image with something compose refuses. */
export function damageComposeFile(n: NodeName): void {
  run(inNodeMounts(n, ['tee', join(MOUNT_POINT, 'installer', 'docker-compose.yml')]), { input: 'services: [this is not: a compose file\n' });
}

/** Stop the registry behind the node's Harbor (Harbor unhealthy). */
export function stopRegistry(n: NodeName): void {
  docker(n, ['stop', 'registry']);
}

/** The rbd CLI as node `n`'s host runs it: in its namespace, with its Ceph identity. */
function rbdAs(n: NodeName, ...args: string[]): string {
  const state = join(nodeDir(n), 'state');
  const conn = {
    user: LAB.user,
    keyringPath: join(state, `ceph.client.${LAB.user}.keyring`),
    confPath: join(state, 'ceph.conf'),
    pool: LAB.pool,
    image: LAB.image,
  };
  return run(inNs(n, ['rbd', ...args, ...cephClientArgs(conn)]));
}

/** The generation the next claim takes (the image's last one plus one), read as `n`. */
export function nextGeneration(n: NodeName): number {
  const meta = JSON.parse(rbdAs(n, 'image-meta', 'list', `${LAB.pool}/${LAB.image}`, '--format', 'json')) as Record<string, string>;
  return Number(meta[GENERATION_META_KEY] ?? '0') + 1;
}

/**
 * What `n` leaves in Ceph when it dies between `rbd lock add` and its map: its lock and an owner
 * record of `generation`, written from its host with its Ceph identity; no client recorded, no
 * watch. `afterLock` runs once the lock is taken (the lock alone is already a claim); the record
 * is written last, so its age is the time since the claim ended.
 */
export function leaveDeadClaim(n: NodeName, generation: number, afterLock: () => void = () => undefined): { lockId: string; at: string } {
  const spec = `${LAB.pool}/${LAB.image}`;
  const lockId = `harbor-assistant/${n}/${String(generation)}`;
  rbdAs(n, 'lock', 'add', spec, lockId);
  afterLock();
  rbdAs(n, 'image-meta', 'set', spec, GENERATION_META_KEY, String(generation));
  const at = new Date().toISOString();
  rbdAs(n, 'image-meta', 'set', spec, OWNER_META_KEY, ownerRecordValue({ node: n, generation, hosts: [NODES[n].ip], clients: [], at }));
  return { lockId, at };
}
