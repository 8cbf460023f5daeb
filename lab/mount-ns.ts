/** Each lab node's mount namespace: created at the lab's start and at a host reboot, dropped with the lab. */

import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { run, tryRun } from './exec.js';
import { mountNsPath, type NodeName } from './topology.js';

const isMountPoint = (path: string) => tryRun(['mountpoint', '-q', path]);

/**
 * A fresh mount namespace for node `n` (a copy of the host's mounts; the host's later mounts
 * reach it, its own never leave it), kept in `mountNsPath(n)`. The file must sit on a private
 * mount, so its directory is bound onto itself and made private once.
 */
export function createNodeMountNs(n: NodeName): void {
  const file = mountNsPath(n);
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  if (!isMountPoint(dir)) run(['mount', '--bind', dir, dir]);
  run(['mount', '--make-private', dir]);
  if (isMountPoint(file)) return;
  writeFileSync(file, '');
  // the new namespace drops its copy of the namespace files: a copy of the other node's would
  // keep that namespace, and every mount in it, alive after the lab dropped it
  run(['unshare', `--mount=${file}`, '--propagation', 'slave', '--', 'umount', '-l', dir]);
}

/**
 * Drop node `n`'s namespace: once no process is left in it, the kernel unmounts what it held
 * (a reboot loses its mounts the same way). Its processes are the caller's to stop first.
 */
export function dropNodeMountNs(n: NodeName): void {
  const file = mountNsPath(n);
  if (isMountPoint(file) && !tryRun(['umount', file])) tryRun(['umount', '-l', file]);
  rmSync(file, { force: true });
}

/** Both namespaces and the private mount that holds their files. */
export function dropMountNamespaces(): void {
  const dir = dirname(mountNsPath('a'));
  if (!existsSync(dir)) return;
  for (const n of ['a', 'b'] as const) dropNodeMountNs(n);
  if (isMountPoint(dir)) tryRun(['umount', '-l', dir]);
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
}

/** Does node `n` have its mount namespace (a lab that is up)? */
export function hasNodeMountNs(n: NodeName): boolean {
  return isMountPoint(mountNsPath(n));
}
