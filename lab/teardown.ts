/** Taking the lab away: everything a lab (this one or a crashed earlier run) left, found by the PIDs and paths it records. */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cmdlineOf, isRunning } from '../src/actions/processes.js';
import { killPid, readPid, tryRun } from './exec.js';
import { dockerdArgv } from './docker-stack.js';
import { dropMountNamespaces, hasNodeMountNs } from './mount-ns.js';
import { configPath, inNodeMounts, LAB, labDir, MOUNT_POINT } from './topology.js';

/** Detach every loop device whose backing file `ours` claims (a deleted file counts by its old name). */
export function detachLabLoops(ours: (backFile: string) => boolean): void {
  const loops = spawnSync('losetup', ['-J', '-l'], { encoding: 'utf8' }).stdout;
  try {
    for (const l of (JSON.parse(loops || '{"loopdevices":[]}') as { loopdevices: Array<{ name: string; 'back-file': string | null }> }).loopdevices) {
      if (l['back-file'] && ours(l['back-file'].replace(/ \(deleted\)$/, ''))) tryRun(['losetup', '-d', l.name]);
    }
  } catch {
    // no loops
  }
}

/**
 * Engines and keepalived daemons of this lab's nodes that no pid file names any more (a start
 * that replaced a running one, an earlier run's): found by the node's files on their command
 * line. Left running, a stray engine writes the node's fitness and status files and a stray
 * keepalived writes the node's notify fifo under the next lab (seen: the next cold start's master
 * went FAULT within a second of becoming MASTER).
 */
export function strayNodeProcesses(): number[] {
  const engineConfigs = new Set((['a', 'b'] as const).map((n) => configPath(n)));
  const keepalivedConfs = new Set((['a', 'b'] as const).map((n) => join(LAB.root, n, 'keepalived.conf')));
  const ours = (argv: string[]) =>
    argv.some((arg, i) => (arg === '--config' && engineConfigs.has(argv[i + 1] ?? '')) || (arg === '-f' && keepalivedConfs.has(argv[i + 1] ?? '')));
  return readdirSync('/proc')
    .filter((e) => /^[0-9]+$/.test(e))
    .map(Number)
    .filter((pid) => pid !== process.pid && ours(cmdlineOf(pid) ?? []));
}

/** Remove everything a lab (this one or a crashed earlier run) left: processes by recorded PID, mounts, loops, namespaces. */
export async function cleanLeftovers(): Promise<void> {
  // a client pull loop left by a failed scenario: its process group
  const loopPid = readPid(join(LAB.root, 'pull-loop', 'pid'));
  if (loopPid && isRunning(loopPid)) {
    try {
      process.kill(-loopPid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const n of ['a', 'b'] as const) {
    const d = join(LAB.root, n);
    // a frozen node first: SIGCONT, or nothing below can stop it
    if (existsSync(`${d}/paused.pids`)) {
      for (const pid of readFileSync(`${d}/paused.pids`, 'utf8')
        .split('\n')
        .map(Number)
        .filter((p) => Number.isInteger(p) && p > 1)) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
    }
    for (const f of [
      `${d}/keepalived.pid`,
      `${d}/keepalived/keepalived.pid`,
      `${d}/keepalived/vrrp.pid`,
      `${d}/engine.pid`,
      `${d}/holder.pid`,
      `${d}/writer.pid`,
      `${d}/foreign-holder.pid`,
    ]) {
      const pid = readPid(f);
      if (pid) await killPid(pid, 2_000);
    }
    for (const pid of strayNodeProcesses()) await killPid(pid, 2_000);
    // containers bind-mount the image's filesystem: they and their daemon go before any umount
    if (existsSync(join(d, 'docker'))) tryRun(dockerdArgv('stop', n), 120_000);
    // rbd-fuse before any umount and the loops: a fenced one (a crashed node's) retries its
    // rejected writes until the fence expires, and both the umount's writeback and a loop detach
    // wait in the kernel for them, in uninterruptible sleep (a campaign run hung 15 min on the
    // detach, another on the umount). Killed, its FUSE connection aborts and they fail at once;
    // what it still held is a torn-down lab's
    const fusePid = readPid(`${d}/state/rbd-fuse.pid`) ?? readPid(`${LAB.root}/fsck/fuse.pid`);
    if (fusePid) await killPid(fusePid, 2_000);
    // stacked mounts (a foreign filesystem over ours): unmount until nothing is left, in the
    // node's namespace (and on the host, where a lab without them mounted)
    const inNode = (argv: string[]) => (hasNodeMountNs(n) ? inNodeMounts(n, argv) : argv);
    for (const mp of [MOUNT_POINT, `${d}/mnt`]) {
      for (let i = 0; i < 3 && existsSync(mp); i++) {
        if (!tryRun(inNode(['umount', mp])) && !tryRun(inNode(['umount', '-l', mp]))) break;
      }
    }
    detachLabLoops((file) => file.startsWith(`${d}/fuse/`));
    if (existsSync(`${d}/fuse`)) tryRun(inNode(['umount', '-l', `${d}/fuse`]));
  }
  // nothing of the nodes runs any more: their namespaces go, with whatever is still mounted there
  dropMountNamespaces();
  // a loop whose fuse dir was detached lazily shows its file as `/harbor_data`: sweep those too
  detachLabLoops((file) => file === `/${LAB.image}` || file.startsWith(`${LAB.root}/`));
  if (existsSync(join(LAB.root, 'ceph'))) tryRun([join(labDir, 'ceph.sh'), 'down', join(LAB.root, 'ceph')], 30_000);
  tryRun([join(labDir, 'net.sh'), 'down']);
  // the engine keeps a bare mount point immutable (its restart-always guard; tmpfs has the flag too)
  for (const mp of [MOUNT_POINT, join(LAB.root, 'a', 'mnt'), join(LAB.root, 'b', 'mnt')]) if (existsSync(mp)) tryRun(['chattr', '-i', mp]);
  rmSync(LAB.root, { recursive: true, force: true });
}
