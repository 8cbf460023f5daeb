/** The lab's process helpers: run a command (throwing or not), stop a process, read a pid file. */

import { execFileSync, spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isRunning } from '../src/actions/processes.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function run(argv: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const [cmd, ...args] = argv;
  return execFileSync(cmd ?? '', args, {
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
    input: opts.input,
    env: opts.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Start `argv` in its own process group, not waited for (the lab stops it by pid, never by name):
 * its pid, also written to `pidFile` when given (what teardown reads after a lab that crashed).
 */
export function spawnDetached(what: string, argv: string[], options: { pidFile?: string } & Pick<SpawnOptions, 'stdio' | 'env'> = {}): number {
  const [cmd = '', ...args] = argv;
  const child = spawn(cmd, args, { stdio: options.stdio ?? 'ignore', detached: true, ...(options.env ? { env: options.env } : {}) });
  child.unref();
  if (child.pid === undefined) throw new Error(`${what} did not start`);
  if (options.pidFile) writeFileSync(options.pidFile, `${String(child.pid)}\n`);
  return child.pid;
}

export function tryRun(argv: string[], timeoutMs = 20_000): boolean {
  const [cmd, ...args] = argv;
  return spawnSync(cmd ?? '', args, { stdio: 'ignore', timeout: timeoutMs }).status === 0;
}

export async function killPid(pid: number, graceMs = 3_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (const end = Date.now() + graceMs; Date.now() < end && isRunning(pid);) await sleep(25);
  if (isRunning(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}
