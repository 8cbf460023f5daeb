import type { Holder } from '../../../domain/types.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../log/logger.js';
import { logTail, type Runner } from '../../exec.js';
import type { CephConnection } from '../connection.js';
import { cmdlineOf, isRunning, terminate, waitExit } from '../../processes.js';
import type { CephClient } from '../client.js';
import { CliCephClient } from '../cli-client.js';
import { ownWatcherAddresses, type Mapper, type UnmapOptions } from './mapper.js';
import { sleep } from '../../sleep.js';

export interface FuseMapperOptions {
  /** Where rbd-fuse exposes the pool's images as files. */
  fuseDir: string;
  /** State directory: rbd-fuse's pid file and log. */
  stateDir: string;
  timeoutMs: number;
  /** The node's Ceph client for the watcher list (default: the rbd CLI). */
  ceph?: CephClient;
  /** Where the kernel lists block devices (tests point it elsewhere). */
  sysBlockDir?: string;
  /** rbd-fuse also fetches the central configuration from the monitors (`ceph.fuseMonConfig`). */
  monConfig?: boolean;
}

export function rbdFuseArgv(c: CephConnection, fuseDir: string): string[] {
  return ['rbd-fuse', '-c', c.confPath, '-p', c.pool, '-r', c.image, '-f', fuseDir];
}

/**
 * rbd-fuse ignores CEPH_CONF and `--id`/`--keyring` flags of its own: it takes the identity only
 * from CEPH_ARGS (Ceph 16). Without `monConfig`, `--no-mon-config`: its start-up and its librados
 * connect each open a monitor session just to fetch the central configuration first.
 */
export function rbdFuseEnv(c: CephConnection, monConfig = false): Record<string, string> {
  return { CEPH_ARGS: `--id ${c.user} --keyring ${c.keyringPath}${monConfig ? '' : ' --no-mon-config'}` };
}

/** Buffered loop on purpose: `--direct-io=on` loses writes after a fence. */
export function losetupAttachArgv(file: string): string[] {
  return ['losetup', '-f', '--show', file];
}

/** What a loop device's path must look like before it goes to losetup -d, blkid, e2fsck and mount. */
const LOOP_DEVICE = /^\/dev\/loop[0-9]+$/;

/** `losetup -f --show` → the loop device it attached; anything else is an error naming the output. */
export function parseLoopAttach(text: string): string {
  const device = text.trim();
  if (!LOOP_DEVICE.test(device)) throw new Error(`losetup attach printed no loop device: ${JSON.stringify(text.trim().slice(0, 200))}`);
  return device;
}

/**
 * The loop device backed by `file`, or null, from the kernel's own list (what `losetup -l` reads):
 * sysfs answers without a process and never touches the device.
 */
export function loopBackedBy(file: string, sysBlockDir = '/sys/block'): string | null {
  for (const name of readdirSync(sysBlockDir)) {
    if (!/^loop[0-9]+$/.test(name)) continue;
    let backing: string;
    try {
      backing = readFileSync(join(sysBlockDir, name, 'loop', 'backing_file'), 'utf8').trim();
    } catch {
      continue; // no backing file: a free loop device
    }
    if (backing.replace(/ \(deleted\)$/, '') === file) return `/dev/${name}`;
  }
  return null;
}

/**
 * How often the map looks for the image file: each look is one stat (of the empty directory until
 * rbd-fuse has mounted), and the takeover waits for the file, so a coarse poll is latency.
 */
export const IMAGE_FILE_POLL_MS = 2;

/** How long spawnDaemon watches rbd-fuse for an exit at start (a missing program, bad arguments). */
export const RBD_FUSE_SETTLE_MS = 20;

const fileSize = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** `current()` of an rbd-fuse that runs without a loop device. */
export const FUSE_ONLY_PREFIX = 'rbd-fuse:';

/** umount's exit code for "not mounted" (util-linux: 32, "mount failure", which covers a few more cases). */
const UMOUNT_NOT_MOUNTED = 32;

/**
 * For hosts without the rbd kernel module (and the lab): rbd-fuse exposes the image as a file,
 * a buffered loop device turns it into a block device. After a fence rbd-fuse is treated as
 * dead: loop detached, rbd-fuse TERM then KILL, fuse dir lazily unmounted, never stat'ed.
 */
export class FuseMapper implements Mapper {
  readonly kind = 'fuse' as const;

  constructor(
    private readonly runner: Runner,
    private readonly conn: CephConnection,
    private readonly options: FuseMapperOptions,
    private readonly logger: Logger,
  ) {}

  private get pidFile(): string {
    return join(this.options.stateDir, 'rbd-fuse.pid');
  }

  private get imageFile(): string {
    return join(this.options.fuseDir, this.conn.image);
  }

  /** Our rbd-fuse, by the pid we recorded, only if it still is rbd-fuse on our directory. */
  private fusePid(): number | null {
    if (!existsSync(this.pidFile)) return null;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    const argv = Number.isInteger(pid) && pid > 1 ? cmdlineOf(pid) : null;
    if (!argv || !argv.some((a) => a.endsWith('rbd-fuse')) || !argv.includes(this.options.fuseDir)) return null;
    return isRunning(pid) ? pid : null;
  }

  async map(signal?: AbortSignal): Promise<string> {
    const existing = await this.current(signal);
    if (existing?.startsWith('/dev/')) return existing;
    mkdirSync(this.options.fuseDir, { recursive: true });
    mkdirSync(this.options.stateDir, { recursive: true, mode: 0o700 });
    // until the spawned pid has exec'd rbd-fuse its command line is not rbd-fuse's: watch the pid
    const logFrom = fileSize(this.logFile);
    const pid = this.fusePid() ?? (await this.startFuse(signal));
    const deadline = Date.now() + this.options.timeoutMs;
    while (!existsSync(this.imageFile)) {
      if (signal?.aborted) throw new Error('rbd-fuse: aborted while waiting for the image file');
      if (!isRunning(pid)) {
        const printed = logTail(this.logFile, logFrom);
        throw new Error(`rbd-fuse exited before ${this.imageFile} appeared${printed ? `: ${printed}` : ''} (log: ${this.logFile})`);
      }
      if (Date.now() > deadline) throw new Error(`rbd-fuse: ${this.imageFile} did not appear within ${this.options.timeoutMs} ms`);
      await sleep(IMAGE_FILE_POLL_MS);
    }
    const r = await this.runner.run({ what: 'losetup attach', argv: losetupAttachArgv(this.imageFile), timeoutMs: this.options.timeoutMs, signal });
    return parseLoopAttach(r.stdout);
  }

  private get logFile(): string {
    return join(this.options.stateDir, 'rbd-fuse.log');
  }

  /**
   * A daemon in its own process group (a service restart must not take the image away), logged
   * like any command. Only a short settle: rbd-fuse needs ~0.2 s to connect and open the image,
   * and the wait for the image file watches for its exit anyway (with what it printed).
   */
  private async startFuse(signal?: AbortSignal): Promise<number> {
    const { pid } = await this.runner.spawnDaemon({
      what: 'rbd-fuse start',
      argv: rbdFuseArgv(this.conn, this.options.fuseDir),
      env: rbdFuseEnv(this.conn, this.options.monConfig),
      logFile: this.logFile,
      settleMs: RBD_FUSE_SETTLE_MS,
      signal,
    });
    writeFileSync(this.pidFile, `${pid}\n`, { mode: 0o600 });
    return pid;
  }

  /**
   * rbd-fuse is the FUSE connection's daemon: killed, the kernel aborts the connection and every
   * request pending on it (the loop device's reads and writes) fails instead of waiting for an
   * OSD that will not answer. Only for a dead client: its queued writes are lost, and they must
   * be (the peer fences this client before it maps).
   */
  async abortDataPath(signal?: AbortSignal): Promise<boolean> {
    const pid = this.fusePid();
    if (pid === null) return false;
    this.logger.warn('dead data path: killing rbd-fuse so I/O blocked on the image fails', { pid });
    return terminate(pid, 0, signal);
  }

  async unmap(device: string, options: UnmapOptions, signal?: AbortSignal): Promise<void> {
    let pid = this.fusePid();
    // a fenced client's rbd-fuse retries its rejected writes until the fence expires, and the loop
    // detach waits in the kernel for them (measured: 15 min, the lab's blocklist expiry): end
    // rbd-fuse first, then the loop's writes fail at once and it detaches
    if (options.fenced && pid !== null) {
      await this.killFuse(pid, signal);
      pid = null;
    }
    if (device.startsWith('/dev/')) {
      await this.runner.run({ what: 'losetup detach', argv: ['losetup', '-d', device], timeoutMs: this.options.timeoutMs, signal });
    }
    if (!options.fenced && pid !== null) {
      // a live client: unmount the fuse dir so rbd-fuse flushes and exits by itself
      await this.runner
        .run({ what: 'fusermount -u', argv: ['fusermount', '-u', this.options.fuseDir], timeoutMs: this.options.timeoutMs, signal })
        .catch((e: unknown) => this.logger.warn('fusermount failed, terminating rbd-fuse', { error: String(e) }));
      if (await waitExit(pid, Math.min(5_000, this.options.timeoutMs), signal)) {
        rmSync(this.pidFile, { force: true });
        return;
      }
    }
    if (pid !== null) await this.killFuse(pid, signal);
    // the fuse dir of a dead rbd-fuse: detach lazily, never stat it. Usually the mount went with
    // rbd-fuse, so "not mounted" (exit 32) is the expected answer, not a failure; other exit codes
    // stay failed on record, and an exit 32 that says something else gets a warning
    const r = await this.runner
      .run({
        what: 'umount -l fuse dir',
        argv: ['umount', '-l', this.options.fuseDir],
        timeoutMs: this.options.timeoutMs,
        signal,
        okExitCodes: [UMOUNT_NOT_MOUNTED],
      })
      .catch(() => null);
    if (r !== null && r.exitCode === UMOUNT_NOT_MOUNTED && !/not mounted/.test(r.stderr)) {
      this.logger.warn('umount -l of the fuse dir failed', { dir: this.options.fuseDir, exitCode: r.exitCode, stderr: r.stderr.trim() });
    }
  }

  /** SIGTERM, then SIGKILL, within a deadline; its pid file goes with it. */
  private async killFuse(pid: number, signal?: AbortSignal): Promise<void> {
    if (!(await terminate(pid, Math.min(3_000, this.options.timeoutMs), signal))) throw new Error(`rbd-fuse (pid ${pid}) survived SIGKILL`);
    rmSync(this.pidFile, { force: true });
  }

  /** rbd-fuse is one client per image whatever the device: its watch, from this node's IPs. */
  async clients(_device: string, ownIps: readonly string[], signal?: AbortSignal, watchers?: readonly Holder[]): Promise<string[]> {
    const ceph = this.options.ceph ?? new CliCephClient(this.runner, this.conn, this.options.timeoutMs);
    return ownWatcherAddresses(watchers ?? (await ceph.watchers(signal)), ownIps);
  }

  /** The loop device; or, when rbd-fuse runs without one (a map cut short), a marker so it is released too. */
  current(signal?: AbortSignal): Promise<string | null> {
    if (signal?.aborted) return Promise.reject(new Error('rbd-fuse: aborted'));
    try {
      const loop = loopBackedBy(this.imageFile, this.options.sysBlockDir);
      if (loop !== null) return Promise.resolve(loop);
      return Promise.resolve(this.fusePid() !== null ? `${FUSE_ONLY_PREFIX}${this.options.fuseDir}` : null);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
}
