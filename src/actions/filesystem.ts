import { mkdirSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { CommandError, type Runner } from './exec.js';
import { asArray, isRecord, parseJson } from './json.js';
import { terminate } from './processes.js';
import type { Logger } from '../log/logger.js';

import type { FsckPolicy } from './kinds.js';

export { FSCK_POLICIES, type FsckPolicy } from './kinds.js';

export interface FilesystemOptions {
  mountPoint: string;
  fsck: FsckPolicy;
  mountOptions: string[];
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

export function findmntArgv(mountPoint: string): string[] {
  return ['findmnt', '-J', '-M', mountPoint];
}

/** `findmnt -J -M MP` → the source device mounted there, or null (findmnt exits 1 when nothing is). */
export function parseFindmnt(text: string): { source: string; fstype: string } | null {
  if (text.trim() === '') return null;
  const doc = parseJson('findmnt', text);
  if (!isRecord(doc)) return null;
  const first = asArray('findmnt filesystems', doc.filesystems ?? [])[0];
  if (!isRecord(first) || typeof first.source !== 'string') return null;
  return { source: first.source, fstype: typeof first.fstype === 'string' ? first.fstype : '' };
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

  async probe(device: string, signal?: AbortSignal): Promise<string | null> {
    const r = await this.runner.run({ what: 'blkid', argv: blkidArgv(device), timeoutMs: this.options.timeouts.probe, signal, okExitCodes: [2] });
    return r.exitCode === 2 ? null : parseBlkid(r.stdout);
  }

  async format(device: string, signal?: AbortSignal): Promise<void> {
    await this.runner.run({ what: 'mkfs.ext4', argv: mkfsArgv(device, this.options.mkfsOptions), timeoutMs: this.options.timeouts.format, signal });
  }

  async check(device: string, signal?: AbortSignal): Promise<void> {
    const argv = fsckArgv(device, this.options.fsck);
    if (argv === null) {
      this.logger.info('fsck skipped', { policy: this.options.fsck, device });
      return;
    }
    try {
      await this.runner.run({ what: 'e2fsck', argv, timeoutMs: this.options.timeouts.fsck, signal, okExitCodes: FSCK_OK_EXIT_CODES });
    } catch (error) {
      const hint = error instanceof CommandError ? explainFsckFailure(`${error.stdout}\n${error.stderr}`) : null;
      if (hint && error instanceof Error) error.message = `${error.message}\nhint: ${hint}`;
      throw error;
    }
  }

  async mount(device: string, signal?: AbortSignal): Promise<void> {
    const mounted = await this.mountedSource(signal);
    if (mounted === device) return;
    if (mounted !== null) throw new Error(`${this.options.mountPoint} already has ${mounted} mounted, not ${device}`);
    mkdirSync(this.options.mountPoint, { recursive: true });
    await this.runner.run({ what: 'mount', argv: mountArgv(device, this.options.mountPoint, this.options.mountOptions), timeoutMs: this.options.timeouts.mount, signal });
  }

  async mountedSource(signal?: AbortSignal): Promise<string | null> {
    const r = await this.runner.run({ what: 'findmnt', argv: findmntArgv(this.options.mountPoint), timeoutMs: this.options.timeouts.probe, signal, okExitCodes: [1] });
    return r.exitCode === 1 ? null : (parseFindmnt(r.stdout)?.source ?? null);
  }

  /**
   * umount; while the target is busy, kill the processes holding it (TERM with a grace, then
   * KILL; later rounds catch children spawned meanwhile) until the unmount timeout. A fenced
   * node's filesystem is detached lazily as the last resort: its device is dead anyway.
   */
  async unmount(options: { fenced: boolean }, signal?: AbortSignal): Promise<void> {
    const mp = this.options.mountPoint;
    if ((await this.mountedSource(signal)) === null) return;
    const deadline = Date.now() + this.options.timeouts.unmount;
    const dev = statSync(mp).dev;
    let lastError: unknown = null;
    for (let round = 0; Date.now() < deadline && !signal?.aborted; round++) {
      try {
        await this.runner.run({ what: 'umount', argv: ['umount', mp], timeoutMs: Math.max(1_000, deadline - Date.now()), signal });
        return;
      } catch (error) {
        if (!(error instanceof CommandError) || error.failure !== 'exit') throw error;
        lastError = error;
      }
      const holders = holdersOf(dev);
      const grace = round === 0 ? Math.min(2_000, Math.max(100, Math.floor((deadline - Date.now()) / 3))) : 0;
      this.logger.warn('umount busy: killing the processes holding the mount', { mountPoint: mp, pids: holders, round, graceMs: grace });
      await Promise.all(holders.map((pid) => terminate(pid, grace, signal)));
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!options.fenced) throw lastError ?? new Error(`umount ${mp}: aborted`);
    await this.runner.run({ what: 'umount -l', argv: ['umount', '-l', mp], timeoutMs: 5_000, signal });
  }
}
