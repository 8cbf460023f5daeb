import { join } from 'node:path';
import { CommandError, type Runner } from '../exec.js';

export function watchdogArgv(mountPoint: string): string[] {
  // a synchronous 4 KiB write through the filesystem to the image: fails (EIO) or hangs once fenced
  return ['dd', 'if=/dev/zero', `of=${join(mountPoint, '.harbor-assistant-watchdog')}`, 'bs=4096', 'count=1', 'oflag=sync', 'conv=fsync', 'status=none'];
}

/** Error texts of a write to a fenced image: EIO, ESHUTDOWN (108), a read-only remount after errors. */
export function looksFenced(text: string): boolean {
  return /Input\/output error|Cannot send after transport endpoint shutdown|Read-only file system|Transport endpoint is not connected/.test(text);
}

/**
 * One probe of the mounted image. An I/O error is a fence (the peer blocklisted our client); a
 * write that does not finish in time is not: nobody is known to have fenced us, we lost Ceph.
 */
export type WriteProbe = { kind: 'ok' } | { kind: 'fenced'; detail: string } | { kind: 'hung'; detail: string };

export async function probeImageWrite(runner: Runner, mountPoint: string, timeoutMs: number, signal?: AbortSignal): Promise<WriteProbe> {
  try {
    await runner.run({ what: 'io watchdog', argv: watchdogArgv(mountPoint), timeoutMs, signal });
    return { kind: 'ok' };
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    if (error.failure === 'timeout') return { kind: 'hung', detail: `a synchronous write to ${mountPoint} did not finish within ${timeoutMs} ms` };
    if (error.failure === 'exit' && looksFenced(error.stderr)) return { kind: 'fenced', detail: error.stderr.trim().split('\n')[0] ?? 'I/O error' };
    throw error;
  }
}
