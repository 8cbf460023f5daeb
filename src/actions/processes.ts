import { readFileSync } from 'node:fs';
import { sleep } from './sleep.js';

/** Running (not gone, not a zombie). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** argv of a process, or null when it is gone. */
export function cmdlineOf(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter((a) => a.length > 0);
  } catch {
    return null;
  }
}

/** Wait until `pid` is gone; true if it went within `ms`. */
export async function waitExit(pid: number, ms: number, signal?: AbortSignal): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!isRunning(pid) || signal?.aborted) return !isRunning(pid);
    // one /proc read per look: a fine grain costs nothing and rbd-fuse's exit is on a switchover's path
    await sleep(5);
  }
  return !isRunning(pid);
}

/** TERM, wait up to `graceMs`, then KILL: true when the process is gone in the end. */
export async function terminate(pid: number, graceMs: number, signal?: AbortSignal): Promise<boolean> {
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  send('SIGTERM');
  if (await waitExit(pid, graceMs, signal)) return true;
  send('SIGKILL');
  return waitExit(pid, 2_000);
}
