import { CommandError, type Runner } from '../actions/exec.js';

export interface SystemctlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * One `systemctl` call. A non-zero exit is an answer (`is-enabled` says 1 for disabled,
 * `is-active` 3 for inactive), not an error; it throws only when systemctl could not be asked
 * (timeout, spawn failure).
 */
export type Systemctl = (args: readonly string[]) => Promise<SystemctlResult>;

/** Long enough for a unit's ExecStartPre (validate-config) and keepalived's start, short of forever. */
const START_TIMEOUT_MS = 90_000;
const QUERY_TIMEOUT_MS = 30_000;

/** systemctl through the project's runner: argv only, with timeouts. */
export function runnerSystemctl(runner: Runner): Systemctl {
  return async (args) => {
    try {
      const r = await runner.run({
        what: `systemctl ${args[0] ?? ''}`,
        argv: ['systemctl', ...args],
        timeoutMs: args[0] === 'start' ? START_TIMEOUT_MS : QUERY_TIMEOUT_MS,
      });
      return { exitCode: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (error) {
      if (error instanceof CommandError && error.failure === 'exit' && error.exitCode !== null) {
        return { exitCode: error.exitCode, stdout: error.stdout, stderr: error.stderr };
      }
      throw error;
    }
  };
}

/** What systemctl prints where there is no systemd to talk to (a container, a chroot, an image build). */
const NO_SYSTEMD = /not been booted with systemd|Running in chroot|Failed to connect to bus|System has not been booted/i;

/**
 * Null when systemd manages this host; otherwise why not. `is-system-running` prints `offline`
 * when systemd is not PID 1 and in a chroot, without touching anything.
 */
export async function systemdAbsence(systemctl: Systemctl): Promise<string | null> {
  let r: SystemctlResult;
  try {
    r = await systemctl(['is-system-running']);
  } catch (error) {
    return `systemctl could not be run: ${(error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''}`;
  }
  // bash's "command not found"/"cannot execute": the runner goes through a shell
  if (r.exitCode === 127 || r.exitCode === 126) return 'no systemctl on this host';
  const said = `${r.stderr}\n${r.stdout}`.trim();
  const line = said.split('\n').find((l) => NO_SYSTEMD.test(l));
  if (line !== undefined) return line.trim();
  if (r.stdout.trim() === 'offline') return 'systemd is not running this host (not booted with it, or a chroot)';
  return null;
}

/** A later call's output that says the same as systemdAbsence would (a chroot entered half-way, a bus gone). */
export function saysNoSystemd(r: SystemctlResult): boolean {
  return NO_SYSTEMD.test(`${r.stderr}\n${r.stdout}`);
}

export const UNITS = ['harbor-assistant.service', 'harbor-assistant-keepalived.service'] as const;
