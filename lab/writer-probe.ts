/** The writer probe: lines on a node's mount, stopped and then looked for in the whole image (writes from two hosts). */

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { isRunning } from '../src/actions/processes.js';
import { killPid, readPid, sleep, spawnDetached } from './exec.js';
import { withImageReadOnly } from './image-check.js';
import { inNs, MOUNT_POINT, nodeDir, type NodeName } from './topology.js';

/**
 * A writer on the node's mount: appends `HAWRITE <ms since epoch>` every 200 ms (synchronous
 * mount: each line is on Ceph or the write is stuck). Any such line found in the image that is
 * newer than the other node's map is a write from two hosts.
 */
export function startWriter(n: NodeName): number {
  const script = `while :; do echo "HAWRITE $(date +%s%3N)" >> ${MOUNT_POINT}/lab-writer.log; sleep 0.2; done`;
  // nsenter execs sh: the pid is the loop's, its group holds the date/echo children
  return spawnDetached('the writer', inNs(n, ['sh', '-c', script]), { pidFile: join(nodeDir(n), 'writer.pid') });
}

/**
 * Stop the writer once its node is out of the game: a later legitimate takeover by that node
 * would mount the image under it again, and its lines would then be rightful writes.
 */
/**
 * Kill the node's writer. Resolves true when it ended; false when it is still stuck in
 * uninterruptible I/O after 150 s. Only call it for a node whose client the peer fenced before
 * it mapped: a stuck write of a blocklisted client cannot land, so the image check after it
 * (late writes) stays sound either way.
 */
export async function stopWriter(n: NodeName): Promise<boolean> {
  const file = join(nodeDir(n), 'writer.pid');
  const pid = readPid(file);
  if (pid === null) return true;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // its group is gone
  }
  await killPid(pid, 0, 'SIGKILL');
  // a write stuck in uninterruptible I/O ends (EIO, blocklisted) only once the path is back
  // (on the Docker stack the node's containers are stuck on the same device meanwhile: give it time)
  const deadline = Date.now() + 150_000;
  while (isRunning(pid) && Date.now() < deadline) await sleep(500);
  if (isRunning(pid)) {
    // a SIGKILLed process in D state dies when its write returns; the pid file stays for cleanup
    process.stderr.write(`the writer on ${n} (pid ${String(pid)}) is still stuck in uninterruptible I/O after 150 s\n`);
    return false;
  }
  rmSync(file, { force: true });
  return true;
}

/** Every HAWRITE timestamp anywhere in the image (data blocks included), read through a fresh read-only map. */
export async function writerStamps(): Promise<number[]> {
  return withImageReadOnly((loop) => {
    const r = spawnSync('grep', ['-a', '-o', 'HAWRITE [0-9]\\{13\\}', loop], { encoding: 'latin1', timeout: 300_000, maxBuffer: 256 * 1024 * 1024 });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- @types/node says string, but stdout is null when grep could not be started
    return (r.stdout ?? '').split('\n').flatMap((l) => {
      const m = /^HAWRITE (\d{13})$/.exec(l.trim());
      return m?.[1] ? [Number(m[1])] : [];
    });
  });
}
