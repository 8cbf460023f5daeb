/**
 * Reading ext4's synchronous-updates flag over a directory tree from `lsattr -a -R DIR`, so the
 * engine sets it (`chattr -R +S`, which rewrites every inode, each write committed synchronously
 * once the flag is on) only when something lacks it.
 */

/** `lsattr -a -R -- dir`: every entry below `dir` and `dir/.` itself, one `FLAGS PATH` line each. */
export function listFlagsArgv(dir: string): string[] {
  return ['lsattr', '-a', '-R', '--', dir];
}

/** One entry's line: a flags column without spaces, then the path (which `lsattr -R` prints in full). */
const ENTRY = /^([-A-Za-z]{4,}) (\/.*)$/;

/**
 * True only when `lsattr -a -R` listed at least the directory itself and every entry it listed
 * has `S`. The parent (`…/..`) is not the tree's. Lines that are no entry (a directory's heading,
 * blank lines) are skipped; a path with a newline in it can only add lines, never hide the line
 * its own entry starts with, so the answer errs towards flagging again.
 */
export function allSynchronous(lsattrOutput: string, dir: string): boolean {
  const self = `${dir.replace(/\/+$/, '')}/.`;
  let sawSelf = false;
  for (const line of lsattrOutput.split('\n')) {
    const m = ENTRY.exec(line);
    if (!m) continue;
    const [, flags = '', path = ''] = m;
    if (path.endsWith('/..')) continue;
    if (path === self) sawSelf = true;
    if (!flags.includes('S')) return false;
  }
  return sawSelf;
}
