import { $, kill as killTree } from 'zx';
import type { Logger } from '../log/logger.js';

/** One outside command: argv only (zx quotes every element), never a shell string. */
export interface CommandSpec {
  /** Short name for logs and errors, e.g. `rbd device map`. */
  what: string;
  argv: readonly string[];
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra environment (e.g. CEPH_ARGS for rbd-fuse). */
  env?: Record<string, string>;
  /** Working directory (default: the service's). */
  cwd?: string;
  /** Written to stdin; use it for secrets instead of argv. */
  stdin?: string;
  /** Exit codes that count as success besides 0 (e2fsck 1 = errors corrected). */
  okExitCodes?: readonly number[];
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
}

/** A command that failed, timed out or was aborted; its text names the command and what it printed. */
export class CommandError extends Error {
  constructor(
    readonly what: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
    readonly durationMs: number,
    readonly failure: 'exit' | 'timeout' | 'aborted' | 'spawn',
  ) {
    const printed = (stderr.trim() || stdout.trim()).slice(-2000);
    const how =
      failure === 'timeout'
        ? `timed out after ${durationMs} ms`
        : failure === 'aborted'
          ? 'was aborted'
          : failure === 'spawn'
            ? 'could not be started'
            : `exited with code ${exitCode}`;
    super(`${what} (${command}) ${how}${printed ? `: ${printed}` : ''}`);
    this.name = 'CommandError';
  }
}

export interface Runner {
  run(spec: CommandSpec): Promise<CommandResult>;
  /** Resolves when no command is in flight (releasing waits for aborted ones to die). */
  settled(): Promise<void>;
  readonly inFlight: number;
}

const REDACTED = '***';

/** Replace every secret in `text` (keys may appear in error output, never in logs). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(REDACTED);
  return out;
}

/** The command as a copy-pasteable line for logs and errors (quoted the way zx quotes it). */
export function describeArgv(argv: readonly string[], secrets: readonly string[]): string {
  return redact(argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' '), secrets);
}

const KILL_GRACE_MS = 2_000;

/** What one finished outside command did (for the journal and metrics); secrets already redacted. */
export interface CommandRecord {
  what: string;
  command: string;
  durationMs: number;
  ok: boolean;
  /** `exit 0`, `exit 4`, `timeout`, `aborted`, `spawn failed` */
  result: string;
  failure: CommandError['failure'] | null;
}

export type CommandObserver = (record: CommandRecord) => void;

/**
 * Runs commands through zx in their own process group, so a timeout or an abort can kill the
 * whole tree (TERM, then KILL after a grace) — zx alone only signals the direct child.
 */
export function createRunner(logger: Logger, secrets: readonly string[] = [], observe: CommandObserver = () => undefined): Runner {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const settle = () => {
    if (inFlight > 0) return;
    const w = waiters;
    waiters = [];
    w.forEach((resolve) => resolve());
  };

  async function run(spec: CommandSpec): Promise<CommandResult> {
    const command = describeArgv(spec.argv, secrets);
    const started = Date.now();
    if (spec.signal?.aborted) throw new CommandError(spec.what, command, null, '', '', 0, 'aborted');
    inFlight++;
    let cause: 'timeout' | 'aborted' | null = null;
    const sh = $({
      quiet: true,
      nothrow: true,
      detached: true,
      env: { ...process.env, LC_ALL: 'C', ...spec.env },
      ...(spec.stdin !== undefined ? { input: spec.stdin } : {}),
      ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    });
    const [program, ...args] = spec.argv;
    const child = sh`${program} ${args}`;
    const stop = (why: 'timeout' | 'aborted') => {
      if (cause !== null) return;
      cause = why;
      const pid = child.child?.pid;
      if (pid === undefined) return;
      void killGroup(pid, 'SIGTERM');
      setTimeout(() => void killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
    const onAbort = () => stop('aborted');
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await child;
      const durationMs = Date.now() - started;
      const exitCode = out.exitCode ?? -1;
      const stdout = redact(out.stdout, secrets);
      const stderr = redact(out.stderr, secrets);
      const ok = cause === null && (exitCode === 0 || (spec.okExitCodes ?? []).includes(exitCode));
      const result = cause ?? `exit ${exitCode}`;
      logger.log(ok ? 'info' : 'warn', 'command', { what: spec.what, command, durationMs, result });
      observe({ what: spec.what, command, durationMs, ok, result, failure: ok ? null : (cause ?? 'exit') });
      if (!ok) throw new CommandError(spec.what, command, cause ? null : exitCode, stderr, stdout, durationMs, cause ?? 'exit');
      return { stdout, stderr, exitCode, durationMs };
    } catch (error) {
      if (error instanceof CommandError) throw error;
      const durationMs = Date.now() - started;
      logger.warn('command', { what: spec.what, command, durationMs, result: 'spawn failed' });
      observe({ what: spec.what, command, durationMs, ok: false, result: 'spawn failed', failure: 'spawn' });
      throw new CommandError(spec.what, command, null, redact(String(error), secrets), '', durationMs, 'spawn');
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', onAbort);
      inFlight--;
      settle();
    }
  }

  return {
    run,
    settled: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    get inFlight() {
      return inFlight;
    },
  };
}

/** Signal the process group, then every descendant that left it. */
async function killGroup(pid: number, signal: NodeJS.Signals): Promise<void> {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
  try {
    await killTree(pid, signal);
  } catch {
    // process already gone
  }
}
