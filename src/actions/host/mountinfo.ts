import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** What is mounted at a mount point: its source and filesystem type, as the kernel lists them. */
export interface MountedFilesystem {
  source: string;
  fstype: string;
}

/** The kernel escapes space, tab, newline and backslash in mountinfo paths as \ooo. */
export function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * `/proc/self/mountinfo` → the topmost filesystem mounted at `target`, or null. Lines are
 * `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`; with
 * mounts stacked on one point the later line is the one on top (what the path shows and what
 * `umount target` takes away), as findmnt lists them.
 */
export function parseMountinfo(text: string, target: string): MountedFilesystem | null {
  let top: MountedFilesystem | null = null;
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (fields.length < 10 || dash < 0) continue;
    if (unescapeMountinfo(fields[4] ?? '') !== target) continue;
    top = { fstype: fields[dash + 1] ?? '', source: unescapeMountinfo(fields[dash + 2] ?? '') };
  }
  return top;
}

/**
 * The path as the kernel lists it: symlinks in the parent resolved (lstat of directories on the
 * host's own filesystems), the last component as is, so a stuck filesystem mounted there is
 * never touched.
 */
export function canonicalMountPoint(path: string): string {
  try {
    return join(realpathSync(dirname(path)), basename(path));
  } catch {
    return path;
  }
}

/**
 * What the kernel says is mounted at `mountPoint`, without a process: findmnt reads the same
 * file, at ~50–130 ms a start under a takeover's load. The deadline is a timer: a read that does
 * not come back is given up, never waited for.
 */
export async function mountedAtPath(mountPoint: string, timeoutMs: number, signal?: AbortSignal): Promise<MountedFilesystem | null> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const both = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const text = await new Promise<string>((resolve, reject) => {
    const fail = () => reject(new Error(deadline.aborted ? `reading /proc/self/mountinfo took longer than ${String(timeoutMs)} ms` : 'aborted'));
    if (both.aborted) {
      fail();
      return;
    }
    both.addEventListener('abort', fail, { once: true });
    readFile('/proc/self/mountinfo', 'utf8').then(
      (t) => {
        both.removeEventListener('abort', fail);
        resolve(t);
      },
      (e: unknown) => {
        both.removeEventListener('abort', fail);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
  return parseMountinfo(text, canonicalMountPoint(mountPoint));
}
