import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { $, kill as killTree, type ProcessOutput, type ProcessPromise } from 'zx/core';
import type { Logger } from '../log/logger.js';
import { needsOperator, type FailureClass } from '../domain/failure.js';

/**
 * One outside command, as argv. zx runs it as `bash -c` with every element quoted, but the first
 * one stays a shell word there (`HA_X=1 env` would set a variable, `$(x)` would run x): the
 * runner refuses a first element that is not a plain program name or path (see programProblem),
 * so the line bash sees is always one program and its literal arguments, never a shell string.
 */
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
    /** `unreachable`: never sent, the node already knows Ceph does not answer (see ceph/reachability.ts). */
    readonly failure: 'exit' | 'timeout' | 'aborted' | 'spawn' | 'unreachable',
    /** Set when the runner stopped waiting for a process that outlived SIGKILL: why it is still there. */
    readonly abandoned: string | null = null,
  ) {
    const printed = (stderr.trim() || stdout.trim()).slice(-2000);
    const how =
      failure === 'timeout'
        ? `timed out after ${durationMs} ms`
        : failure === 'aborted'
          ? 'was aborted'
          : failure === 'spawn'
            ? `could not be started${exitCode === null ? '' : ` (exited with code ${exitCode})`}`
            : failure === 'unreachable'
              ? 'was not sent (Ceph unreachable)'
              : `exited with code ${String(exitCode)}`;
    const left = abandoned === null ? '' : `; ${abandoned}: abandoned`;
    super(`${what} (${command}) ${how}${left}${printed ? `: ${printed}` : ''}`);
    this.name = 'CommandError';
    // 127/126: the shell found no such program, or cannot execute it; ENOENT: no such program to spawn
    const missingProgram = (failure === 'exit' && (exitCode === 127 || exitCode === 126)) || (failure === 'spawn' && /ENOENT/.test(stderr));
    this.failureClass = missingProgram ? 'not-installed' : 'transient';
  }

  /** What the operator can do about it, for failures recognised by their text; the message stays what the command said. */
  hint: string | null = null;
  /** What the operator does about it; anything but transient gives up at once (no retry can fix it). */
  failureClass: FailureClass;

  /** No retry can fix it. */
  get permanent(): boolean {
    return needsOperator(this.failureClass);
  }

  explain(hint: string | null, failureClass: FailureClass | null = null): this {
    if (hint !== null) this.hint = hint;
    if (failureClass !== null) this.failureClass = failureClass;
    return this;
  }
}

/** A long-lived process (rbd-fuse): started detached, never waited for. */
export interface DaemonSpec {
  /** Short name for logs and errors, e.g. `rbd-fuse start`. */
  what: string;
  /** Its first element is checked like a command's (programProblem); no shell is involved. */
  argv: readonly string[];
  /** Extra environment (e.g. CEPH_ARGS with the keyring path). Never logged. */
  env?: Record<string, string>;
  /** stdout and stderr are appended here (created 0600). */
  logFile: string;
  /** How long it must keep running (or exit 0) to count as started; default DAEMON_SETTLE_MS. */
  settleMs?: number;
  /** Checked before starting only: once spawned, the daemon is the caller's, abort or not. */
  signal?: AbortSignal;
}

export interface Runner {
  run(spec: CommandSpec): Promise<CommandResult>;
  /**
   * Start a daemon in its own process group (a service restart must not take it down), with its
   * output in `spec.logFile`; one command record (`started pid N`, or the failure). Rejects with a
   * CommandError (failure 'spawn') when it cannot start or exits non-zero within the settle time.
   */
  spawnDaemon(spec: DaemonSpec): Promise<{ pid: number }>;
  /** Resolves when no command is in flight (releasing waits for aborted ones to die, abandoned ones excepted). */
  settled(): Promise<void>;
  readonly inFlight: number;
  /**
   * Timed-out or aborted commands whose process (or a descendant holding its output) was still
   * there after SIGKILL + grace: run() already rejected, they are no longer in flight, and each
   * leaves this list when it finally goes. `since` is when the runner gave up (epoch ms).
   */
  readonly abandoned: ReadonlyArray<AbandonedCommand>;
}

export interface AbandonedCommand {
  pid: number;
  what: string;
  command: string;
  since: number;
}

const REDACTED = '***';

/** Replace every secret in `text` (keys may appear in error output, never in logs). */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

/** The command as a copy-pasteable line for logs and errors (quoted the way zx quotes it). */
export function describeArgv(argv: readonly string[], secrets: readonly string[]): string {
  return redact(argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' '), secrets);
}

const PROGRAM_NAME = /^[A-Za-z0-9._+-]+$/;
const PROGRAM_PATH = /^\.{0,2}\/[A-Za-z0-9._+/-]+$/;

/**
 * Why `argv` cannot be run, or null: it must name a program, as a plain name (`rbd`) or a path of
 * safe characters (`/usr/bin/rbd`, `./x`). zx quotes every element, yet bash still reads the first
 * as a shell word, where `HA_X=1` is an assignment and `$(x)` a command substitution.
 */
export function programProblem(argv: readonly string[]): string | null {
  if (argv.length === 0) return 'refused: empty argv, no program to run';
  const first = argv[0] ?? '';
  if (PROGRAM_NAME.test(first) || PROGRAM_PATH.test(first)) return null;
  return `refused: the first word ${JSON.stringify(first)} is not a program name or path (it would be a shell word); pass variables through env`;
}

/** How long a daemon must survive its start to count as started. */
export const DAEMON_SETTLE_MS = 200;
/** How much of a failed daemon's log goes into the error. */
const LOG_TAIL_CHARS = 2_000;

const KILL_GRACE_MS = 2_000;
/** After SIGKILL, how long the pipes may take to close before the process counts as stuck. */
const ABANDON_MARGIN_MS = 500;

/** What one finished outside command did (for the journal and metrics); secrets already redacted. */
export interface CommandRecord {
  what: string;
  command: string;
  durationMs: number;
  ok: boolean;
  /**
   * `exit 0`, `exit 4`, `timeout`, `aborted`, `timeout (abandoned)`, `aborted (abandoned)`, `spawn failed`,
   * `refused` (bad first word); daemons: `started pid N`, `exit N at start`, `SIGxxx at start`
   */
  result: string;
  failure: CommandError['failure'] | null;
}

export type CommandObserver = (record: CommandRecord) => void;

/**
 * Runs commands through zx in their own process group, so a timeout or an abort can kill the
 * whole tree (TERM, then KILL after a grace) — zx alone only signals the direct child.
 * The deadline is real: zx settles only once the process has exited *and* its pipes have closed,
 * and neither happens for a process stuck in uninterruptible I/O (D state survives SIGKILL) or
 * for a daemonized descendant that left the group and keeps stdout open. So a grace after the
 * KILL, run() gives up on it: it rejects, stops counting it in flight and lists it as abandoned.
 */
export function createRunner(logger: Logger, secrets: readonly string[] = [], observe: CommandObserver = () => undefined): Runner {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const abandoned = new Set<AbandonedCommand>();
  const settle = () => {
    if (inFlight > 0) return;
    const w = waiters;
    waiters = [];
    w.forEach((resolve) => resolve());
  };

  /** The first word is not a program: one record, and an error, before anything is spawned. */
  function refuse(what: string, command: string, problem: string): CommandError {
    logger.warn('command', { what, command, durationMs: 0, result: 'refused' });
    observe({ what, command, durationMs: 0, ok: false, result: 'refused', failure: 'spawn' });
    return new CommandError(what, command, null, problem, '', 0, 'spawn').explain(null, 'not-installed');
  }

  async function run(spec: CommandSpec): Promise<CommandResult> {
    const command = describeArgv(spec.argv, secrets);
    const started = Date.now();
    const problem = programProblem(spec.argv);
    if (problem !== null) throw refuse(spec.what, command, problem);
    if (spec.signal?.aborted) throw new CommandError(spec.what, command, null, '', '', 0, 'aborted');
    inFlight++;
    // set by the timer and the abort listener: the cast keeps TypeScript from narrowing it to null for good
    let cause = null as 'timeout' | 'aborted' | null;
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
    // zx's output only exists once it settles; an abandoned command's error still shows what it printed
    const printed = capture(child);
    const exited = settlement(child);
    const giveUp = giveUpTimer(KILL_GRACE_MS + ABANDON_MARGIN_MS);
    const stop = (why: 'timeout' | 'aborted') => {
      if (cause !== null) return;
      cause = why;
      giveUp.arm();
      const pid = child.child?.pid;
      if (pid === undefined) return;
      void killGroup(pid, 'SIGTERM');
      setTimeout(() => void killGroup(pid, 'SIGKILL'), KILL_GRACE_MS).unref();
    };
    const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
    const onAbort = () => stop('aborted');
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const outcome = await Promise.race([exited, giveUp.stuck]);
      if (outcome === 'stuck') throw abandon({ spec, command, child, started, exited }, cause ?? 'timeout', printed());
      if (!outcome.ok) throw outcome.error;
      const out = outcome.output;
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
      giveUp.clear();
      spec.signal?.removeEventListener('abort', onAbort);
      inFlight--;
      settle();
    }
  }

  /**
   * Stop waiting for a killed command that is still there: one warn line and one record now, an
   * entry in `abandoned` until zx finally settles (then only a note, not a second result).
   */
  function abandon(job: Job, cause: 'timeout' | 'aborted', printed: { stdout: string; stderr: string }): CommandError {
    const { spec, command, child, started, exited } = job;
    const durationMs = Date.now() - started;
    const pid = child.child?.pid;
    const result = `${cause} (abandoned)`;
    const why = stuckReason(child);
    logger.warn('command', { what: spec.what, command, durationMs, result, pid, why });
    observe({ what: spec.what, command, durationMs, ok: false, result, failure: cause });
    if (pid !== undefined) {
      const entry: AbandonedCommand = Object.freeze({ pid, what: spec.what, command, since: Date.now() });
      abandoned.add(entry);
      // `exited` never rejects (see settlement), so this late end cannot surface as an unhandled rejection
      void exited.then(() => {
        abandoned.delete(entry);
        logger.info('abandoned command ended', { what: spec.what, command, pid, afterMs: Date.now() - entry.since });
      });
    }
    const stdout = redact(printed.stdout, secrets);
    const stderr = redact(printed.stderr, secrets);
    return new CommandError(spec.what, command, null, stderr, stdout, durationMs, cause, why);
  }

  async function spawnDaemon(spec: DaemonSpec): Promise<{ pid: number }> {
    const command = describeArgv(spec.argv, secrets);
    const started = Date.now();
    const problem = programProblem(spec.argv);
    if (problem !== null) throw refuse(spec.what, command, problem);
    if (spec.signal?.aborted) throw new CommandError(spec.what, command, null, '', '', 0, 'aborted');
    const failed = (result: string, printed: string, exitCode: number | null = null): CommandError => {
      const durationMs = Date.now() - started;
      logger.warn('command', { what: spec.what, command, durationMs, result });
      observe({ what: spec.what, command, durationMs, ok: false, result, failure: 'spawn' });
      return new CommandError(spec.what, command, exitCode, redact(printed, secrets), '', durationMs, 'spawn');
    };
    inFlight++;
    try {
      let logFd: number;
      let logStart: number;
      try {
        logFd = openSync(spec.logFile, 'a', 0o600);
        logStart = fstatSync(logFd).size;
      } catch (error) {
        throw failed('spawn failed', `cannot open its log file: ${String(error)}`);
      }
      const [program = '', ...args] = spec.argv;
      let child: ChildProcess;
      try {
        // no shell: argv goes to execve as is; detached = setsid, its own session and process group
        child = spawn(program, args, { detached: true, stdio: ['ignore', logFd, logFd], env: { ...process.env, LC_ALL: 'C', ...spec.env } });
      } catch (error) {
        throw failed('spawn failed', String(error));
      } finally {
        closeSync(logFd);
      }
      // an 'error' without a listener would crash the service; a late one has nobody to tell
      child.on('error', () => undefined);
      const settleMs = spec.settleMs ?? DAEMON_SETTLE_MS;
      const early = await new Promise<{ error: Error } | { code: number | null; signal: NodeJS.Signals | null } | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), settleMs);
        child.once('error', (error) => {
          clearTimeout(timer);
          resolve({ error });
        });
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal });
        });
      });
      if (early !== null && 'error' in early) throw failed('spawn failed', String(early.error));
      const pid = child.pid;
      if (pid === undefined) throw failed('spawn failed', 'no pid');
      if (early !== null && early.code !== 0) {
        const tail = logTail(spec.logFile, logStart);
        const how = early.signal !== null ? `${early.signal} at start` : `exit ${String(early.code)} at start`;
        throw failed(how, early.signal !== null ? `ended by ${early.signal}${tail ? `: ${tail}` : ''}` : tail, early.code);
      }
      child.unref();
      const durationMs = Date.now() - started;
      const result = `started pid ${pid}${early === null ? '' : ' (exited 0 at once)'}`;
      logger.info('command', { what: spec.what, command, durationMs, result });
      observe({ what: spec.what, command, durationMs, ok: true, result, failure: null });
      if (early === null) {
        child.once('exit', (code, signal) => logger.info('daemon ended', { what: spec.what, pid, code, signal, afterMs: Date.now() - started }));
      }
      return { pid };
    } finally {
      inFlight--;
      settle();
    }
  }

  return {
    run,
    spawnDaemon,
    settled: () => (inFlight === 0 ? Promise.resolve() : new Promise((resolve) => waiters.push(resolve))),
    get inFlight() {
      return inFlight;
    },
    get abandoned() {
      return [...abandoned];
    },
  };
}

type Settlement = { ok: true; output: ProcessOutput } | { ok: false; error: unknown };

/** One started command, as abandon() needs it. */
interface Job {
  spec: CommandSpec;
  command: string;
  child: ProcessPromise;
  started: number;
  exited: Promise<Settlement>;
}

/** Resolves 'stuck' once armed (at the timeout or abort) and `ms` have passed without a clear(). */
function giveUpTimer(ms: number): { stuck: Promise<'stuck'>; arm(): void; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  let fire = (): void => undefined;
  const stuck = new Promise<'stuck'>((resolve) => (fire = () => resolve('stuck')));
  return {
    stuck,
    arm: () => {
      timer ??= setTimeout(fire, ms);
    },
    clear: () => clearTimeout(timer),
  };
}

/** The zx promise as a value that never rejects, so nobody has to be awaiting it when it ends. */
function settlement(child: ProcessPromise): Promise<Settlement> {
  return child.then(
    (output): Settlement => ({ ok: true, output }),
    (error: unknown): Settlement => ({ ok: false, error }),
  );
}

/** Collect what the command prints as it goes (zx hands its output over only at the end). */
function capture(child: ProcessPromise): () => { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.child?.stdout?.on('data', (d: Buffer) => out.push(d));
  child.child?.stderr?.on('data', (d: Buffer) => err.push(d));
  return () => ({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
}

/** What a daemon wrote to its log since `from` (this start only), the last LOG_TAIL_CHARS of it. */
/** The last lines a daemon wrote to its log since byte `from` (for an error that says what it printed). */
export function logTail(file: string, from: number): string {
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(from, size - LOG_TAIL_CHARS * 4);
      const buf = Buffer.alloc(Math.max(0, size - start));
      readSync(fd, buf, 0, buf.length, start);
      return buf.toString().trim().slice(-LOG_TAIL_CHARS);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    return `(its log ${file} is unreadable: ${String(error)})`;
  }
}

/** Why a killed command has not settled: the process itself is stuck, or something else holds its pipes. */
function stuckReason(child: ProcessPromise): string {
  const proc = child.child;
  if (proc?.pid === undefined) return 'the process never started but did not settle';
  if (proc.exitCode === null && proc.signalCode === null) {
    return `pid ${proc.pid} did not exit after SIGKILL (uninterruptible I/O?)`;
  }
  return `pid ${proc.pid} exited but a descendant that left its process group still holds its output open`;
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
