import { join } from 'node:path';
import { CommandError, type Runner } from './exec.js';

export function watchdogArgv(mountPoint: string): string[] {
  // a synchronous 4 KiB write through the filesystem to the image: fails (EIO) or hangs once fenced
  return ['dd', 'if=/dev/zero', `of=${join(mountPoint, '.harbor-assistant-watchdog')}`, 'bs=4096', 'count=1', 'oflag=sync', 'conv=fsync', 'status=none'];
}

/** Error texts of a write to a fenced image: EIO, ESHUTDOWN (108), a read-only remount after errors. */
export function looksFenced(text: string): boolean {
  return /Input\/output error|Cannot send after transport endpoint shutdown|Read-only file system|Transport endpoint is not connected/.test(text);
}

/**
 * One probe of the mounted image: null when the write went through, else why it looks fenced.
 * A timeout counts as fenced too: a client cut off by the blocklist can hang instead of failing.
 */
export async function probeImageWrite(runner: Runner, mountPoint: string, timeoutMs: number, signal?: AbortSignal): Promise<string | null> {
  try {
    await runner.run({ what: 'io watchdog', argv: watchdogArgv(mountPoint), timeoutMs, signal });
    return null;
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    if (error.failure === 'timeout') return `write to ${mountPoint} hung for ${timeoutMs} ms`;
    if (error.failure === 'exit' && looksFenced(error.stderr)) return error.stderr.trim().split('\n')[0] ?? 'I/O error';
    throw error;
  }
}
