import { chmodSync, lstatSync, type Stats, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../actions/host/atomic-file.js';

/** What setup did to one place on disk; `fixed` is a mode put right on an otherwise equal file. */
export interface Step {
  verb: 'wrote' | 'unchanged' | 'created' | 'fixed' | 'linked' | 'reloaded' | 'enabled' | 'already' | 'started' | 'not started' | 'note';
  what: string;
  note?: string;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

function statOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The directory with exactly `mode` (the .env's directory is 0700: nobody else lists it). */
export function ensureDirectory(path: string, mode: number): Step {
  const st = statOrNull(path);
  if (st === null) {
    mkdirSync(path, { recursive: true, mode });
    chmodSync(path, mode);
    return { verb: 'created', what: path, note: `directory, mode ${octal(mode)}` };
  }
  if (!st.isDirectory()) throw new Error(`${path}: not a directory`);
  if ((st.mode & 0o777) === mode) return { verb: 'unchanged', what: path };
  chmodSync(path, mode);
  return { verb: 'fixed', what: path, note: `mode ${octal(mode)}, was ${octal(st.mode)}` };
}

/** The file's current bytes, or null when there is none. */
export function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Write `text` (temp file + rename) only when the bytes differ; an equal file only gets its mode put right. */
export function writeIfDifferent(path: string, text: string, mode: number, note?: string): Step {
  const current = readOrNull(path);
  if (current !== null && current.equals(Buffer.from(text))) {
    const was = statSync(path).mode & 0o777;
    if (was === mode) return { verb: 'unchanged', what: path };
    chmodSync(path, mode);
    return { verb: 'fixed', what: path, note: `mode ${octal(mode)}, was ${octal(was)}` };
  }
  writeFileAtomic(path, text, mode);
  return note === undefined ? { verb: 'wrote', what: path } : { verb: 'wrote', what: path, note };
}

/**
 * Why `path` cannot become a symlink to `target`, or null. Only a symlink is ever replaced: a
 * regular file or a directory there is somebody else's (a hand-installed copy, another package).
 */
export function linkConflict(path: string, target: string): string | null {
  const st = statOrNull(path);
  if (st === null || st.isSymbolicLink()) return null;
  const what = st.isDirectory() ? 'a directory' : st.isFile() ? 'a regular file' : 'not a symlink';
  return `${path}: ${what} is in the way of the link to ${target}; setup replaces only symlinks. Move it away (it is not ours), then run setup again`;
}

/** `path` → `target`: left alone when it already points there, replaced atomically when it is a symlink elsewhere. */
export function placeLink(path: string, target: string): Step {
  const st = statOrNull(path);
  if (st !== null && st.isSymbolicLink() && readlinkSync(path) === target) return { verb: 'unchanged', what: path, note: `→ ${target}` };
  const conflict = linkConflict(path, target);
  if (conflict !== null) throw new Error(conflict);
  const before = st === null ? null : readlinkSync(path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.setup-${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, path);
  return { verb: 'linked', what: path, note: before === null ? `→ ${target}` : `→ ${target}, was → ${before}` };
}
