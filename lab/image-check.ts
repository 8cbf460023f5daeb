/** The image read by the lab itself once no node holds it: a read-only map for the writer's lines, e2fsck. */

import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './control.js';
import { killPid, run, spawnDetached, tryRun } from './exec.js';
import { LAB } from './topology.js';

/**
 * Whether `path` exists, asked of a child that is killed after 2 s: a lookup on a FUSE mount whose
 * daemon is stuck blocks its caller, and a synchronous call here would stop the lab's own timers.
 */
const existsWithin2s = (path: string) =>
  new Promise<boolean>((resolve) => {
    execFile('test', ['-e', path], { timeout: 2_000, killSignal: 'SIGKILL' }, (err) => {
      resolve(err === null);
    });
  });

/**
 * Run `fn` on a fresh read-only view of the image (the lab's own rbd-fuse + a read-only loop).
 * Only when no node holds the image. rbd-fuse runs in Ceph's own namespace as client.admin: a node's
 * address may be blocklisted by its peer's fence (a host fence lasts an hour), Ceph's never is.
 */
export async function withImageReadOnly<T>(fn: (loop: string) => T): Promise<T> {
  const d = join(LAB.root, 'fsck');
  mkdirSync(join(d, 'fuse'), { recursive: true });
  const ceph = join(LAB.root, 'ceph');
  const fusePid = spawnDetached(
    'the read-only rbd-fuse',
    ['nsenter', `--net=/run/netns/${LAB.prefix}-ceph`, '--', 'rbd-fuse', '-c', join(ceph, 'ceph.conf'), '-p', LAB.pool, '-r', LAB.image, '-f', join(d, 'fuse')],
    { env: { ...process.env, CEPH_ARGS: `--id admin --keyring ${join(ceph, 'client.admin.keyring')}` }, pidFile: join(d, 'fuse.pid') },
  );
  let loop = '';
  try {
    await waitFor('the read-only rbd-fuse', () => existsWithin2s(join(d, 'fuse', LAB.image)), 20_000);
    loop = run(['losetup', '-r', '-f', '--show', join(d, 'fuse', LAB.image)]).trim();
    return fn(loop);
  } finally {
    if (loop) tryRun(['losetup', '-d', loop]);
    tryRun(['fusermount', '-u', join(d, 'fuse')]);
    await killPid(fusePid, 5_000);
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
