/** The image read by the lab itself once no node holds it: a read-only map for the writer's lines, e2fsck. */

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './control.js';
import { killPid, run, tryRun } from './exec.js';
import { LAB, nodeDir } from './topology.js';

/**
 * Run `fn` on a fresh read-only view of the image from node a's namespace (the lab's own
 * rbd-fuse + a read-only loop). Only when no node holds the image.
 */
export async function withImageReadOnly<T>(fn: (loop: string) => T): Promise<T> {
  const d = join(LAB.root, 'fsck');
  mkdirSync(join(d, 'fuse'), { recursive: true });
  const a = nodeDir('a');
  const fuse = spawn(
    'nsenter',
    [`--net=/run/netns/${LAB.prefix}-a`, '--', 'rbd-fuse', '-c', `${a}/state/ceph.conf`, '-p', LAB.pool, '-r', LAB.image, '-f', join(d, 'fuse')],
    {
      stdio: 'ignore',
      detached: true,
      env: { ...process.env, CEPH_ARGS: `--id ${LAB.user} --keyring ${a}/state/ceph.client.${LAB.user}.keyring` },
    },
  );
  fuse.unref();
  writeFileSync(join(d, 'fuse.pid'), `${String(fuse.pid)}\n`);
  let loop = '';
  try {
    await waitFor('the read-only rbd-fuse', () => existsSync(join(d, 'fuse', LAB.image)), 20_000);
    loop = run(['losetup', '-r', '-f', '--show', join(d, 'fuse', LAB.image)]).trim();
    return fn(loop);
  } finally {
    if (loop) tryRun(['losetup', '-d', loop]);
    tryRun(['fusermount', '-u', join(d, 'fuse')]);
    if (fuse.pid) await killPid(fuse.pid, 5_000);
    tryRun(['umount', '-l', join(d, 'fuse')]);
  }
}

/** `e2fsck -n -f` of the image (only when no node holds it): its exit code and output. */
export async function fsckImage(): Promise<{ code: number; out: string }> {
  return withImageReadOnly((loop) => {
    const r = spawnSync('e2fsck', ['-n', '-f', loop], { encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  });
}
