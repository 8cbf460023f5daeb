import { mkdirSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, type Runner } from '../exec.js';
import { terminate } from '../processes.js';
import type { Logger } from '../../log/logger.js';
import { mountedAtPath, type MountedFilesystem } from './mountinfo.js';
import { allSynchronous, listFlagsArgv } from './synchronous-flags.js';

export type { MountedFilesystem } from './mountinfo.js';
import { fsckReason, parseExtSuperblock, parseHexBytes, superblockReadArgv, type ExtSuperblock } from './superblock.js';

import type { FsckPolicy } from '../../domain/kinds.js';

export { FSCK_POLICIES, type FsckPolicy } from '../../domain/kinds.js';

export interface FilesystemOptions {
  mountPoint: string;
  fsck: FsckPolicy;
  mountOptions: string[];
  /** Directories under the mount point whose files are written synchronously (chattr +S). */
  synchronousDirs?: readonly string[];
  mkfsOptions: string[];
  timeouts: { probe: number; format: number; fsck: number; mount: number; unmount: number };
}

/** `blkid -p` probes the device itself (no cache); `-o export` prints KEY=value lines. */
export function blkidArgv(device: string): string[] {
  return ['blkid', '-p', '-o', 'export', device];
}

/** blkid's TYPE, or null (exit code 2 = no signature found). */
export function parseBlkid(text: string): string | null {
  for (const line of text.split('\n')) {
    const m = /^TYPE=(.+)$/.exec(line.trim());
    if (m?.[1]) return m[1];
  }
  return null;
}

export function mkfsArgv(device: string, extra: readonly string[]): string[] {
  return ['mkfs.ext4', '-q', '-L', 'harbor-data', ...extra, device];
}

/** e2fsck by policy; null when the policy says not to run it. */
export function fsckArgv(device: string, policy: FsckPolicy): string[] | null {
  switch (policy) {
    case 'never':
      return null;
    case 'auto':
      // preen: checks only when the fs is not clean (or is due), repairs what is safe
      return ['e2fsck', '-p', device];
    case 'force':
      return ['e2fsck', '-f', '-y', device];
  }
}

/** e2fsck: 0 clean, 1 errors corrected, 2 corrected (reboot advised for a mounted root); 4 and up fail. */
export const FSCK_OK_EXIT_CODES = [1, 2] as const;

export function explainFsckFailure(output: string): string | null {
  if (/unsupported feature\(s\):.*metadata_csum|Get a newer version of e2fsck/.test(output)) {
    return 'this e2fsck is too old for metadata_csum: install e2fsprogs >= 1.43';
  }
  if (/UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY/.test(output)) {
    return 'the filesystem needs a manual fsck: run `e2fsck -f DEVICE` interactively, then resume';
  }
  return null;
}

export function mountArgv(device: string, mountPoint: string, options: readonly string[]): string[] {
  return ['mount', '-t', 'ext4', ...(options.length > 0 ? ['-o', options.join(',')] : []), device, mountPoint];
}

/** `path` (absolute, normalized) is strictly below `dir`. */
export function isInside(path: string, dir: string): boolean {
  const base = dir.endsWith('/') ? dir : `${dir}/`;
  return path.startsWith(base) && path.length > base.length;
}

/** The device number of a block device node (st_rdev), or null when `path` is not one. */
export function blockDeviceNumber(path: string): number | null {
  try {
    const st = statSync(path);
    return st.isBlockDevice() ? st.rdev : null;
  } catch {
    return null;
  }
}

/** Whether findmnt's `source` is `device`: the same path, or the same block device under another name. */
export function isSameDevice(source: string, device: string | null): boolean {
  if (device === null) return false;
  if (source === device) return true;
  const a = blockDeviceNumber(source);
  return a !== null && a === blockDeviceNumber(device);
}

export function describeMount(m: MountedFilesystem): string {
  return m.fstype ? `${m.source} (${m.fstype})` : m.source;
}

/**
 * Processes holding anything on the filesystem whose device number is `dev`: open files, cwd,
 * root, mapped files. Read from /proc (no columns to parse); compares device numbers, so it
 * works across mount namespaces.
 */
export function holdersOf(dev: number, exceptPid = process.pid): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === exceptPid) continue;
    const base = `/proc/${pid}`;
    const links = ['cwd', 'root', 'exe'].map((l) => `${base}/${l}`);
    try {
      for (const fd of readdirSync(`${base}/fd`)) links.push(`${base}/fd/${fd}`);
    } catch {
      continue;
    }
    const holds = links.some((l) => {
      try {
        readlinkSync(l);
        return statSync(l).dev === dev;
      } catch {
        return false;
      }
    });
    if (holds) pids.push(pid);
  }
  return pids;
}

export class Filesystem {
  constructor(
    private readonly runner: Runner,
    private readonly options: FilesystemOptions,
    private readonly logger: Logger,
  ) {}

  /** The superblock the last probe read, for the fsck decision that follows it (format forgets it). */
  private probed: { device: string; sb: ExtSuperblock } | null = null;

  /** The filesystem type: ext2/3/4 from the superblock (one short read), anything else from `blkid -p`. */
  async probe(device: string, signal?: AbortSignal): Promise<string | null> {
    this.probed = null;
    const sb = await this.readSuperblock(device, signal);
    if (sb !== null) {
      this.probed = { device, sb };
      return sb.fsType;
    }
    const r = await this.runner.run({ what: 'blkid', argv: blkidArgv(device), timeoutMs: this.options.timeouts.probe, signal, okExitCodes: [2] });
    return r.exitCode === 2 ? null : parseBlkid(r.stdout);
  }

  /** The ext superblock, or null when the device holds none (or is too small to). */
  async readSuperblock(device: string, signal?: AbortSignal): Promise<ExtSuperblock | null> {
    const r = await this.runner.run({ what: 'read superblock', argv: superblockReadArgv(device), timeoutMs: this.options.timeouts.probe, signal });
    try {
      return parseExtSuperblock(parseHexBytes(r.stdout));
    } catch (error) {
      this.logger.warn('superblock unreadable, probing with blkid', { device, error: String(error) });
      return null;
    }
  }

  async format(device: string, signal?: AbortSignal): Promise<void> {
    this.probed = null;
    await this.runner.run({ what: 'mkfs.ext4', argv: mkfsArgv(device, this.options.mkfsOptions), timeoutMs: this.options.timeouts.format, signal });
  }

  async check(device: string, signal?: AbortSignal): Promise<void> {
    const argv = fsckArgv(device, this.options.fsck);
    if (argv === null) {
      this.logger.info('fsck skipped', { policy: this.options.fsck, device });
      return;
    }
    if (this.options.fsck === 'auto') {
      // the probe's read of a device nothing else writes while we hold it, taken once
      const probed = this.probed?.device === device ? this.probed.sb : null;
      this.probed = null;
      const sb = probed ?? (await this.readSuperblock(device, signal));
      const reason = sb === null ? 'no ext superblock' : fsckReason(sb, Math.floor(Date.now() / 1000));
      if (reason === null) {
        this.logger.info('fsck not needed', { policy: 'auto', device, journalToReplay: sb?.needsRecovery ?? false });
        return;
      }
      this.logger.info('fsck needed', { policy: 'auto', device, reason });
    }
    try {
      await this.runner.run({ what: 'e2fsck', argv, timeoutMs: this.options.timeouts.fsck, signal, okExitCodes: FSCK_OK_EXIT_CODES });
    } catch (error) {
      if (error instanceof CommandError) throw error.explain(explainFsckFailure(`${error.stdout}\n${error.stderr}`));
      throw error;
    }
  }

  async mount(device: string, signal?: AbortSignal): Promise<void> {
    const mounted = await this.mountedAt(signal);
    if (mounted !== null && isSameDevice(mounted.source, device)) return;
    if (mounted !== null) throw new Error(`${this.options.mountPoint} already has ${describeMount(mounted)} mounted, not ${device}`);
    mkdirSync(this.options.mountPoint, { recursive: true });
    await this.runner.run({
      what: 'mount',
      argv: mountArgv(device, this.options.mountPoint, this.options.mountOptions),
      timeoutMs: this.options.timeouts.mount,
      signal,
    });
  }

  /**
   * `filesystem.synchronousDirs`, relative to the mounted image: each is created if missing and
   * given ext4's synchronous-updates flag (`chattr -R +S`), which what is created inside inherits.
   * For applications that append without fsync (Harbor's Redis AOF: after a crash with `dirsync`
   * alone its last writes came back as a bad tail and Redis refused to start). Only a directory
   * that resolves inside the mount point is touched: a link out of the image is refused. The flags
   * are read first (`lsattr`) and set only when something lacks them: chattr rewrites every inode
   * even when nothing changes, and on a flagged inode each rewrite is a synchronous journal commit
   * (measured in the lab under load: 20–280 ms for Redis's few files, on the start's path).
   * Processes, not fs calls: a stuck device costs a timer, never a libuv thread.
   */
  async markSynchronous(signal?: AbortSignal): Promise<void> {
    await Promise.all((this.options.synchronousDirs ?? []).map((dir) => this.markTreeSynchronous(dir, signal)));
  }

  /**
   * The inside-the-image check and the read of the flags at once (two process starts in a row
   * were 150 ms of a takeover under load, on the path of the container that binds the directory):
   * lsattr only reads, so it may run on the configured path before the check answers; the check
   * still comes before anything is written, and a path that leads outside stops the read.
   */
  private async markTreeSynchronous(dir: string, signal?: AbortSignal): Promise<void> {
    const mp = this.options.mountPoint;
    const configured = join(mp, dir);
    const reading = new AbortController();
    const stopReading = () => reading.abort();
    signal?.addEventListener('abort', stopReading, { once: true });
    const listing = this.runner
      .run({
        what: 'lsattr (synchronous dir)',
        argv: listFlagsArgv(configured),
        timeoutMs: this.options.timeouts.probe,
        signal: reading.signal,
        okExitCodes: [1],
      })
      .then(
        (r) => ({ listed: r.exitCode === 0 && allSynchronous(r.stdout, configured) }),
        (error: unknown) => ({ error }),
      );
    try {
      const resolved = await this.runner.run({
        what: 'realpath',
        // the mount point resolved too: a link above it (/data -> /srv/data) is the operator's own
        argv: ['realpath', '-m', '--', mp, configured],
        timeoutMs: this.options.timeouts.probe,
        signal,
      });
      const [realMp = '', real = ''] = resolved.stdout.split('\n');
      if (!isInside(real, realMp)) throw new Error(`filesystem.synchronousDirs: ${dir} resolves to ${real}, outside ${mp}: refusing to touch it`);
      const read = await listing;
      if ('error' in read) throw read.error;
      // any other answer (the directory missing, an entry lsattr cannot read, a link in the
      // way) means: create and flag, on the resolved path
      if (read.listed) return;
      await this.runner.run({ what: 'mkdir (synchronous dir)', argv: ['mkdir', '-p', '--', real], timeoutMs: this.options.timeouts.probe, signal });
      await this.runner.run({ what: 'chattr +S', argv: ['chattr', '-R', '+S', '--', real], timeoutMs: this.options.timeouts.mount, signal });
    } finally {
      signal?.removeEventListener('abort', stopReading);
      reading.abort();
    }
  }

  /**
   * Where `synchronousDirs` are as a container's bind source may name them: under the mount point
   * as configured and as resolved (a link above it, /data -> /srv/data). No call on the image.
   */
  synchronousPaths(): string[] {
    const mp = this.options.mountPoint;
    let realMp = mp;
    try {
      realMp = realpathSync(mp);
    } catch {
      // not there: the configured path is all a bind can name
    }
    return [...new Set((this.options.synchronousDirs ?? []).flatMap((dir) => [join(mp, dir), join(realMp, dir)]))];
  }

  /** What is mounted at the mount point (the topmost mount), or null: the kernel's mountinfo. */
  mountedAt(signal?: AbortSignal): Promise<MountedFilesystem | null> {
    return mountedAtPath(this.options.mountPoint, this.options.timeouts.probe, signal);
  }

  /**
   * The bare mount point made immutable (`chattr +i`) while nothing is mounted on it: a Harbor
   * container with `restart: always` that its daemon brings back after a failover cannot create
   * its bind-mount sources there and write Harbor's data beside the image. Mounting over it works
   * as usual. A filesystem without the flag (tmpfs) answers `unsupported`.
   */
  async guardMountPoint(signal?: AbortSignal): Promise<'guarded' | 'mounted' | 'unsupported'> {
    if ((await this.mountedAt(signal)) !== null) return 'mounted';
    mkdirSync(this.options.mountPoint, { recursive: true });
    try {
      await this.runner.run({
        what: 'chattr +i (mount point guard)',
        argv: ['chattr', '+i', this.options.mountPoint],
        timeoutMs: this.options.timeouts.probe,
        signal,
      });
      return 'guarded';
    } catch (error) {
      if (error instanceof CommandError && error.failure === 'exit' && /Operation not supported|Inappropriate ioctl/.test(error.stderr)) return 'unsupported';
      throw error;
    }
  }

  /** `guardMountPoint` as a best effort: logged, never thrown (a release goes on without it). */
  async guardBareMountPoint(signal?: AbortSignal): Promise<void> {
    try {
      if ((await this.guardMountPoint(signal)) === 'unsupported')
        this.logger.info('mount point guard: no immutable flag on this filesystem', { mountPoint: this.options.mountPoint });
    } catch (e) {
      this.logger.warn('mount point guard failed: a container its daemon restarts could write into the bare mount point', {
        mountPoint: this.options.mountPoint,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  async mountedSource(signal?: AbortSignal): Promise<string | null> {
    return (await this.mountedAt(signal))?.source ?? null;
  }

  /**
   * What is mounted at the mount point, checked to be `device`'s filesystem: null when nothing is
   * mounted, else the device number the mount's files carry (for ext4 on a block device, the
   * device's st_rdev). Throws, touching nothing, when it is anything else.
   */
  private async ourMount(device: string | null, signal?: AbortSignal): Promise<number | null> {
    const mp = this.options.mountPoint;
    const mounted = await this.mountedAt(signal);
    if (mounted === null) return null;
    const refuse = (why: string) =>
      new Error(
        `refusing to unmount ${mp}: ${describeMount(mounted)} is mounted there, ${why}; nothing was unmounted and no process was killed (harbor-assistant never unmounts what it did not mount)`,
      );
    if (!isSameDevice(mounted.source, device)) throw refuse(device === null ? 'and this node has no device mapped' : `not our device ${device}`);
    const rdev = blockDeviceNumber(device ?? '');
    if (rdev === null) throw refuse(`but our device ${String(device)} is not a block device node here, so the mount cannot be matched to it`);
    const dev = statSync(mp).dev;
    if (dev !== rdev)
      throw refuse(`but the files there are on device number ${dev}, not our device ${String(device)} (${rdev}): another mount may be stacked on it`);
    return dev;
  }

  /**
   * umount what this node mounted from `device`, and nothing else: whatever else is mounted at the
   * mount point (or nothing mapped here) is an error, and nothing is unmounted or killed. While the
   * target is busy, kill the processes holding it (TERM with a grace, then KILL; later rounds catch
   * children spawned meanwhile) until the unmount timeout; every round first checks again that the
   * mount is still ours. A fenced node's filesystem is detached lazily as the last resort: its
   * device is dead anyway.
   */
  async unmount(options: { fenced: boolean; device: string | null }, signal?: AbortSignal): Promise<void> {
    const mp = this.options.mountPoint;
    if ((await this.ourMount(options.device, signal)) === null) return;
    const deadline = Date.now() + this.options.timeouts.unmount;
    let lastError: CommandError | null = null;
    for (let round = 0; Date.now() < deadline && !signal?.aborted; round++) {
      try {
        await this.runner.run({ what: 'umount', argv: ['umount', mp], timeoutMs: Math.max(1_000, deadline - Date.now()), signal });
        return;
      } catch (error) {
        if (!(error instanceof CommandError) || error.failure !== 'exit') throw error;
        lastError = error;
      }
      const dev = await this.ourMount(options.device, signal);
      if (dev === null) return;
      const holders = holdersOf(dev);
      const grace = round === 0 ? Math.min(2_000, Math.max(100, Math.floor((deadline - Date.now()) / 3))) : 0;
      this.logger.warn('umount busy: killing the processes holding the mount', {
        mountPoint: mp,
        device: options.device,
        pids: holders,
        round,
        graceMs: grace,
      });
      await Promise.all(holders.map((pid) => terminate(pid, grace, signal)));
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!options.fenced) throw lastError ?? new Error(`umount ${mp}: aborted`);
    if ((await this.ourMount(options.device, signal)) === null) return;
    await this.runner.run({ what: 'umount -l', argv: ['umount', '-l', mp], timeoutMs: 5_000, signal });
  }
}
